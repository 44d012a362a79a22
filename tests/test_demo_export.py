"""The bundled demo through every TFLite mode: acceptance figures, reports, and atomic artifacts."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.helpers import covers, load_json

MODES = ["none", "fp16", "dynamic", "int8", "int16x8"]


@pytest.fixture(scope="module")
def report(demo_export) -> dict:
    result = demo_export["result"]
    assert result.returncode == 0, result.stdout + result.stderr
    return load_json(demo_export["out"] / "report.json")


def _row(report: dict, mode: str) -> dict:
    return next(row for row in report["rows"] if row["mode"] == mode)


@covers("tflite-converter")
def test_every_mode_passes_with_the_promised_figures(report, demo_export) -> None:
    assert report["schema"] == "edgex.report/1"
    assert report["verdict"] == "pass" and report["exit_code"] == 0
    assert [row["mode"] for row in report["rows"]] == MODES
    assert all(row["status"] == "passed" for row in report["rows"])
    int8 = _row(report, "int8")
    fp32 = _row(report, "none")
    headline = int8["parity"]["outputs"][0]
    assert headline["top1_agreement"] >= 98.0
    assert int8["artifact"]["size_bytes"] <= 0.3 * fp32["artifact"]["size_bytes"]
    assert fp32["parity"]["outputs"][0]["max_abs_error"] < 1e-4
    assert headline["reference_accuracy"] > 95.0  # the demo model is really trained
    table = demo_export["result"].stdout
    assert table.count("✅") == len(MODES) and "✗" not in table and "❌" not in table


def test_artifacts_are_named_by_mode_and_hashed(report, demo_export) -> None:
    out: Path = demo_export["out"]
    names = {"none": "fp32"}
    for mode in MODES:
        artifact = out / f"digits_{names.get(mode, mode)}.tflite"
        row = _row(report, mode)
        assert Path(row["artifact"]["path"]) == artifact
        assert row["artifact"]["sha256"] == hashlib.sha256(artifact.read_bytes()).hexdigest()
        assert row["artifact"]["size_bytes"] == artifact.stat().st_size
    assert not [p for p in out.iterdir() if p.name.startswith(".edgex-tmp")]


def test_report_records_versions_data_latency_and_memory(report) -> None:
    assert report["versions"]["tensorflow"] == "2.21.0"
    assert report["versions"]["ai_edge_litert"] == "2.3.0"
    assert report["validation"]["samples"] == 359 and report["validation"]["labels"] is True
    assert report["calibration"]["samples"] == 200
    parity = _row(report, "int8")["parity"]
    assert parity["exported_latency"]["runs"] == 20 and parity["exported_latency"]["median_ms"] > 0
    assert parity["reference_latency"]["p90_ms"] >= parity["reference_latency"]["median_ms"]
    assert 0 < parity["exported_memory"]["peak_rss_mb"] < parity["reference_memory"]["peak_rss_mb"]
    checks = {check["name"] for check in parity["checks"]}
    assert checks == {"cosine", "snr", "top1_agreement", "top1_drop"}
    assert parity["thresholds"]["min_cosine"] == 0.99


def test_junit_has_a_testcase_per_check(report, demo_export) -> None:
    suite = ET.parse(demo_export["out"] / "junit.xml").getroot()
    expected = sum(1 + len(row["parity"]["checks"]) for row in report["rows"])
    assert int(suite.get("tests")) == expected == len(suite.findall("testcase"))
    assert suite.get("failures") == "0" and suite.get("errors") == "0"


def test_markdown_report_has_the_table(demo_export) -> None:
    text = (demo_export["out"] / "report.md").read_text()
    assert "Verdict: **PASS**" in text
    assert "| ✅ | tflite | int8 | digits_int8.tflite |" in text


def test_existing_artifacts_are_not_overwritten_without_force(demo_export, tmp_path) -> None:
    from tests.helpers import run_edgex

    out: Path = demo_export["out"]
    artifact = out / "digits_fp32.tflite"
    before = artifact.read_bytes()
    result = run_edgex("export", "demo", "-q", "none", "--out", out)
    assert result.returncode == 2 and "already exists" in result.stderr and "--force" in result.stderr
    assert artifact.read_bytes() == before
