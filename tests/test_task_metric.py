"""`--metric module:function`: a user's task metric, reported and gated like the built-in ones (CLI, build file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.models import planted
from edgex.build.cells import CellJob, export_config
from edgex.build.config import load_config
from tests.helpers import in_worker, load_json, run_edgex

METRIC = '''
import numpy as np

def same_class(reference, exported, labels):
    """Share of samples whose top class survives, gated at 90 %, and how many samples there were."""
    ref, exp = reference["{output}"], exported["{output}"]
    same = 100.0 * float(np.mean(ref.argmax(axis=1) == exp.argmax(axis=1)))
    gap = float(np.abs(ref - exp).mean())
    return {{"same_class": {{"value": same, "min": 90.0}}, "samples": len(ref), "mean_gap": gap}}

def broken(reference, exported, labels):
    raise KeyError("no_such_output")
'''


@pytest.fixture(scope="module")
def planted_model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("planted_metric")
    calib, val = planted.write_data(folder, calibration=100, validation=100)
    keras_path = folder / "planted.keras"
    in_worker("tf", "benchmarks.models.planted:save_keras", str(keras_path))
    return {"calib": calib, "val": val, "keras": keras_path, "folder": folder}


def _metric_file(folder: Path, output: str) -> Path:
    path = folder / "task_metric.py"
    path.write_text(METRIC.format(output=output))
    return path


def test_task_metric_is_reported_and_gates_the_row(planted_model, tmp_path) -> None:
    metric = _metric_file(tmp_path, "head")  # the reference output of the Keras model is named after its layer
    report_path = tmp_path / "report.json"
    result = run_edgex(
        "export", planted_model["keras"], "-q", "none,int8", "--calib", planted_model["calib"], "--validate",
        planted_model["val"], "--metric", f"{metric}:same_class", "--runs", "0", "--out", tmp_path / "dist",
        "--report-json", report_path,
    )
    assert result.returncode == 1, result.stdout + result.stderr  # the int8 row fails (planted layer)
    fp32, int8 = load_json(report_path)["rows"]
    assert fp32["status"] == "passed" and fp32["parity"]["task_metrics"]["same_class"] == 100.0
    assert fp32["parity"]["task_metrics"]["samples"] == 100.0
    gate = next(check for check in int8["parity"]["checks"] if check["name"] == "same_class")
    assert not gate["passed"] and gate["value"] < 90.0 and gate["threshold"] == 90.0 and gate["comparison"] == ">="
    assert int8["parity"]["task_metrics"]["mean_gap"] > fp32["parity"]["task_metrics"]["mean_gap"]


def test_task_metric_errors_are_one_line(planted_model, tmp_path) -> None:
    metric = _metric_file(tmp_path, "head")
    artifact = tmp_path / "dist" / "planted_fp32.tflite"
    made = run_edgex("export", planted_model["keras"], "--runs", "0", "--out", tmp_path / "dist")
    assert made.returncode == 0, made.stderr
    raised = run_edgex(
        "validate", planted_model["keras"], artifact, "--data", planted_model["val"], "--metric", f"{metric}:broken",
        "--runs", "0",
    )
    assert raised.returncode == 2, raised.stdout + raised.stderr
    assert "--metric" in raised.stdout + raised.stderr and "KeyError" in raised.stdout + raised.stderr
    missing = run_edgex(
        "validate", planted_model["keras"], artifact, "--data", planted_model["val"], "--metric", "nowhere.py:f",
    )
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr


def test_build_file_metrics_key_reaches_the_parity_config(tmp_path) -> None:
    metric = _metric_file(tmp_path, "head")
    (tmp_path / "edgex.toml").write_text(
        f"""
[models.m]
source = "demo"
metrics = ["{metric.name}:same_class"]

[targets.t]
target = "tflite"
"""
    )
    config = load_config(tmp_path / "edgex.toml")
    (cell,) = config.cells()
    exported = export_config(CellJob(cell, tmp_path / "out", config.settings, force=False))
    assert exported.parity.metrics == (f"{metric}:same_class",)  # resolved against the build file's folder
