"""Failures a user can act on: example inputs from --data, full converter tracebacks under --debug, parity
notes that name their output."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.helpers import assert_one_line_error, load_json, run_edgex
from tests.onnx_models import digits_nchw

NO_EXAMPLES = """
import torch


def build():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10), torch.nn.Softmax(dim=1)).eval()
"""

DATA_DEPENDENT = """
import torch


class Branchy(torch.nn.Module):
    def forward(self, x):
        if x.sum() > 0:  # data-dependent control flow: torch.export refuses it
            return x * 2
        return x


def build():
    return Branchy(), (torch.ones(1, 4),)
"""


def test_validate_takes_example_inputs_from_the_data(tmp_path: Path) -> None:
    """Before: 'model factory ... gives no example inputs; pass --input-shape' although --data has the shapes."""
    (tmp_path / "net.py").write_text(NO_EXAMPLES)
    np.save(tmp_path / "val.npy", digits_nchw(100))
    factory = f"{tmp_path / 'net.py'}:build"
    exported = run_edgex("export", factory, "--to", "executorch", "--input-shape", "1x1x8x8", "--out", tmp_path,
                         "--runs", "0")
    assert exported.returncode == 0, exported.stdout + exported.stderr
    report = tmp_path / "v.json"
    result = run_edgex("validate", factory, tmp_path / "net_xnnpack_fp32.pte", "--data", tmp_path / "val.npy",
                       "--runs", "0", "--report-json", report)
    assert result.returncode == 0, result.stdout + result.stderr
    assert load_json(report)["rows"][0]["parity"]["samples"] == 100


def test_debug_prints_the_converters_full_traceback(tmp_path: Path) -> None:
    (tmp_path / "branchy.py").write_text(DATA_DEPENDENT)
    factory = f"{tmp_path / 'branchy.py'}:build"
    # The direct route (fallbacks through ONNX would convert it: the scripted export keeps the branch as a Where)
    direct = ("--to", "executorch", "--route", "torch>pte", "--runs", "0")
    plain = run_edgex("export", factory, *direct, "--out", tmp_path / "a")
    assert plain.returncode == 3 and "torch.export failed" in plain.stdout and "Traceback" not in plain.stderr
    debug = run_edgex("export", factory, *direct, "--out", tmp_path / "b", "--debug")
    assert debug.returncode == 3
    assert "--- executorch-xnnpack none ---" in debug.stderr and "Traceback (most recent call last)" in debug.stderr
    assert "torch/export" in debug.stderr  # the framework's own frames, not only edgex's


def test_parity_notes_name_their_output(tmp_path: Path) -> None:
    """Before: 'cosine 0.97 < 0.99 (FAILED)' with several outputs left the reader guessing (rich ate '[name]')."""
    result = run_edgex("export", "demo", "--to", "tflite", "--out", tmp_path, "--runs", "0", "--min-cosine", "1.5")
    assert result.returncode == 1
    assert "cosine[probs] 1 < 1.5 (FAILED)" in result.stdout  # the demo's output is named probs


def test_scalar_input_is_bad_input_not_an_internal_error(tmp_path: Path) -> None:
    """silero-vad's ONNX export takes the sample rate as a rank-0 input; edgex said 'internal error' (exit 70).
    A 0-d array in the data is a constant input now (tests/test_const_inputs.py); one rate per sample is not."""
    import onnx
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Cast", ["sr"], ["srf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["x", "srf"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "scaled", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4]),
                          helper.make_tensor_value_info("sr", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "scaled.onnx"))
    np.savez(tmp_path / "val.npz", x=np.ones((3, 4), np.float32), sr=np.full(3, 16000, np.int64))
    result = run_edgex("export", tmp_path / "scaled.onnx", "--to", "tflite", "--validate", tmp_path / "val.npz",
                       "--out", tmp_path / "out", "--runs", "0")
    assert_one_line_error(result, 2, "input 'sr' is a scalar", "--const-input sr=VALUE")


SCRIPTED_INSIDE = """
import torch


class Stateful(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("state", torch.zeros(1, 4))

    @torch.jit.export
    def reset_states(self) -> None:
        self.state = torch.zeros(1, 4)

    def forward(self, x):
        return torch.tanh(x * 2 + self.state)


class Wrapper(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = torch.jit.script(Stateful())

    def forward(self, x):
        self.inner.reset_states()
        return self.inner(x)


def build():
    return Wrapper().eval(), (torch.ones(1, 4),)
"""


def test_ptl_scripts_what_cannot_be_traced(tmp_path: Path) -> None:
    """A wrapper around a TorchScript model whose method returns None (silero-vad's reset_states): tracing fails
    ('Tracer cannot set value trace for type None'), scripting works."""
    (tmp_path / "wrapped.py").write_text(SCRIPTED_INSIDE)
    np.save(tmp_path / "val.npy", np.random.default_rng(0).random((10, 4), dtype=np.float32))
    report = tmp_path / "r.json"
    result = run_edgex("export", f"{tmp_path / 'wrapped.py'}:build", "--to", "pytorch-lite", "--validate",
                       tmp_path / "val.npy", "--out", tmp_path, "--runs", "0", "--report-json", report)
    assert result.returncode == 0, result.stdout + result.stderr
    row = load_json(report)["rows"][0]
    assert any(note.startswith("scripted (tracing failed") for note in row["notes"])
    assert row["parity"]["outputs"][0]["max_abs_error"] < 1e-6
