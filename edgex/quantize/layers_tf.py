"""Keras -> TFLite layer debugging, run in the TensorFlow worker.

The float side is the Keras model itself (every layer's output, by layer name); the quantized side is the
artifact run with all intermediate tensors kept (no delegate, so none are fused away). TFLite keeps the Keras
layer names inside its tensor names ('model_1/dense_2_1/MatMul;...'), so each operator is mapped to the layer it
came from, and a layer's output is the output of its last operator. The same mapping names the tensors that
`-q auto` keeps in float (QuantizationDebugger's denylisted_nodes).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from edgex.errors import UsageError
from edgex.quantize.layers import LayerResult, measure, quantized_range, with_added_error
from edgex.sources import SourceRef


def _layer_of(tensor_names: list[str], layers: list[str]) -> str | None:
    """The Keras layer a TFLite operator came from: a path component equal to the layer name, or to the name with
    the '_1' suffix that tracing adds."""
    known = set(layers)
    for tensor_name in tensor_names:
        for fused in tensor_name.split(";"):
            for part in fused.split("/"):
                if part in known:
                    return part
                base = re.sub(r"_\d+$", "", part)
                if base in known:
                    return base
    return None


def op_layers(interpreter: Any, layers: list[str]) -> list[tuple[str, int, str]]:
    """(layer, output tensor index, output tensor name) of every operator that came from a Keras layer, in
    execution order. Operators are named by their output tensor or, for a model's last operator whose output is
    renamed, by their constant inputs (the layer's weights)."""
    details = {d["index"]: d["name"] for d in interpreter.get_tensor_details()}
    ops = interpreter._get_ops_details()  # the only way to read the operator list
    produced = {int(t) for op in ops for t in op["outputs"]}
    graph_inputs = {d["index"] for d in interpreter.get_input_details()}
    found = []
    for op in ops:
        outputs = [int(t) for t in op["outputs"]]
        if len(outputs) != 1 or op["op_name"] in ("DELEGATE", "QUANTIZE", "DEQUANTIZE"):
            continue
        constants = [int(t) for t in op["inputs"] if int(t) >= 0 and int(t) not in produced | graph_inputs]
        layer = _layer_of([details[outputs[0]]], layers) or _layer_of([details[t] for t in constants], layers)
        if layer is not None:
            found.append((layer, outputs[0], details[outputs[0]]))
    return found


def keras_layer_names(model: Any) -> list[str]:
    return [layer.name for layer in model.layers if type(layer).__name__ != "InputLayer"]


def compare_layers(
    source: SourceRef, artifact: Path, calibration: dict[str, np.ndarray] | None, samples: dict[str, np.ndarray]
) -> list[LayerResult]:
    """Every Keras layer's output in the float model and in the TFLite artifact, in the artifact's order (the
    artifact holds its own calibration: `calibration` is not needed)."""
    del calibration
    import keras
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from edgex.sources.tf_common import load_keras

    if source.format != "keras":
        raise UsageError(
            f"layer debugging of TFLite needs the Keras model (layer names and outputs), not a {source.format}",
            hint="pass the .keras file the artifact was made from",
        )
    model = load_keras(source.file)
    names = keras_layer_names(model)
    single = [name for name in names if not isinstance(model.get_layer(name).output, list | tuple | dict)]
    probe = keras.Model(model.inputs, [model.get_layer(name).output for name in single])
    arrays = list(samples.values())  # in the Keras model's input order (the reference signature's)
    predicted = probe.predict(arrays if len(arrays) > 1 else arrays[0], verbose=0)
    float_outputs = dict(zip(single, predicted if len(single) > 1 else [predicted], strict=True))

    interpreter = Interpreter(
        model_path=str(artifact),
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        experimental_preserve_all_tensors=True,
    )
    interpreter.allocate_tensors()
    last_op: dict[str, int] = {}
    for layer, index, _ in op_layers(interpreter, single):
        last_op.pop(layer, None)
        last_op[layer] = index  # a layer's output is its last operator's; dict order: execution order
    inputs = interpreter.get_input_details()
    feeds = [_input_array(detail["name"], samples, position) for position, detail in enumerate(inputs)]
    collected: dict[str, list[np.ndarray]] = {layer: [] for layer in last_op}
    for sample in range(len(arrays[0])):
        for detail, values in zip(inputs, feeds, strict=True):
            interpreter.set_tensor(detail["index"], _quantized(values[sample : sample + 1], detail))
        interpreter.invoke()
        for layer, index in last_op.items():
            collected[layer].append(_dequantized(interpreter, index))
    results = []
    for layer, index in last_op.items():
        reference = float_outputs[layer]
        quantized = np.concatenate(collected[layer])
        if quantized.size != reference.size:
            continue  # a layer TFLite reshaped (layouts, squeezes): nothing comparable
        results.append(
            measure(layer, type(model.get_layer(layer)).__name__, reference, quantized, _range(interpreter, index))
        )
    return with_added_error(results)


def _input_array(tensor_name: str, samples: dict[str, np.ndarray], position: int) -> np.ndarray:
    """The samples of the Keras input a TFLite input tensor ('serving_default_features:0') stands for."""
    named = [name for name in samples if name in tensor_name]
    return samples[max(named, key=len)] if named else list(samples.values())[position]


def _quantized(values: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    scale, zero_point = detail["quantization"]
    dtype = np.dtype(detail["dtype"])
    if scale and np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        quantized: np.ndarray = np.clip(np.round(values / scale) + zero_point, info.min, info.max).astype(dtype)
        return quantized
    return values.astype(dtype)


def _range(interpreter: Any, index: int) -> tuple[float, float] | None:
    """The float range an int8 tensor represents; None for float tensors (a layer kept in float)."""
    detail = interpreter._get_tensor_details(index, 0)
    scale, zero_point = detail["quantization"]
    dtype = np.dtype(detail["dtype"])
    if not scale or not np.issubdtype(dtype, np.integer):
        return None
    info = np.iinfo(dtype)
    return quantized_range(scale, zero_point, int(info.min), int(info.max))


def _dequantized(interpreter: Any, index: int) -> np.ndarray:
    detail = interpreter._get_tensor_details(index, 0)  # per-tensor quantization parameters
    value: np.ndarray = interpreter.get_tensor(index).astype(np.float32)
    scale, zero_point = detail["quantization"]
    return (value - zero_point) * scale if scale else value
