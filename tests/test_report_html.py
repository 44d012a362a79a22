"""The HTML report: one self-contained file whose plots are real images and whose numbers are the JSON report's,
checked in the file itself and as real headless Chromium renders it."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.build_helpers import ExampleBuild, browse, browser_missing, example_build, serve
from tests.helpers import assert_one_line_error, load_json, run_edgex

PLOTS = {"error-histogram", "scatter", "latency", "size", "accuracy-vs-size"}
# What the page shows per row, keyed as the page's data-key attributes, read from the JSON report.
ROW_FIGURES = {
    "size_bytes": lambda row, head, latency: row["artifact"]["size_bytes"],
    "top1_agreement": lambda row, head, latency: head.get("top1_agreement"),
    "cosine": lambda row, head, latency: head.get("cosine"),
    "max_abs_error": lambda row, head, latency: head.get("max_abs_error"),
    "median_ms": lambda row, head, latency: latency.get("median_ms"),
}
# Run in the page: every figure's image as decoded by the browser, and every summary row's numbers.
PAGE_FACTS = """({
  verdict: document.getElementById('verdict').textContent,
  figures: Array.from(document.querySelectorAll('figure')).map((f) => ({
    plot: f.dataset.plot, width: f.querySelector('img').naturalWidth, height: f.querySelector('img').naturalHeight})),
  rows: Array.from(document.querySelectorAll('#summary tbody tr')).map((tr) => ({
    run: tr.dataset.run, mode: tr.dataset.mode || null,
    status: (tr.querySelector('.badge') || {}).textContent,
    values: Object.fromEntries(Array.from(tr.querySelectorAll('[data-key][data-value]'))
      .map((td) => [td.dataset.key, td.dataset.value]))})),
})"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> ExampleBuild:
    result = example_build(tmp_path_factory)
    assert result.first.returncode == 0, result.first.stdout + result.first.stderr
    return result


def headline(row: dict[str, Any]) -> dict[str, Any]:
    outputs = row["parity"]["outputs"]
    return next((o for o in outputs if o.get("class_output")), outputs[0])


def expected_rows(runs: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """(run label, edgex.report/1) -> the rows the summary table must show, with the JSON's numbers."""
    rows = []
    for label, report in runs:
        for row in report["rows"]:
            head, latency = headline(row), row["parity"]["exported_latency"] or {}
            values = {key: figure(row, head, latency) for key, figure in ROW_FIGURES.items()}
            values = {key: value for key, value in values.items() if value is not None}
            rows.append({"run": label, "mode": row["mode"], "values": values})
    return rows


def build_runs(built: ExampleBuild) -> list[tuple[str, dict[str, Any]]]:
    return [(cell["id"], cell["report"]) for cell in built.report["cells"]]


def file_facts(page: str) -> dict[str, Any]:
    """The same facts as PAGE_FACTS, read from the HTML text: plots decoded with PIL, rows from data attributes."""
    figures = []
    for kind, data in re.findall(r'<figure data-plot="([^"]+)"><img alt="[^"]*" src="data:image/png;base64,([^"]+)"',
                                 page):
        image = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("L"), dtype=np.float32)
        figures.append({"plot": kind, "width": image.shape[1], "height": image.shape[0], "ink": ink(image)})
    body = page.split('<table id="summary">', 1)[1].split("</table>", 1)[0]
    rows = []
    for attributes, cells in re.findall(r'<tr data-run="([^"]*"(?: data-mode="[^"]*")?)>(.*?)</tr>', body, re.S):
        run, _, mode = attributes.partition('" data-mode="')
        values = dict(re.findall(r'data-key="([^"]+)" data-value="([^"]+)"', cells))
        rows.append({"run": run.rstrip('"'), "mode": mode.rstrip('"') or None, "values": values})
    return {"figures": figures, "rows": rows}


def ink(gray: np.ndarray) -> float:
    """Share of pixels that are not background white: a blank or failed image has (almost) none."""
    return float(np.mean(gray < 245))


def assert_rows_match(shown: list[dict[str, Any]], runs: list[tuple[str, dict[str, Any]]]) -> None:
    expected = expected_rows(runs)
    assert [(r["run"], r["mode"]) for r in shown] == [(r["run"], r["mode"]) for r in expected]
    for page_row, json_row in zip(shown, expected, strict=True):
        assert set(page_row["values"]) >= set(json_row["values"]), page_row
        for key, value in json_row["values"].items():
            assert float(page_row["values"][key]) == pytest.approx(value, rel=1e-12, abs=0), (page_row["run"], key)


