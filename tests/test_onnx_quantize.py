"""ONNX int8 (static QDQ, calibrated) and dynamic int8 through onnxruntime.quantization, validated on onnxruntime."""

from __future__ import annotations

from collections import Counter

import onnx

from tests.helpers import covers, load_json, run_edgex


def _ops(path: str) -> Counter[str]:
    return Counter(node.op_type for node in onnx.load(path).graph.node)


@covers("tf2onnx", "torch.onnx")
def test_both_demo_models_quantize_to_onnx_int8_and_dynamic_with_parity(tmp_path) -> None:
    for demo, route in (("demo", "tf2onnx"), ("demo-torch", "torch.onnx")):
        report_path = tmp_path / f"{demo}.json"
        result = run_edgex(
            "export", demo, "--to", "onnx", "-q", "none,int8,dynamic", "--out", tmp_path / demo,
            "--report-json", report_path,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        report = load_json(report_path)
        rows = {row["mode"]: row for row in report["rows"]}
        assert set(rows) == {"none", "int8", "dynamic"}
        float_size = rows["none"]["artifact"]["size_bytes"]
        for mode in ("int8", "dynamic"):
            row = rows[mode]
            output = row["parity"]["outputs"][0]
            assert row["status"] == "passed", (demo, mode, row)
            assert f"({route})" in row["route"]
            assert output["top1_agreement"] >= 97.0, (demo, mode, output["top1_agreement"])
            assert output["exported_accuracy"] >= output["reference_accuracy"] - 2.0
            assert output["cosine"] > 0.999 and output["max_abs_error"] > 1e-6  # quantized: close, not identical
            assert row["artifact"]["size_bytes"] < 0.4 * float_size, (demo, mode, row["artifact"]["size_bytes"])
            assert row["runtime"].startswith("onnxruntime")
        int8_ops = _ops(rows["int8"]["artifact"]["path"])
        assert int8_ops["QuantizeLinear"] > 0 and int8_ops["DequantizeLinear"] > int8_ops["QuantizeLinear"]
        dynamic_ops = _ops(rows["dynamic"]["artifact"]["path"])
        assert dynamic_ops["DynamicQuantizeLinear"] > 0 and "QuantizeLinear" not in dynamic_ops
        assert "static QDQ int8" in " ".join(rows["int8"]["notes"])

    refused = run_edgex("export", "demo", "--to", "onnx", "-q", "int8", "--io-dtype", "int8", "--out", tmp_path / "x")
    assert refused.returncode == 2 and "float32 inputs and outputs" in refused.stderr
