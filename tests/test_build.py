"""`edgex build` on the repository's own edgex.toml: the matrix, honest rows, incremental rebuilds, determinism."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from tests.build_helpers import EXAMPLE_CONFIG, ExampleBuild, build_args, example_build
from tests.helpers import assert_one_line_error, run_edgex

CELLS = [
    "demo/tflite-int8",
    "demo/executorch-int8",
    "demo/edgetpu",
    "demo-torch/executorch-int8",
    "demo-torch/tflite-int8-int8io",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> ExampleBuild:
    return example_build(tmp_path_factory)


def _cells(built: ExampleBuild) -> dict[str, dict]:
    return {cell["id"]: cell for cell in built.report["cells"]}


def test_first_build_builds_every_cell_and_reports_each_honestly(built: ExampleBuild) -> None:
    result = built.first
    assert result.returncode == 0, result.stdout + result.stderr
    cells = _cells(built)
    assert list(cells) == CELLS
    for cell in (c for c in CELLS if c != "demo/edgetpu"):
        assert cells[cell]["status"] == "passed", cells[cell]
    # Cross-framework cells take their route and are measured against their own source, not an intermediate.
    keras_pte = cells["demo/executorch-int8"]["report"]
    assert keras_pte["rows"][0]["route"].startswith("keras > onnx (tf2onnx) > torch-export (onnx2torch) > pte")
    assert keras_pte["source"]["format"] == "keras"
    torch_tflite = cells["demo-torch/tflite-int8-int8io"]["report"]
    assert torch_tflite["rows"][0]["route"] == "torch > tflite (litert-torch)"
    assert torch_tflite["rows"][0]["parity"]["outputs"][0]["top1_agreement"] >= 98.0
    # No edgetpu_compiler here: the int8 model is written and validated, the cell fails with exit 4 and the
    # install hint, and being optional it is shown but not counted.
    edgetpu = cells["demo/edgetpu"]
    assert edgetpu["status"] == "export_failed" and edgetpu["exit_code"] == 4
    assert edgetpu["optional"] is True and edgetpu["counted"] is False
    row = edgetpu["report"]["rows"][0]
    assert "edgetpu_compiler" in row["error"] and "apt-get install edgetpu-compiler" in row["error"]
    assert row["parity"]["outputs"][0]["top1_agreement"] >= 97.0
    table = result.stdout
    assert table.count("✅") == 4 and table.count("❌") == 1 and "optional, not counted" in table
    assert "PASS exit 0" in table
    # CLI flags override the config: --runs 5 (the file says 20) and --out.
    latency = cells["demo/tflite-int8"]["report"]["rows"][0]["parity"]["exported_latency"]
    assert latency["runs"] == 5 and len(latency["timings_ms"]) == 5
    assert (built.out / "demo" / "tflite-int8" / "digits_int8.tflite").is_file()


def test_second_build_is_up_to_date_in_a_fraction_of_the_time(built: ExampleBuild) -> None:
    second = built.second
    assert second.returncode == 0, second.stdout + second.stderr
    assert all(cell["up_to_date"] for cell in built.report["cells"])
    for cell in CELLS:
        assert f"{cell} up to date" in second.stderr
    assert "5 cells: 0 built, 5 up to date" in second.stdout
    assert built.second_seconds < built.first_seconds / 4, (built.first_seconds, built.second_seconds)
    first_report = _cells(built)
    assert first_report["demo/tflite-int8"]["report"]["rows"][0]["parity"]["outputs"][0]["top1_agreement"] >= 98


def test_determinism_is_measured_for_every_cell(built: ExampleBuild) -> None:
    report = built.report
    for cell in report["cells"]:
        determinism = cell["determinism"]
        assert determinism["measured"] is True, cell["id"]
        pairs = determinism["artifacts"]
        assert pairs, cell["id"]
        assert determinism["identical"] == all(p["first"] == p["second"] for p in pairs.values())
        for name, pair in pairs.items():  # the first hash is the shipped file's
            shipped = built.out / cell["model"] / cell["target"] / name
            assert hashlib.sha256(shipped.read_bytes()).hexdigest() == pair["first"]
    assert report["non_deterministic"] == [c["id"] for c in report["cells"] if not c["determinism"]["identical"]]
    assert "determinism (same inputs exported twice, sha256 compared)" in built.first.stdout


def test_junit_covers_the_matrix_and_skips_the_optional_cell(built: ExampleBuild) -> None:
    root = ET.parse(built.out / "junit.xml").getroot()
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert list(suites) == CELLS
    assert root.get("failures") == "0" and root.get("errors") == "0" and root.get("skipped") == "1"
    skipped = suites["demo/edgetpu"].find("testcase/skipped")
    assert skipped is not None and "edgetpu_compiler" in skipped.get("message")
    checks = [case.get("name") for case in suites["demo-torch/executorch-int8"].findall("testcase")]
    assert checks[0] == "export" and "delegated_share" in checks and "cosine[output_0]" in checks


def test_changed_input_rebuilds_only_its_cell(built: ExampleBuild, tmp_path) -> None:
    """A threshold changed in a copy of the config: only the cells of that target are stale (planned, not built)."""
    from edgex.build.config import load_config
    from edgex.build.runner import Build, BuildOptions

    text = EXAMPLE_CONFIG.read_text().replace("min_top1_agreement = 98.0", "min_top1_agreement = 98.5")
    config_path = tmp_path / "edgex.toml"
    config_path.write_text(text.replace('"edgex/demo/', f'"{EXAMPLE_CONFIG.parent}/edgex/demo/'))
    config = load_config(config_path)
    config = replace(config, settings=replace(config.settings, out=built.out, runs=5, warmup=2))
    cached, jobs = Build(config, BuildOptions()).plan()
    unchanged = ["demo/executorch-int8", "demo/edgetpu", "demo-torch/executorch-int8"]
    assert [result.cell.id for result in cached] == unchanged
    assert [(job.cell.id, reason) for job, _, reason, _ in jobs] == [
        ("demo/tflite-int8", "options changed"),
        ("demo-torch/tflite-int8-int8io", "options changed"),
    ]
    (built.out / "demo" / "edgetpu" / "digits_int8.tflite").rename(tmp_path / "moved.tflite")
    try:
        _, jobs = Build(config, BuildOptions()).plan()
        reasons = {job.cell.id: reason for job, _, reason, _ in jobs}
        assert reasons["demo/edgetpu"] == "artifacts missing or modified"
    finally:
        (tmp_path / "moved.tflite").rename(built.out / "demo" / "edgetpu" / "digits_int8.tflite")


def test_only_selects_cells_and_unknown_cells_are_one_line_errors(built: ExampleBuild) -> None:
    result = run_edgex(*build_args(built.out), "--only", "demo/tflite-int", "--report-json", built.out / "only.json")
    assert_one_line_error(result, 2, "--only demo/tflite-int", "did you mean 'demo/tflite-int8'")
    own_reports = ["--junit", built.out / "only.xml", "--report-html", built.out / "only.html"]  # keep the full ones
    result = run_edgex(*build_args(built.out), "--only", "*/edgetpu", "--report-json", built.out / "only.json",
                       *own_reports)
    assert result.returncode == 0, result.stderr
    assert "1 cells: 0 built, 1 up to date" in result.stdout and "demo/tflite-int8" not in result.stdout
