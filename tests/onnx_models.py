"""Small ONNX models built with onnx.helper that reproduce what breaks converters on models exported by other
tools: initializers listed as graph inputs, a symbolic batch, run-time shape arithmetic before a Reshape, and node
names TensorFlow rejects as scope names. Weights are seeded; inputs are the digits images (NCHW, 1x8x8)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def digits_nchw(count: int, offset: int = 0) -> np.ndarray:
    """scikit-learn's digits as float32 NCHW [count, 1, 8, 8] in [0, 1]."""
    from sklearn.datasets import load_digits

    images = load_digits().images[offset : offset + count].astype(np.float32) / 16.0
    return images[:, None, :, :]


def wild_cnn(
    path: Path,
    *,
    initializers_as_inputs: bool = True,
    symbolic_batch: bool = True,
    shape_arithmetic: bool = True,
    bad_names: bool = True,
    opset: int = 13,
    channels: int = 1,
) -> Path:
    """Conv -> Relu -> (Shape/Gather/Concat) Reshape -> MatMul -> Add -> Softmax, as an older exporter writes it."""
    rng = np.random.default_rng(0)
    weights = {
        "conv2d_0.w_0": rng.normal(0, 0.5, (4, channels, 3, 3)).astype(np.float32),
        "conv2d_0.b_0": rng.normal(0, 0.1, (4,)).astype(np.float32),
        "fc_0.w_0": rng.normal(0, 0.2, (144, 10)).astype(np.float32),
        "fc_0.b_0": rng.normal(0, 0.1, (10,)).astype(np.float32),
    }
    batch = "N" if symbolic_batch else 1
    nodes = [
        helper.make_node("Conv", ["x", "conv2d_0.w_0", "conv2d_0.b_0"], ["conv_out"], name="conv2d_0"),
        helper.make_node("Relu", ["conv_out"], ["relu_out"], name="relu@0" if bad_names else "relu_0"),
    ]
    initializers = [numpy_helper.from_array(value, name) for name, value in weights.items()]
    if shape_arithmetic:  # x.view(x.size(0), -1) as torch.onnx writes it
        initializers += [
            numpy_helper.from_array(np.array(0, dtype=np.int64), "zero"),
            numpy_helper.from_array(np.array([-1], dtype=np.int64), "minus_one"),
            numpy_helper.from_array(np.array([0], dtype=np.int64), "axes0"),
        ]
        nodes += [
            helper.make_node("Shape", ["relu_out"], ["shape"], name="shape_0"),
            helper.make_node("Gather", ["shape", "zero"], ["batch"], name="gather_0", axis=0),
            helper.make_node("Unsqueeze", ["batch", "axes0"], ["batch_1d"], name="unsqueeze_0"),
            helper.make_node("Concat", ["batch_1d", "minus_one"], ["flat_shape"], name="concat_0", axis=0),
        ]
    else:
        initializers.append(numpy_helper.from_array(np.array([-1, 144], dtype=np.int64), "flat_shape"))
    nodes += [
        helper.make_node("Reshape", ["relu_out", "flat_shape"], ["flat"], name="flatten_0"),
        helper.make_node("MatMul", ["flat", "fc_0.w_0"], ["logits_0"], name="fc_0.matmul"),
        helper.make_node("Add", ["logits_0", "fc_0.b_0"], ["logits"], name="fc_0.add"),
        helper.make_node("Softmax", ["logits"], ["probs"], name="Softmax@0" if bad_names else "softmax_0", axis=1),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, channels, 8, 8])]
    if initializers_as_inputs:
        inputs += [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in initializers]
    graph = helper.make_graph(
        nodes, "wild_cnn", inputs, [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [batch, 10])],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="paddle2onnx")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def matmul_4d(path: Path, *, channels: int = 1, size: int = 8) -> Path:
    """A kept-NCHW input whose activations meet a MatMul over the last (W) axis: onnx2tf's own integer path
    calibrated it in the wrong layout (it crashed for 1 channel and was miscalibrated for H = W = C)."""
    rng = np.random.default_rng(1)
    weights = {
        "conv.w": rng.normal(0, 0.5, (4, channels, 3, 3)).astype(np.float32),
        "conv.b": np.zeros(4, np.float32),
        "mix.w": rng.normal(0, 0.3, (size, 32)).astype(np.float32),
        "fc.w": rng.normal(0, 0.1, (4 * size * 32, 10)).astype(np.float32),
        "flat_shape": np.array([1, -1], np.int64),
    }
    nodes = [
        helper.make_node("Conv", ["x", "conv.w", "conv.b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("MatMul", ["r", "mix.w"], ["m"], name="mix"),
        helper.make_node("Reshape", ["m", "flat_shape"], ["f"], name="flatten"),
        helper.make_node("MatMul", ["f", "fc.w"], ["logits"], name="fc"),
        helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "matmul_4d", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, size, size])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 10])],
        initializer=[numpy_helper.from_array(value, name) for name, value in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def textured_images(count: int, channels: int, size: int, seed: int) -> np.ndarray:
    """Smooth gradients with a bright blob per image (structure, not noise), NCHW float32 in [0, 1]."""
    rng = np.random.default_rng(seed)
    axis = np.linspace(0.0, 1.0, size, dtype=np.float32)
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    images = np.empty((count, channels, size, size), np.float32)
    for index in range(count):
        cy, cx = rng.random(2)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 0.05)
        for channel in range(channels):
            angle = rng.random() * np.pi
            images[index, channel] = 0.5 * (np.cos(angle) * xx + np.sin(angle) * yy) + 0.5 * blob
    return np.clip(images, 0.0, 1.0)


