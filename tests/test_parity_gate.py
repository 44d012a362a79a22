"""The gate must be able to fail: drifted weights, wrong calibration normalisation, stricter thresholds."""

from __future__ import annotations

import numpy as np

from tests.helpers import DEMO_CALIB, DEMO_KERAS, DEMO_LABELS, DEMO_VAL, load_json, run_edgex, tf_factory


def test_weights_perturbed_after_export_fail_validation(demo_export, tmp_path) -> None:
    drifted = tmp_path / "drifted.keras"
    tf_factory("perturbed_copy", str(DEMO_KERAS), str(drifted), 0.15)
    artifact = demo_export["out"] / "digits_fp32.tflite"
    report_path = tmp_path / "report.json"
    junit = tmp_path / "junit.xml"
    result = run_edgex(
        "validate",
        drifted,
        artifact,
        "--data",
        DEMO_VAL,
        "--labels",
        DEMO_LABELS,
        "--runs",
        "0",
        "--report-json",
        report_path,
        "--junit",
        junit,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "✗" in result.stdout and "FAIL" in result.stdout
    report = load_json(report_path)
    row = report["rows"][0]
    assert report["verdict"] == "fail" and row["status"] == "parity_failed"
    assert row["mode"] == "none"  # read from the artifact: default fp32 thresholds
    failed = {c["name"] for c in row["parity"]["checks"] if not c["passed"]}
    assert {"cosine", "snr"} <= failed
    assert 'failures="0"' not in junit.read_text() and "cosine[probs]" in junit.read_text()


def test_same_model_validates_clean(demo_export) -> None:
    result = run_edgex(
        "validate",
        DEMO_KERAS,
        demo_export["out"] / "digits_int8.tflite",
        "--data",
        DEMO_VAL,
        "--labels",
        DEMO_LABELS,
        "--runs",
        "0",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "int8" in result.stdout and "✅" in result.stdout


def test_wrong_calibration_normalisation_fails_int8(tmp_path) -> None:
    with np.load(DEMO_CALIB) as stored:
        np.savez(tmp_path / "calib_0_255.npz", image=stored["image"] * 255.0)  # pixels not scaled to [0, 1]
    report_path = tmp_path / "r.json"
    result = run_edgex(
        "export",
        DEMO_KERAS,
        "-q",
        "int8",
        "--calib",
        tmp_path / "calib_0_255.npz",
        "--validate",
        DEMO_VAL,
        "--labels",
        DEMO_LABELS,
        "--out",
        tmp_path / "dist",
        "--runs",
        "0",
        "--report-json",
        report_path,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    row = load_json(report_path)["rows"][0]
    assert row["status"] == "parity_failed"
    assert row["parity"]["outputs"][0]["top1_agreement"] < 90.0
    assert (tmp_path / "dist" / "digits_int8.tflite").exists()  # the artifact is kept for inspection


def test_threshold_override_makes_a_passing_export_fail(tmp_path) -> None:
    result = run_edgex(
        "export",
        DEMO_KERAS,
        "-q",
        "dynamic",
        "--validate",
        DEMO_VAL,
        "--labels",
        DEMO_LABELS,
        "--out",
        tmp_path,
        "--runs",
        "0",
        "--min-snr-db",
        "150",
        "--report-json",
        tmp_path / "r.json",
    )
    assert result.returncode == 1
    check = next(c for c in load_json(tmp_path / "r.json")["rows"][0]["parity"]["checks"] if c["name"] == "snr")
    assert check["threshold"] == 150.0 and not check["passed"]
    assert "✗" in result.stdout


def test_calibration_overlapping_validation_warns(tmp_path) -> None:
    result = run_edgex(
        "export",
        DEMO_KERAS,
        "-q",
        "int8",
        "--calib",
        DEMO_VAL,
        "--validate",
        DEMO_VAL,
        "--out",
        tmp_path,
        "--runs",
        "0",
    )
    assert result.returncode == 0, result.stderr
    assert "also appear in the calibration set" in result.stdout


def test_random_calibration_needs_saying_so_and_warns(tmp_path) -> None:
    result = run_edgex(
        "export",
        DEMO_KERAS,
        "-q",
        "int8",
        "--calib",
        "random",
        "--validate",
        DEMO_VAL,
        "--out",
        tmp_path,
        "--runs",
        "0",
        "--report-json",
        tmp_path / "r.json",
    )
    assert "random data" in result.stdout and "unmeasured" in result.stdout
    assert load_json(tmp_path / "r.json")["calibration"]["origin"].startswith("random")
