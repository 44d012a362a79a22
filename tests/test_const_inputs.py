"""Constant inputs (a sample rate branched on by an If), a state batched on axis 1 fed per sample, and the
onnx2torch LSTM converter: what silero-vad needed, on small models built here (issue: real models convert)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest

from edgex.exporters._onnx_repair import repair
from tests.helpers import assert_one_line_error, in_worker, load_json, run_edgex
from tests.onnx_models import rate_switch


@pytest.fixture(scope="module")
def streaming(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("rate")
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (12, 4)).astype(np.float32)
    state = rng.normal(0, 0.5, (12, 2, 1, 4)).astype(np.float32)  # each sample in the model's (2, batch, 4)
    np.savez(folder / "val.npz", x=x, state=state)
    np.savez(folder / "val_rate.npz", x=x, state=state, rate=np.array(16000, dtype=np.int64))
    return {"model": rate_switch(folder / "rate.onnx"), "val": folder / "val.npz", "val_rate": folder / "val_rate.npz"}


def test_fold_constant_input_removes_the_input_and_the_if(streaming: dict[str, Path], tmp_path: Path) -> None:
    import onnxruntime as ort

    repaired = tmp_path / "out.onnx"
    repairs = repair(streaming["model"], repaired, input_shapes={"x": [1, 4], "state": [2, 1, 4]},
                     const_inputs=[("rate", "16000")])
    by_pass = {r.name: r.detail for r in repairs}
    assert by_pass["fold-constant-inputs"] == "rate=16000"
    assert by_pass["inline-constant-if"] == "1 If nodes replaced by the branch they take"
    model = onnx.load(str(repaired))
    assert [v.name for v in model.graph.input] == ["x", "state"]
    assert "If" not in {node.op_type for node in model.graph.node}
    x = np.arange(4, dtype=np.float32)[None]
    state = np.ones((2, 1, 4), dtype=np.float32)
    y, _ = ort.InferenceSession(str(repaired)).run(None, {"x": x, "state": state})
    np.testing.assert_allclose(y, x * 2 + 2)  # the 16 kHz branch
    other = repair(streaming["model"], tmp_path / "8k.onnx", input_shapes={}, const_inputs=[("rate", "8000")])
    assert "inline-constant-if" in {r.name for r in other}
    y8, _ = ort.InferenceSession(str(tmp_path / "8k.onnx")).run(None, {"x": x, "state": state})
    np.testing.assert_allclose(y8, x + 1 + 2)  # the other branch


def test_const_input_exports_to_tflite_and_executorch_and_validates_from_data(
    streaming: dict[str, Path], tmp_path: Path
) -> None:
    report = tmp_path / "r.json"
    result = run_edgex("export", streaming["model"], "--to", "tflite", "--to", "executorch", "--const-input",
                       "rate=16000", "--validate", streaming["val"], "--out", tmp_path, "--runs", "2",
                       "--report-json", report)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = load_json(report)["rows"]
    assert [row["status"] for row in rows] == ["passed", "passed"]
    for row in rows:
        assert {"fold-constant-inputs", "inline-constant-if"} <= {r["pass"] for r in row["details"]["repairs"]}
        assert row["parity"]["samples"] == 12
        assert min(output["cosine"] for output in row["parity"]["outputs"]) > 0.99999
    artifacts = [row["artifact"]["path"] for row in rows]
    # The data file holds the rate as a 0-d array: taken as the constant, no flag needed.
    checked = tmp_path / "v.json"
    result = run_edgex("validate", streaming["model"], *artifacts, "--data", streaming["val_rate"], "--runs", "0",
                       "--report-json", checked)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [row["status"] for row in load_json(checked)["rows"]] == ["passed", "passed"]


def test_unknown_const_input_names_the_model_inputs(streaming: dict[str, Path], tmp_path: Path) -> None:
    result = run_edgex("export", streaming["model"], "--to", "tflite", "--const-input", "sr=16000", "--validate",
                       streaming["val"], "--out", tmp_path)
    assert_one_line_error(result, 2, "--const-input sr", "no input named 'sr'", "x, state, rate")
    result = run_edgex("export", streaming["model"], "--to", "tflite", "--const-input", "rate", "--out", tmp_path)
    assert_one_line_error(result, 2, "is not NAME=VALUE")


def test_onnx_lstm_converter_matches_onnxruntime(tmp_path: Path) -> None:
    errors = in_worker("torch", "tests.onnx_models:lstm_errors", str(tmp_path))
    assert set(errors) == {"forward", "bidirectional"}
    assert max(errors.values()) < 1e-5, errors


def test_torchscript_int_argument_is_a_constant_and_the_ptl_keeps_it(tmp_path: Path) -> None:
    model = in_worker("torch", "tests.onnx_models:scripted_gain", str(tmp_path / "gain.pt"))
    x = np.random.default_rng(1).normal(0, 1, (10, 4)).astype(np.float32)
    np.savez(tmp_path / "val.npz", x=x, gain=np.array(3, dtype=np.int64))
    report = tmp_path / "r.json"
    result = run_edgex("export", model, "--to", "pytorch-lite", "--validate", tmp_path / "val.npz", "--out", tmp_path,
                       "--runs", "0", "--report-json", report)
    assert result.returncode == 0, result.stdout + result.stderr
    row = load_json(report)["rows"][0]
    assert row["parity"]["outputs"][0]["cosine"] > 0.99999
    with zipfile.ZipFile(row["artifact"]["path"]) as archive:
        meta = json.loads(archive.read(next(n for n in archive.namelist() if n.endswith("extra/edgex.json"))))
    assert meta["constants"] == [{"name": "gain", "position": 1, "value": 3, "type": "int"}]
    assert [entry["name"] for entry in meta["inputs"]] == ["x"]
    # The constant matters: the source fed another gain no longer matches the .ptl, which keeps gain=3.
    np.savez(tmp_path / "x.npz", x=x)
    result = run_edgex("validate", model, row["artifact"]["path"], "--data", tmp_path / "x.npz", "--const-input",
                       "gain=2", "--runs", "0")
    assert result.returncode == 1, result.stdout + result.stderr