def audio_frontend(path: Path) -> Path:
    """A basic-pitch-like audio front-end as TensorFlow exporters write it: reflect Pad on a 3-D signal, a Slice and
    a Resize with constant operands, node names joined with ';' (onnx2torch read those operands at run time and
    torch.export refused them; torch's reflect pad refused onnx2torch's padding of the batch axis)."""
    rng = np.random.default_rng(2)
    weights = {
        "pads": np.array([0, 0, 8, 0, 0, 8], np.int64),
        "kernel": rng.normal(0, 0.3, (4, 1, 16)).astype(np.float32),
        "starts": np.array([2], np.int64),
        "ends": np.array([-2], np.int64),
        "axes": np.array([2], np.int64),
        "scales": np.array([1.0, 1.0, 2.0], np.float32),
        "fc": rng.normal(0, 0.1, (4 * 2 * 61, 6)).astype(np.float32),
        "flat": np.array([-1, 4 * 2 * 61], np.int64),
    }
    nodes = [
        helper.make_node("Pad", ["x", "pads"], ["padded"], name="model_1/cq;model_1/cq/MirrorPad", mode="reflect"),
        helper.make_node("Conv", ["padded", "kernel"], ["conv"], name="model_1/conv1d;model_1/conv1d", strides=[4]),
        helper.make_node("Slice", ["conv", "starts", "ends", "axes"], ["sliced"], name="model_1/crop,0"),
        helper.make_node("Resize", ["sliced", "", "scales"], ["up"], name="model_1/up;0", mode="nearest"),
        helper.make_node("Reshape", ["up", "flat"], ["f"], name="flatten"),
        helper.make_node("MatMul", ["f", "fc"], ["notes"], name="notes"),
    ]
    graph = helper.make_graph(
        nodes, "audio_frontend", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 256])],
        [helper.make_tensor_value_info("notes", TensorProto.FLOAT, ["N", 6])],
        initializer=[numpy_helper.from_array(value, name) for name, value in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def chirps(count: int, length: int, seed: int) -> np.ndarray:
    """Frequency sweeps with an amplitude envelope: audio-like [count, 1, length] float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype=np.float32) / 8000.0
    start = rng.uniform(100, 800, (count, 1))
    sweep = rng.uniform(200, 1500, (count, 1))
    phase = 2 * np.pi * (start * t + 0.5 * sweep * t**2 / t[-1])
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(2, 6, (count, 1)) * t)
    return (envelope * np.sin(phase)).astype(np.float32)[:, None, :]


def rate_switch(path: Path) -> Path:
    """A streaming model's shape: y = (x * 2 if rate == 16000 else x + 1) + sum(state over its 2 layers), and the
    state decayed; `rate` is a 0-d int64 input branched on by an If (as silero-vad's sr), `state` is batched on
    axis 1, (2, batch, 4)."""
    then_branch = helper.make_graph(
        [helper.make_node("Mul", ["x", "two"], ["then_y"])], "then", [],
        [helper.make_tensor_value_info("then_y", TensorProto.FLOAT, None)],
    )
    else_branch = helper.make_graph(
        [helper.make_node("Add", ["x", "one"], ["else_y"])], "else", [],
        [helper.make_tensor_value_info("else_y", TensorProto.FLOAT, None)],
    )
    nodes = [
        helper.make_node("Equal", ["rate", "rate_16k"], ["is_16k"]),
        helper.make_node("If", ["is_16k"], ["branch"], then_branch=then_branch, else_branch=else_branch),
        helper.make_node("ReduceSum", ["state", "axis0"], ["state_sum"], keepdims=0),
        helper.make_node("Add", ["branch", "state_sum"], ["y"]),
        helper.make_node("Mul", ["state", "half"], ["state_out"]),
    ]
    initializers = [
        numpy_helper.from_array(np.array(16000, dtype=np.int64), "rate_16k"),
        numpy_helper.from_array(np.array(2.0, dtype=np.float32), "two"),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
        numpy_helper.from_array(np.array(0.5, dtype=np.float32), "half"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "axis0"),
    ]
    graph = helper.make_graph(
        nodes,
        "rate_switch",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4]),
            helper.make_tensor_value_info("state", TensorProto.FLOAT, [2, "N", 4]),
            helper.make_tensor_value_info("rate", TensorProto.INT64, []),
        ],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4]),
            helper.make_tensor_value_info("state_out", TensorProto.FLOAT, [2, "N", 4]),
        ],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def lstm_errors(folder: str) -> dict[str, float]:
    """Max abs error of onnx2torch (with edgex's LSTM converter) against onnxruntime on small LSTMs exported with
    torch.onnx: forward with initial states, bidirectional without. Runs in a torch worker."""
    import onnxruntime as ort
    import torch

    from edgex.exporters.torch_from_onnx import _import_onnx2torch, _normalised

    onnx2torch = _import_onnx2torch()
    torch.manual_seed(0)
    errors = {}
    for name, bidirectional, with_state in (("forward", False, True), ("bidirectional", True, False)):
        directions = 2 if bidirectional else 1
        inputs = {"x": torch.randn(5, 3, 8)}
        if with_state:
            inputs |= {"h": torch.randn(directions, 3, 16), "c": torch.randn(directions, 3, 16)}

        class Net(torch.nn.Module):
            def __init__(self, bidirectional: bool) -> None:
                super().__init__()
                self.lstm = torch.nn.LSTM(8, 16, bidirectional=bidirectional)

            def forward(self, x: torch.Tensor, *state: torch.Tensor) -> tuple[torch.Tensor, ...]:
                y, (h, c) = self.lstm(x, tuple(state) or None)
                return y, h, c

        path = Path(folder) / f"{name}.onnx"
        torch.onnx.export(Net(bidirectional).eval(), tuple(inputs.values()), str(path), input_names=list(inputs),
                          dynamo=False, opset_version=17)
        model = onnx.load(str(path))
        assert "LSTM" in {node.op_type for node in model.graph.node}
        expected = ort.InferenceSession(str(path)).run(None, {k: v.numpy() for k, v in inputs.items()})
        with torch.no_grad():
            got = onnx2torch.convert(_normalised(model)).eval()(*inputs.values())
        errors[name] = max(float(np.abs(e - g.numpy()).max()) for e, g in zip(expected, got, strict=True))
    return errors


def scripted_gain(path: str) -> str:
    """A TorchScript program whose forward takes a Python int: forward(x, gain: int), with control flow on it
    (as silero-vad's forward(x, sr: int)). Runs in a torch worker."""
    import torch

    class Gain(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 3)

        def forward(self, x: torch.Tensor, gain: int) -> torch.Tensor:
            if gain > 2:
                return torch.tanh(self.linear(x)) * gain
            return self.linear(x) + gain

    torch.manual_seed(0)
    torch.jit.save(torch.jit.script(Gain().eval()), path)
    return path
