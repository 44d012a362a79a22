"""Two things openwakeword's models do that onnx2torch refuses: a log-mel style floor (Clip with min =
ReduceMax(x) - top_db, a "dynamic" bound) and an If choosing between two same-shape heads (its verifier). The
repairs rewrite them as Max/Min and Where, and the onnx2torch route converts with parity on both branches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from tests.helpers import covers, load_json, run_edgex


def floored_log_power(path: Path) -> Path:
    """x -> MatMul (a filterbank) -> Log -> Clip(min=ReduceMax - 4, max=6) -> MatMul -> If(sum(x) > 0: 2 * y,
    else: -y)."""
    rng = np.random.default_rng(3)
    inits = [
        numpy_helper.from_array(np.abs(rng.normal(0, 1, (16, 8))).astype(np.float32), "bank"),
        numpy_helper.from_array(rng.normal(0, 0.3, (8, 3)).astype(np.float32), "head"),
        numpy_helper.from_array(np.array(4.0, dtype=np.float32), "top_db"),
        numpy_helper.from_array(np.array(6.0, dtype=np.float32), "ceiling"),
        numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
    ]
    scores = [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3])]
    two = helper.make_node("Constant", [], ["two"], value=numpy_helper.from_array(np.array(2.0, dtype=np.float32)))
    doubled = helper.make_graph([two, helper.make_node("Mul", ["scores", "two"], ["out"])], "then", [], scores)
    negated = helper.make_graph([helper.make_node("Neg", ["scores"], ["out"])], "else", [], scores)
    nodes = [
        helper.make_node("Mul", ["x", "x"], ["power"]),
        helper.make_node("MatMul", ["power", "bank"], ["mel"]),
        helper.make_node("Log", ["mel"], ["log_mel"]),
        helper.make_node("ReduceMax", ["log_mel"], ["peak"], keepdims=0),
        helper.make_node("Sub", ["peak", "top_db"], ["floor"]),
        helper.make_node("Clip", ["log_mel", "floor", "ceiling"], ["floored"]),
        helper.make_node("MatMul", ["floored", "head"], ["scores"]),
        helper.make_node("ReduceSum", ["x"], ["total"], keepdims=0),
        helper.make_node("Greater", ["total", "zero"], ["positive"]),
        helper.make_node("If", ["positive"], ["y"], then_branch=doubled, else_branch=negated),
    ]
    graph = helper.make_graph(
        nodes,
        "floored",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@covers("onnx2torch", "torchscript-lite")
def test_computed_clip_bounds_and_if_are_repaired_for_onnx2torch(tmp_path: Path) -> None:
    model = floored_log_power(tmp_path / "floored.onnx")
    # Loud and quiet frames, so the floor clips some bands and the ceiling others; both If branches are taken.
    frames = np.random.default_rng(4).normal(0, 1, (24, 16)) * np.geomspace(0.05, 20, 24)[:, None]
    assert 0 < (frames.sum(axis=1) > 0).sum() < len(frames)
    np.save(tmp_path / "x.npy", frames.astype(np.float32))
    report = tmp_path / "r.json"
    result = run_edgex(
        "export", model, "--to", "pytorch-lite", "--validate", tmp_path / "x.npy", "--out", tmp_path / "dist",
        "--runs", "0", "--report-json", report,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    row = load_json(report)["rows"][0]
    text = str(row)
    assert "1 Clip node(s) with computed bounds as Max/Min" in text
    assert "1 If node(s) with same-shape branches computed both ways, picked by Where" in text
    assert all(c["passed"] for c in row["parity"]["checks"])
