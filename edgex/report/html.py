"""Self-contained HTML report: the summary table, per-artifact checks and matplotlib plots inlined as base64 PNGs,
so the page can be attached to a CI run or mailed as one file.

Plots: per-output error histograms, reference-vs-exported scatter, latency box plots, size bars, int8 error by
depth for failed rows that carry a layer comparison, and accuracy
(or top-1 agreement) vs size. Every number in the table carries its raw JSON value in data-value.
"""

from __future__ import annotations

import base64
import html
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edgex.parity.compare import Check
from edgex.parity.metrics import OutputMetrics
from edgex.report import plots
from edgex.report.files import write_text_atomic
from edgex.report.runs import Run, run_of
from edgex.results import RowResult, RunReport

STATUS_TEXT = {"passed": "passed", "exported": "exported", "parity_failed": "parity failed", "export_failed": "failed"}
STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 1.5rem 2rem; color: #1d2330; }
h1 { margin-bottom: 0.2rem; } .sub { color: #5a6275; margin-top: 0; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #d5d9e2; padding: 0.25rem 0.55rem; text-align: right; }
th { background: #f1f3f8; } td.text { text-align: left; }
.badge { display: inline-block; padding: 0.05rem 0.5rem; border-radius: 0.7rem; font-weight: 600; color: white; }
.passed, .exported, .pass { background: #2e7d32; } .parity_failed { background: #b26a00; }
.export_failed, .fail { background: #c62828; } .skipped { background: #757575; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #e3e6ee; }
figcaption { color: #5a6275; font-size: 0.85rem; } details { margin: 0.3rem 0; }
.note { color: #5a6275; font-size: 0.85rem; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _cell(text: str, key: str | None = None, value: Any = None, css: str = "") -> str:
    data = f' data-key="{_e(key)}" data-value="{_e(value)}"' if key is not None and value is not None else ""
    return f'<td class="{css}"{data}>{_e(text)}</td>'


def _headline(row: RowResult) -> OutputMetrics | None:
    return row.parity.headline() if row.parity else None


def _artifact_rows(runs: list[Run]) -> list[tuple[str, Run, RowResult]]:
    """(plot label, run, row) for every row that produced an artifact."""
    found = []
    for run in runs:
        for row in run.report.rows if run.report else []:
            if row.artifact:
                name = Path(row.artifact.path).name
                found.append((f"{run.label}\n{name}" if len(runs) > 1 else name, run, row))
    return found


def _summary_table(runs: list[Run]) -> str:
    headers = (
        "run",
        "status",
        "target",
        "mode",
        "artifact",
        "size KB",
        "top-1 agree %",
        "accuracy %",
        "cosine",
        "SNR dB",
        "max |err|",
        "latency ms",
    )
    lines = ['<table id="summary"><thead><tr>' + "".join(f"<th>{h}</th>" for h in headers) + "</tr></thead><tbody>"]
    for run in runs:
        if not run.report or not run.report.rows:
            status = "skipped" if run.skipped else "export_failed"
            lines.append(
                f'<tr data-run="{_e(run.label)}">{_cell(run.label, css="text")}'
                f'<td class="text"><span class="badge {status}">failed</span></td>'
                f'<td class="text" colspan="10">{_e(run.error or "no report")}</td></tr>'
            )
            continue
        for row in run.report.rows:
            head = _headline(row)
            latency = row.parity.exported_latency if row.parity else None
            status = "skipped" if run.skipped and row.status == "export_failed" else row.status.value
            label = "optional: " + STATUS_TEXT[row.status] if status == "skipped" else STATUS_TEXT[row.status]
            cells = [
                _cell(run.label, css="text"),
                f'<td class="text"><span class="badge {status}" data-key="status">{_e(label)}</span></td>',
                _cell(row.target, css="text"),
                _cell(row.mode, css="text"),
                _cell(Path(row.artifact.path).name if row.artifact else "-", css="text"),
                _number(row.artifact.size_bytes if row.artifact else None, "size_bytes", lambda v: f"{v / 1024:.1f}"),
                _number(head.top1_agreement if head else None, "top1_agreement", lambda v: f"{v:.1f}"),
                _accuracy(head),
                _number(head.cosine if head else None, "cosine", lambda v: f"{v:.5f}"),
                _number(head.snr_db if head else None, "snr_db", lambda v: f"{v:.1f}"),
                _number(head.max_abs_error if head else None, "max_abs_error", lambda v: f"{v:.2e}"),
                _number(latency.median_ms if latency else None, "median_ms", lambda v: f"{v:.3f}"),
            ]
            lines.append(f'<tr data-run="{_e(run.label)}" data-mode="{_e(row.mode)}">' + "".join(cells) + "</tr>")
    lines.append("</tbody></table>")
    return "\n".join(lines)


def _number(value: float | None, key: str, fmt: Any) -> str:
    return _cell("-") if value is None else _cell(fmt(value), key, repr(value))


def _accuracy(head: OutputMetrics | None) -> str:
    reference, exported = (head.reference_accuracy, head.exported_accuracy) if head else (None, None)
    if reference is None or exported is None:
        return _cell("-")
    return _cell(f"{reference:.1f} -> {exported:.1f}", "exported_accuracy", repr(exported))


def _checks(runs: list[Run]) -> str:
    parts = ["<h2>Checks</h2>"]
    for run in runs:
        for row in run.report.rows if run.report else []:
            checks = [*row.checks, *(row.parity.checks if row.parity else [])]
            failed = sum(1 for c in checks if not c.passed)
            summary = f"{run.label} {row.target} {row.mode}: {len(checks) - failed}/{len(checks)} checks passed"
            body = "".join(_check_row(c) for c in checks)
            notes = "".join(f'<p class="note">{_e(n)}</p>' for n in ([row.error] if row.error else []))
            notes += "".join(f'<p class="note">{_e(n)}</p>' for n in row.notes)
            parts.append(
                f"<details{' open' if failed else ''}><summary>{_e(summary)}</summary>{notes}"
                "<table><thead><tr><th>check</th><th>output</th><th>value</th><th>threshold</th><th>result</th></tr>"
                f"</thead><tbody>{body}</tbody></table></details>"
            )
    return "\n".join(parts)


def _check_row(check: Check) -> str:
    value = f"{check.value:.6g}{check.unit}"
    threshold = f"{check.comparison} {check.threshold:g}{check.unit}"
    result = "pass" if check.passed else "fail"
    return (
        f"<tr>{_cell(check.name, css='text')}{_cell(check.output or '-', css='text')}"
        f"{_cell(value, 'value', repr(check.value))}{_cell(threshold)}"
        f'<td class="text"><span class="badge {result}">{"ok" if check.passed else "FAILED"}</span></td></tr>'
    )


def _figure(kind: str, png: bytes, caption: str) -> str:
    encoded = base64.b64encode(png).decode("ascii")
    return (
        f'<figure data-plot="{_e(kind)}"><img alt="{_e(caption)}" src="data:image/png;base64,{encoded}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _plots(runs: list[Run]) -> str:
    rows = _artifact_rows(runs)
    figures: list[str] = []
    histograms: dict[str, list[plots.Series]] = {}
    samples: list[plots.Series] = []
    for label, _run, row in rows:
        for output in row.parity.outputs if row.parity else []:
            if output.error_histogram:
                histograms.setdefault(output.output, []).append(plots.Series(label, output.error_histogram))
        head = _headline(row)
        if head and head.value_sample:
            samples.append(plots.Series(label, head.value_sample))
    for output_name, series in histograms.items():
        figures.append(
            _figure(
                "error-histogram",
                plots.error_histogram(output_name, series),
                f"Error histogram of output '{output_name}': share of elements per |error| bin",
            )
        )
    if samples:
        figures.append(_figure("scatter", plots.scatter(samples), "Reference vs exported values (sampled elements)"))
    latency: list[plots.Series] = []
    for run in runs:
        run_rows = [(label, row) for label, r, row in rows if r is run]
        reference = next((row.parity.reference_latency for _, row in run_rows if row.parity), None)
        if reference and reference.timings_ms:
            latency.append(plots.Series(f"{run.label}\nreference", list(reference.timings_ms)))
        for label, row in run_rows:
            exported = row.parity.exported_latency if row.parity else None
            if exported and exported.timings_ms:
                latency.append(plots.Series(label, list(exported.timings_ms)))
    if latency:
        figures.append(_figure("latency", plots.latency_boxes(latency), "Latency per artifact and reference (ms)"))
    sizes = [plots.Series(label, row.artifact.size_bytes) for label, _, row in rows if row.artifact]
    if sizes:
        figures.append(_figure("size", plots.size_bars(sizes), "Artifact sizes"))
    figures += _accuracy_figure(rows)
    depth = [
        plots.Series(label, (row.details["layer_debug"]["layers"], row.details["layer_debug"].get("suspects", [])))
        for label, _, row in rows
        if isinstance(row.details.get("layer_debug"), dict) and row.details["layer_debug"].get("layers")
    ]
    if depth:
        figures.append(_figure("depth", plots.error_by_depth(depth), "int8 error by depth (failed rows' layers)"))
    return "<h2>Plots</h2>\n" + ("\n".join(figures) if figures else '<p class="note">no plot data in these reports</p>')


def _accuracy_figure(rows: list[tuple[str, Run, RowResult]]) -> list[str]:
    """Accuracy against labels when every artifact has it, else top-1 agreement with the reference."""
    heads = [(label, run, row, head) for label, run, row in rows if (head := _headline(row)) is not None]
    if not heads:
        return []
    with_labels = all(head.exported_accuracy is not None for *_, head in heads)
    key, metric = ("exported_accuracy", "accuracy") if with_labels else ("top1_agreement", "top-1 agreement")
    series = [
        plots.Series(label, (row.artifact.size_bytes, getattr(head, key)))
        for label, _, row, head in heads
        if row.artifact and getattr(head, key) is not None
    ]
    if not series:
        return []
    references: dict[str, float] = {}
    if with_labels:
        for _label, run, _row, head in heads:
            if run.report is not None and head.reference_accuracy is not None:
                references.setdefault(Path(run.report.source.spec).name, head.reference_accuracy)
    png = plots.accuracy_vs_size(series, metric, sorted(references.items()))
    return [_figure("accuracy-vs-size", png, f"{metric.capitalize()} vs artifact size")]


def html_report(runs: list[Run], title: str) -> str:
    failed = [run for run in runs if not run.skipped and run.exit_code != 0]
    verdict = "fail" if failed else "pass"
    versions: dict[str, str] = {}
    for run in runs:
        versions.update(run.report.versions if run.report else {})
    generated = datetime.now(UTC).isoformat(timespec="seconds")
    errors = "".join(
        f'<p class="note" data-run="{_e(r.label)}">{_e(r.label)}: {_e(r.error)}</p>' for r in runs if r.error
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><style>{STYLE}</style></head>
<body>
<h1>{_e(title)}</h1>
<p class="sub">verdict <span class="badge {verdict}" id="verdict">{verdict.upper()}</span> ·
{len(runs)} run(s) · generated {generated} by edgex {_e(versions.get("edgex", ""))}</p>
{errors}
{_summary_table(runs)}
{_plots(runs)}
{_checks(runs)}
<h2>Versions</h2>
<p class="note">{_e(", ".join(f"{k} {v}" for k, v in sorted(versions.items())))}</p>
</body></html>
"""


def write_html_runs(runs: list[Run], path: Path, title: str) -> None:
    write_text_atomic(path, html_report(runs, title))


def write_html(report: RunReport, path: Path) -> None:
    """--report-html of export and validate."""
    write_html_runs([run_of(report)], path, f"edgex {report.command}: {report.source.spec}")
