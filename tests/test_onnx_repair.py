"""ONNX repair before onnx2tf / onnx2torch, and the onnx2tf integer layout fix: one test per error class seen on
models exported by other tools (issue: real models from the wild convert)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import onnx
import pytest

from edgex.exporters._onnx_repair import TF_SCOPE_NAME, repair
from tests.helpers import load_json, run_edgex, tf_factory
from tests.onnx_models import audio_frontend, chirps, digits_nchw, matmul_4d, textured_images, wild_cnn


@pytest.fixture(scope="module")
def wild(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("wild")
    np.save(folder / "val.npy", digits_nchw(150, offset=1000))
    np.save(folder / "calib.npy", digits_nchw(100))
    return {"model": wild_cnn(folder / "wild.onnx"), "val": folder / "val.npy", "calib": folder / "calib.npy"}


def test_each_pass_changes_only_what_it_names(tmp_path: Path) -> None:
    source = wild_cnn(tmp_path / "wild.onnx", opset=18)
    repairs = repair(source, tmp_path / "out.onnx", input_shapes={"x": [1, 1, 8, 8]}, max_opset=17, sanitize_names=True)
    by_pass = {r.name: r.detail for r in repairs}
    assert set(by_pass) == {"drop-initializer-inputs", "static-shapes", "opset", "simplify", "sanitize-names"}
    assert by_pass["drop-initializer-inputs"].startswith("7 initializers")
    assert by_pass["static-shapes"] == "x=1x1x8x8" and by_pass["opset"] == "18 -> 17"
    assert "shape-arithmetic nodes folded" in by_pass["simplify"]
    model = onnx.load(str(tmp_path / "out.onnx"))
    assert [v.name for v in model.graph.input] == ["x"]
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == [1, 1, 8, 8]
    assert not {n.op_type for n in model.graph.node} & {"Shape", "Gather", "Concat", "Unsqueeze"}
    assert all(TF_SCOPE_NAME.match(n.name) for n in model.graph.node)
    assert [v.name for v in model.graph.output] == ["probs"]  # valid I/O names are kept


def test_a_clean_model_gets_no_repair_it_does_not_need(tmp_path: Path) -> None:
    source = wild_cnn(tmp_path / "clean.onnx", initializers_as_inputs=False, symbolic_batch=False,
                      shape_arithmetic=False, bad_names=False)
    repairs = repair(source, tmp_path / "out.onnx", input_shapes={"x": [1, 1, 8, 8]}, sanitize_names=True)
    assert [(r.name, r.detail) for r in repairs] == [("simplify", "6 -> 5 nodes (onnxsim constant folding)")]


def test_repaired_model_computes_the_same(tmp_path: Path) -> None:
    import onnxruntime as ort

    source = wild_cnn(tmp_path / "wild.onnx")
    repair(source, tmp_path / "out.onnx", input_shapes={"x": [1, 1, 8, 8]}, sanitize_names=True)
    sample = digits_nchw(1)
    before = ort.InferenceSession(str(source)).run(None, {"x": sample})[0]
    after = ort.InferenceSession(str(tmp_path / "out.onnx")).run(None, {"x": sample})[0]
    np.testing.assert_allclose(after, before, atol=1e-6)


def test_wild_onnx_to_tflite_converts_and_lists_its_repairs(wild: dict[str, Path], tmp_path: Path) -> None:
    """Before: onnx2tf failed on 'relu@0' / 'Softmax@0' scope names and the symbolic batch."""
    report = tmp_path / "r.json"
    before = hashlib.sha256(wild["model"].read_bytes()).hexdigest()
    result = run_edgex("export", wild["model"], "--to", "tflite", "--validate", wild["val"], "--out", tmp_path,
                       "--runs", "2", "--keep-intermediates", "--report-json", report)
    assert result.returncode == 0, result.stdout + result.stderr
    # onnx2tf rewrites the file it is given: it must get a copy, never the user's model.
    assert hashlib.sha256(wild["model"].read_bytes()).hexdigest() == before
    row = load_json(report)["rows"][0]
    passes = [r["pass"] for r in row["details"]["repairs"]]
    assert passes == ["drop-initializer-inputs", "static-shapes", "simplify", "sanitize-names"]
    assert row["parity"]["outputs"][0]["cosine"] > 0.9999
    kept = tmp_path / "wild_fp32.onnx2tf-repaired.onnx"
    assert kept.exists() and [v.name for v in onnx.load(str(kept)).graph.input] == ["x"]


def test_wild_onnx_to_executorch_through_onnx2torch(wild: dict[str, Path], tmp_path: Path) -> None:
    """Before: onnx2torch kept the run-time Shape/Gather/Concat and torch.export refused the data-dependent
    Reshape; initializers listed as inputs became extra module inputs."""
    report = tmp_path / "r.json"
    result = run_edgex("export", wild["model"], "--to", "executorch", "--validate", wild["val"], "--out", tmp_path,
                       "--runs", "2", "--report-json", report)
    assert result.returncode == 0, result.stdout + result.stderr
    row = load_json(report)["rows"][0]
    assert row["route"].startswith("onnx > torch-export (onnx2torch)")
    assert {"drop-initializer-inputs", "simplify"} <= {r["pass"] for r in row["details"]["repairs"]}
    assert row["parity"]["outputs"][0]["top1_agreement"] == 100.0


@pytest.mark.parametrize(("channels", "size"), [(1, 8), (3, 3)], ids=["1-channel", "h=w=c"])
def test_nchw_int8_is_calibrated_in_the_models_layout(tmp_path: Path, channels: int, size: int) -> None:
    """Before: 1 channel crashed onnx2tf's int8 path ('Dimensions must be equal ... MatMul'); H = W = C = 3 was
    calibrated transposed (cosine 0.974, SNR 10.5 dB)."""
    model = matmul_4d(tmp_path / "m.onnx", channels=channels, size=size)
    np.save(tmp_path / "calib.npy", textured_images(100, channels, size, seed=1))
    np.save(tmp_path / "val.npy", textured_images(100, channels, size, seed=2))
    report = tmp_path / "r.json"
    # Seeded random weights leave the class scores nearly tied: gate on the layout-sensitive figures, not top-1.
    result = run_edgex("export", model, "--to", "tflite", "-q", "int8", "--calib", tmp_path / "calib.npy",
                       "--validate", tmp_path / "val.npy", "--out", tmp_path, "--runs", "2", "--report-json", report,
                       "--min-top1-agreement", "0")
    assert result.returncode == 0, result.stdout + result.stderr
    (output,) = load_json(report)["rows"][0]["parity"]["outputs"]
    assert output["cosine"] > 0.999 and output["snr_db"] > 25


def test_audio_frontend_to_executorch(tmp_path: Path) -> None:
    """Before: ShapeProp error in onnx2torch's reflect Pad, then data-dependent Slice/Resize operands, then
    torch.export could not read back module paths holding ';'."""
    model = audio_frontend(tmp_path / "frontend.onnx")
    np.save(tmp_path / "val.npy", chirps(40, 256, seed=3))
    report = tmp_path / "r.json"
    result = run_edgex("export", model, "--to", "executorch", "--validate", tmp_path / "val.npy", "--out", tmp_path,
                       "--runs", "0", "--report-json", report)
    assert result.returncode == 0, result.stdout + result.stderr
    row = load_json(report)["rows"][0]
    assert any("OnnxPadDynamic" in note and "OnnxResize" in note and "OnnxSlice" in note for note in row["notes"])
    assert row["parity"]["outputs"][0]["cosine"] > 0.9999


def test_savedmodel_with_captured_constants_to_onnx_and_executorch(tmp_path: Path) -> None:
    """Before: tf2onnx made the captured constants graph inputs ('1 inputs vs 4'); the .pte then paired the
    outputs by position in another order than the SavedModel runner returned them."""
    tf_factory("savedmodel_captured_constants", str(tmp_path / "frontend"))
    np.save(tmp_path / "val.npy", chirps(30, 16, seed=4)[:, 0, :])
    for target in ("onnx", "executorch"):
        report = tmp_path / f"{target}.json"
        result = run_edgex("export", tmp_path / "frontend", "--to", target, "--validate", tmp_path / "val.npy",
                           "--out", tmp_path / "out", "--runs", "0", "--report-json", report)
        assert result.returncode == 0, result.stdout + result.stderr
        row = load_json(report)["rows"][0]
        if target == "onnx":
            assert any("tf2onnx SavedModel loader" in note for note in row["notes"])
        outputs = row["parity"]["outputs"]
        assert sorted(o["output"] for o in outputs) == ["contour", "onset"]
        assert all(o["cosine"] > 0.9999 for o in outputs)