def test_build_report_file_has_every_plot_and_the_json_numbers(built: ExampleBuild) -> None:
    page = (built.out / "report.html").read_text()
    assert "<script" not in page and not re.search(r'(?:src|href)="(?!data:)', page)  # self-contained: no fetches
    facts = file_facts(page)
    assert {f["plot"] for f in facts["figures"]} == PLOTS
    for figure in facts["figures"]:
        assert figure["width"] >= 400 and figure["height"] >= 250 and figure["ink"] > 0.01, figure
    assert_rows_match(facts["rows"], build_runs(built))
    assert 'id="verdict">PASS<' in page  # the optional Edge TPU cell failed (no compiler) but is not counted
    assert "optional: failed" in page and "edgetpu_compiler" in page


@pytest.mark.skipif(bool(browser_missing()), reason=f"browser tests: {browser_missing()}")
def test_build_report_renders_in_chromium(built: ExampleBuild, tmp_path: Path) -> None:
    screenshot = tmp_path / "report.png"
    with serve(built.out) as base:
        answer = browse(f"{base}/report.html", evaluate=PAGE_FACTS, screenshot=screenshot)
    facts = answer["value"]
    assert facts["verdict"] == "PASS"
    assert {f["plot"] for f in facts["figures"]} == PLOTS
    assert all(f["width"] >= 400 and f["height"] >= 250 for f in facts["figures"]), facts["figures"]
    assert_rows_match(facts["rows"], build_runs(built))
    shot = np.asarray(Image.open(screenshot).convert("RGB"), dtype=np.float32)
    assert shot.shape[0] > 1500  # full page: table, five plots, checks
    assert ink(shot.mean(axis=2)) > 0.03
    assert len(np.unique(shot.reshape(-1, 3), axis=0)) > 200  # plots in colour, not a blank or text-only page
    assert not [line for line in answer["console"] if line.startswith(("error", "pageerror"))], answer["console"]


def test_report_command_renders_json_reports_and_refuses_other_files(built: ExampleBuild, tmp_path: Path) -> None:
    html, junit = tmp_path / "again.html", tmp_path / "again.xml"
    result = run_edgex("report", built.out / "edgex-build.json", "--html", html, "--junit", junit, "--title", "again")
    assert result.returncode == 0, result.stderr
    facts = file_facts(html.read_text())
    assert {f["plot"] for f in facts["figures"]} == PLOTS
    assert_rows_match(facts["rows"], build_runs(built))
    assert junit.read_text().count("<testsuite ") == len(built.report["cells"])

    not_a_report = tmp_path / "other.json"
    not_a_report.write_text('{"schema": "something/else"}')
    result = run_edgex("report", not_a_report, "--html", tmp_path / "x.html")
    assert_one_line_error(result, 2, "other.json: not an edgex report", "edgex-build.json")
    assert not (tmp_path / "x.html").exists()
    result = run_edgex("report", built.out / "edgex-build.json")
    assert_one_line_error(result, 2, "nothing to write", "--html")


def test_export_report_html_shows_every_mode(demo_export: dict[str, Path]) -> None:
    out = demo_export["out"]
    report = load_json(out / "report.json")
    facts = file_facts((out / "report.html").read_text())
    assert {f["plot"] for f in facts["figures"]} == PLOTS
    assert [row["mode"] for row in facts["rows"]] == ["none", "fp16", "dynamic", "int8", "int16x8"]
    assert_rows_match(facts["rows"], [(f"export {Path(report['source']['spec']).name}", report)])


def test_html_is_rendered_with_autoescape(demo_export: dict[str, Path], tmp_path: Path) -> None:
    """A title, label or error with markup in it is shown as text: the page is Jinja2 with autoescape."""
    page_path = tmp_path / "page.html"
    title = '<script>alert("x")</script> & <b>'
    result = run_edgex("report", demo_export["out"] / "report.json", "--html", page_path, "--title", title)
    assert result.returncode == 0, result.stderr
    page = page_path.read_text()
    assert "<script" not in page and "<b>" not in page
    assert "<title>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;</title>" in page
    assert "font-family: system-ui, -apple-system, 'Segoe UI', sans-serif" in page  # the stylesheet is not escaped
    assert len(file_facts(page)["rows"]) == 5
