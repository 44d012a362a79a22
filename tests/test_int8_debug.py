"""When int8 fails, say why and fix it: a model with ONE planted quantization-hostile layer (benchmarks/models/
planted.py) fails full int8; `edgex debug` and the failed row name that layer first; `-q auto` keeps it in float
and passes. On TFLite (from Keras) and on ExecuTorch .pte (from PyTorch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.models import planted
from edgex import api
from tests.helpers import ROOT, covers, in_worker, load_json, run_edgex

FACTORY = ROOT / "benchmarks" / "models" / "planted.py"


@pytest.fixture(scope="module")
def planted_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("planted")
    calib, val = planted.write_data(folder)
    keras_path = folder / "planted.keras"
    in_worker("tf", "benchmarks.models.planted:save_keras", str(keras_path))
    return {"folder": folder, "calib": calib, "val": val, "keras": keras_path}


def _export(source: str | Path, target: str, files: dict[str, Path], out: Path, *extra: str) -> dict:
    report = out / "report.json"
    result = run_edgex(
        "export", source, "--to", target, "-q", "int8,auto", "--calib", files["calib"], "--validate", files["val"],
        "--runs", "0", "--out", out, "--report-json", report, *extra,
    )
    assert result.returncode == 1, result.stdout + result.stderr  # the full int8 row fails its gate
    assert "hostile" in result.stdout  # the failed row's note names the suspect (the table folds long notes)
    return load_json(report)


def _check_rows(report: dict) -> dict:
    int8, auto = report["rows"]
    assert int8["mode"] == "int8" and int8["status"] == "parity_failed"
    assert int8["parity"]["outputs"][0]["cosine"] < 0.9  # the planted layer ruins full int8
    assert int8["details"]["layer_debug"]["suspects"][0] == "hostile"
    assert any(note.startswith("int8 error jumps at: hostile (") for note in int8["notes"])
    assert auto["mode"] == "auto" and auto["status"] == "passed", auto
    quantization = auto["quantization"]
    assert quantization["requested"] == "auto" and quantization["chosen"] == "int8"
    assert "hostile" in quantization["kept_float"] and len(quantization["kept_float"]) <= 2
    assert quantization["attempts"][0]["kept_float"] == [] and quantization["attempts"][0]["status"] == "parity_failed"
    assert auto["parity"]["outputs"][0]["cosine"] >= 0.99
    assert auto["notes"][0].startswith("auto: int8 with hostile")
    assert Path(auto["artifact"]["path"]).is_file()
    assert auto["artifact"]["size_bytes"] > int8["artifact"]["size_bytes"]  # the float layer costs bytes
    return auto


def _check_debug(debug: dict) -> None:
    names = [layer["name"] for layer in debug["layers"]]
    assert names == list(planted.LAYERS)  # the source's names, in execution order
    assert debug["suspects"][0] == "hostile"
    by_name = {layer["name"]: layer for layer in debug["layers"]}
    assert by_name["dense_in"]["snr_db"] > 25 and by_name["hostile"]["snr_db"] < 5
    assert by_name["hostile"]["added_db"] > 20 and by_name["mixer"]["added_db"] < 3
    assert by_name["dense_in"]["clipped"] is None or by_name["dense_in"]["clipped"] < 0.01  # calibration covers it


@covers("tflite-converter")
def test_tflite_debug_names_the_planted_layer_and_auto_keeps_it_float(planted_files, tmp_path) -> None:
    report = _export(planted_files["keras"], "tflite", planted_files, tmp_path / "dist")
    auto = _check_rows(report)
    assert auto["artifact"]["path"].endswith("planted_auto.tflite")
    assert not list((tmp_path / "dist").glob(".edgex*"))  # the candidates' scratch folder is gone

    debug_json = tmp_path / "debug.json"
    result = run_edgex(
        "debug", planted_files["keras"], tmp_path / "dist" / "planted_int8.tflite", "--data", planted_files["val"],
        "--report-json", debug_json,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "suspects (worst first): hostile" in result.stdout
    debug = load_json(debug_json)
    assert debug["schema"] == "edgex.debug/1" and debug["converter"] == "tflite-converter"
    _check_debug(debug)

    validated = tmp_path / "validate.json"
    result = run_edgex(
        "validate", planted_files["keras"], tmp_path / "dist" / "planted_int8.tflite", "--data", planted_files["val"],
        "--runs", "0", "--report-json", validated,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    (row,) = load_json(validated)["rows"]
    assert row["details"]["layer_debug"]["suspects"][0] == "hostile"
    assert any(note.startswith("int8 error jumps at: hostile (") for note in row["notes"])

    # the HTML report plots the failed row's error by depth, the planted layer marked
    page = tmp_path / "report.html"
    assert run_edgex("report", tmp_path / "dist" / "report.json", "--html", page).returncode == 0
    html = page.read_text()
    assert 'data-plot="depth"' in html and "int8 error by depth" in html

    # the auto artifact, debugged the same way: nothing jumps any more
    fixed = api.debug(str(planted_files["keras"]), tmp_path / "dist" / "planted_auto.tflite", data=planted_files["val"])
    assert "hostile" not in fixed.suspects
    assert next(layer for layer in fixed.layers if layer.name == "hostile").snr_db > 20  # computed in float now


@covers("executorch")
def test_pte_debug_names_the_planted_layer_and_auto_keeps_it_float(planted_files, tmp_path) -> None:
    source = f"{FACTORY}:build"
    report = _export(source, "executorch", planted_files, tmp_path / "dist")
    auto = _check_rows(report)
    assert auto["artifact"]["path"].endswith("planted_xnnpack_auto.pte")

    debug = api.debug(
        source, tmp_path / "dist" / "planted_xnnpack_int8.pte", data=planted_files["val"],
        calib=planted_files["calib"], report_json=tmp_path / "debug.json",
    )
    assert debug.converter == "executorch"
    _check_debug(load_json(tmp_path / "debug.json"))


def test_debug_refuses_bad_input_in_one_line(planted_files, tmp_path) -> None:
    artifact = tmp_path / "model.tflite"
    artifact.write_bytes(b"not read")
    no_data = run_edgex("debug", planted_files["keras"], artifact)
    assert no_data.returncode == 2 and "debug needs samples" in no_data.stderr
    assert len(no_data.stderr.strip().splitlines()) == 1 and "Traceback" not in no_data.stderr
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"not read")
    unsupported = run_edgex("debug", planted_files["keras"], onnx, "--data", planted_files["val"])
    assert unsupported.returncode == 2 and "not supported" in unsupported.stderr, unsupported.stderr
    out = tmp_path / "dist"
    blind = run_edgex("export", planted_files["keras"], "-q", "auto", "--calib", planted_files["calib"], "--out", out)
    assert blind.returncode == 2 and "-q auto needs validation data" in blind.stderr, blind.stderr
    assert not out.exists()  # refused before any work


def test_unrepresentative_calibration_is_called_out(planted_files, tmp_path) -> None:
    narrow = tmp_path / "narrow.npy"
    np.save(narrow, planted.samples(20, seed=3) * 0.2)  # too few samples, and a fifth of the real input scale
    report_path = tmp_path / "report.json"
    result = run_edgex(
        "export", planted_files["keras"], "-q", "int8", "--calib", narrow, "--validate", planted_files["val"],
        "--runs", "0", "--out", tmp_path / "dist", "--report-json", report_path,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    warnings = load_json(report_path)["warnings"]
    assert any(w.startswith("calibration set has 20 samples") for w in warnings), warnings
    debug = api.debug(str(planted_files["keras"]), tmp_path / "dist" / "planted_int8.tflite", data=planted_files["val"])
    clipped = {layer.name: layer.clipped for layer in debug.layers}
    assert clipped["dense_in"] is not None and clipped["dense_in"] > 0.05, clipped
    assert any(note.startswith("activation ranges clip on these samples (") for note in debug.notes), debug.notes


def _weight_scales(path: Path) -> list[int]:
    """How many scales each int8 weight tensor of a .tflite has (read from the file, no framework)."""
    from edgex.inspection.tflite import read_tflite

    model = read_tflite(path)
    return [len(t.quant.scales) for t in model.tensors if t.constant and t.quant and t.dtype == "int8"]


def test_granularity_per_tensor_gives_one_scale_per_weight_tensor(planted_files, tmp_path) -> None:
    for granularity in ("per-channel", "per-tensor"):
        result = run_edgex(
            "export", planted_files["keras"], "-q", "int8", "--calib", planted_files["calib"], "--granularity",
            granularity, "--out", tmp_path / granularity,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    assert _weight_scales(tmp_path / "per-channel" / "planted_int8.tflite") == [planted.CLASSES] + [planted.HIDDEN] * 3
    assert _weight_scales(tmp_path / "per-tensor" / "planted_int8.tflite") == [1] * 4
    refused = run_edgex(
        "export", f"{FACTORY}:build", "--to", "tflite", "-q", "int8", "--calib", planted_files["calib"],
        "--granularity", "per-tensor", "--out", tmp_path / "refused",
    )
    assert refused.returncode == 2 and "--granularity per-tensor is not supported by" in refused.stderr, refused.stderr
    assert not (tmp_path / "refused").exists()
