"""`edgex inspect` reads quantization, I/O and operators from the flatbuffer; TFLite fallback interpreter."""

from __future__ import annotations

import json

import numpy as np

from tests.helpers import DEMO_VAL, in_worker, run_edgex


def _inspect(path) -> dict:
    result = run_edgex("inspect", path, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_inspect_reports_each_mode(demo_export) -> None:
    out = demo_export["out"]
    expected = {
        "fp32": ("none", False),
        "fp16": ("fp16", False),
        "dynamic": ("dynamic", False),
        "int8": ("int8", True),
        "int16x8": ("int16x8", False),
    }  # int16x8 keeps float I/O by default
    for tag, (mode, fully_integer) in expected.items():
        info = _inspect(out / f"digits_{tag}.tflite")
        assert info["summary"]["quantization"] == mode, tag
        assert info["summary"]["fully integer"] is fully_integer, tag
        assert info["summary"]["dynamic shapes"] is False
        assert any(op.startswith("CONV_2D") for op in info["op_histogram"]), tag
    int8 = _inspect(out / "digits_int8.tflite")
    assert int8["inputs"][0]["name"] == "image" and int8["inputs"][0]["dtype"] == "int8"
    assert int8["inputs"][0]["shape"] == [1, 8, 8, 1]
    quantization = int8["inputs"][0]["quantization"]
    assert quantization["scales"] == [np.float32(1 / 255).item()] and quantization["zero_points"] == [-128]
    assert int8["summary"]["signatures"] == ["serving_default"] and int8["summary"]["custom ops"] == []
    assert int8["outputs"][0]["dtype"] == "int8"


def test_inspect_table_and_bad_files(tmp_path, demo_export) -> None:
    result = run_edgex("inspect", demo_export["out"] / "digits_int8.tflite")
    assert result.returncode == 0 and "FULLY_CONNECTED" in result.stdout and "fully integer" in result.stdout
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a model at all")
    result = run_edgex("inspect", junk)
    assert result.returncode == 2 and "not a TFLite flatbuffer" in result.stderr
    result = run_edgex("inspect", tmp_path / "model.onnx2")
    assert result.returncode == 2


def test_tf_lite_fallback_interpreter_matches_litert(demo_export) -> None:
    with np.load(DEMO_VAL) as stored:
        inputs = {"image": stored["image"][:16]}
    model = str(demo_export["out"] / "digits_int8.tflite")
    runtime, fallback = in_worker("tf", "tests.factories:run_tflite_with_fallback", model, inputs)
    assert runtime.startswith("tf.lite")
    from edgex.sources import SourceRef
    from edgex.workers import Worker

    worker = Worker("litert")
    try:
        ref = SourceRef(spec=model, format="tflite", path=demo_export["out"] / "digits_int8.tflite")
        handle = worker.call("edgex.sources.base:open_runner", ref, 1, what="load")
        assert handle.summary.runtime.startswith("ai-edge-litert")
        primary = worker.call("edgex.sources.base:run", handle, inputs, what="run")
    finally:
        worker.close()
    np.testing.assert_array_equal(fallback["output_0"], primary["output_0"])
