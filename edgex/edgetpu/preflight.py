"""Predict, op by op, what `edgetpu_compiler` will map, from the .tflite flatbuffer alone (no compiler, no framework).

Rules (https://coral.ai/docs/edgetpu/models-intro/): full int8/uint8 quantization, static shapes, constant
filters/biases/params, tensors with only the 3 innermost dimensions > 1, ops from the supported list within their
limitations and runtime versions, op versions the compiler 16.0 parser knows, and one Edge TPU partition: the
compiler stops at the first op it cannot map and leaves every later op on the CPU.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgex.edgetpu.ops import (
    BIAS_DTYPES,
    COMPILER_VERSION,
    DEFAULT_MIN_RUNTIME,
    EDGETPU_DTYPES,
    MAPPED,
    MAX_PARSER_VERSION,
    NOT_CONSTANT,
    NOT_SUPPORTED,
    ON_CHIP_PARAMETER_BYTES,
    RULES,
    SUBGRAPH,
    UNSPECIFIED,
    UNSUPPORTED_RANK,
    UNSUPPORTED_TYPE,
    VERSION_CAUSES,
    OpRule,
    OpView,
)
from edgex.edgetpu.parser import format_bytes
from edgex.inspection.tflite import TFLiteModel, TFLiteOp, read_tflite, schema
from edgex.results import ReportSection

CUSTOM_OP = "edgetpu-custom-op"
COMPILE_FAILS = "compilation fails"
INTEGER_PARAM_DTYPES = EDGETPU_DTYPES | BIAS_DTYPES | {"int16", "int64"}
_NUMPY_TYPES = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "int32": np.int32, "int64": np.int64}


@dataclass
class OpPrediction:
    index: int  # position in the graph's execution order
    op: str
    version: int
    on_tpu: bool
    status: str  # in the compiler's words (ops.MAPPED, ops.SUBGRAPH, ...)
    reason: str = ""  # why it stays on the CPU, or a caveat for a mapped op


@dataclass
class Preflight:
    model: str
    min_runtime: int
    compiler: str
    ops: list[OpPrediction]
    blockers: list[str]  # model-level problems: the compiler itself will fail
    parameter_bytes: int  # constants of the ops predicted on the Edge TPU
    split_index: int | None = None  # the first op that cannot map: it and every later op run on the CPU
    notes: list[str] = field(default_factory=list)

    @property
    def tpu_ops(self) -> int:
        return sum(1 for op in self.ops if op.on_tpu)

    @property
    def percent(self) -> float | None:
        return 100.0 * self.tpu_ops / len(self.ops) if self.ops else None

    @property
    def first_fallback(self) -> OpPrediction | None:
        return None if self.split_index is None else self.ops[self.split_index]

    @property
    def falls_back(self) -> bool:
        """Something will not run on the Edge TPU (what --strict fails on)."""
        return bool(self.blockers) or self.tpu_ops < len(self.ops)

    def summary(self) -> str:
        if self.blockers:
            return f"compilation will fail: {self.blockers[0]}"
        if not self.ops:
            return "the model has no operators"
        text = f"{self.tpu_ops}/{len(self.ops)} ops predicted on the Edge TPU ({self.percent:.1f}%)"
        first = self.first_fallback
        if first is not None:
            text += f"; from op #{first.index} ({first.op}) on, the rest runs on the CPU"
        return text

    def as_dict(self) -> dict[str, Any]:
        first = self.first_fallback
        return {
            "model": self.model,
            "compiler_rules": self.compiler,
            "min_runtime": self.min_runtime,
            "total_ops": len(self.ops),
            "tpu_ops": self.tpu_ops,
            "cpu_ops": len(self.ops) - self.tpu_ops,
            "percent_on_tpu": self.percent,
            "compiles": not self.blockers,
            "blockers": self.blockers,
            "first_fallback": None if first is None else {"index": first.index, "op": first.op, "why": first.reason},
            "parameter_bytes": self.parameter_bytes,
            "on_chip_parameter_bytes": ON_CHIP_PARAMETER_BYTES,
            "ops": [vars(op) for op in self.ops],
            "notes": self.notes,
        }

    def section(self) -> ReportSection:
        rows = [
            [str(op.index), f"{op.op} v{op.version}", "Edge TPU" if op.on_tpu else "CPU", op.reason or "-"]
            for op in self.ops
        ]
        return ReportSection(
            title=f"Edge TPU pre-flight (compiler {self.compiler} rules, runtime {self.min_runtime})",
            headers=["#", "operator", "predicted", "why"],
            rows=rows,
            notes=[self.summary(), *self.notes],
        )


class ConstantReader:
    """Values of small constant tensors (axes, paddings, strides) read straight from the flatbuffer."""

    def __init__(self, path: Path) -> None:
        self._data = path.read_bytes()
        self._graph = schema().Model.GetRootAs(self._data, 0)
        self._subgraph = self._graph.Subgraphs(0)

    def __call__(self, index: int) -> np.ndarray | None:
        tensor = self._subgraph.Tensors(index)
        buffer = self._graph.Buffers(tensor.Buffer())
        dtype = _NUMPY_TYPES.get(_type_name(tensor.Type()))
        if buffer is None or dtype is None:
            return None
        if buffer.Offset() > 1:  # weights stored after the flatbuffer (models over 2 GB)
            raw = self._data[buffer.Offset() : buffer.Offset() + buffer.Size()]
        else:
            raw = buffer.DataAsNumpy().tobytes() if buffer.DataLength() else b""
        values = np.frombuffer(raw, dtype=dtype)
        shape = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
        return values.reshape(shape) if values.size == int(np.prod(shape, dtype=np.int64)) else values


@functools.cache
def _type_name(code: int) -> str:
    names: dict[int, str] = {
        value: name for name, value in vars(schema().TensorType).items() if not name.startswith("_")
    }
    return names.get(code, "").lower()


def check_model(path: Path, min_runtime: int = DEFAULT_MIN_RUNTIME) -> Preflight:
    """The pre-flight report for one .tflite file."""
    model = read_tflite(path)
    constants = ConstantReader(path)
    blockers = _blockers(model)
    split_index: int | None = 0 if model.ops else None
    if blockers:
        culprits = {name: message for message, name in reversed(blockers) if name}
        fallback = "not compiled: the compiler rejects the whole model"
        predictions = [
            OpPrediction(op.index, op.name, op.version, False, COMPILE_FAILS, culprits.get(op.name, fallback))
            for op in model.ops
        ]
    else:
        predictions, split_index = _walk(model, constants, min_runtime)
    on_tpu = {op.index for op in predictions if op.on_tpu}
    parameters = {
        t for op in model.ops if op.index in on_tpu for t in op.inputs if t >= 0 and model.tensors[t].constant
    }
    parameter_bytes = sum(model.tensors[t].buffer_bytes for t in parameters)
    notes = []
    if parameter_bytes > ON_CHIP_PARAMETER_BYTES:
        notes.append(
            f"parameters of the mapped ops take {format_bytes(parameter_bytes)}, more than the ~8 MiB on-chip cache: "
            f"about {format_bytes(parameter_bytes - ON_CHIP_PARAMETER_BYTES)} will stream from host memory "
            "on every inference (slower)"
        )
    elif predictions and not blockers:
        notes.append(f"parameters on the Edge TPU: {format_bytes(parameter_bytes)} of the ~8 MiB on-chip cache")
    messages = [message for message, _ in blockers]
    return Preflight(
        str(path), min_runtime, COMPILER_VERSION, predictions, messages, parameter_bytes, split_index, notes
    )


def _blockers(model: TFLiteModel) -> list[tuple[str, str | None]]:
    """(problem, operator it is about) for what makes the compiler reject the whole model, in its order."""
    problems: list[tuple[str, str | None]] = []
    if any(op.name == CUSTOM_OP for op in model.ops):
        problems.append((f"the model is already compiled for the Edge TPU (it contains {CUSTOM_OP})", CUSTOM_OP))
    for name, version in model.op_versions().items():
        if any(op.name == name and op.custom for op in model.ops):
            continue
        newest = MAX_PARSER_VERSION.get(name)
        if newest is None:
            problems.append((f"{name} is newer than the compiler {COMPILER_VERSION} parser (no version exists)", name))
        elif version > newest:
            message = (
                f"Didn't find op for builtin opcode '{name}' version '{version}' "
                f"(compiler {COMPILER_VERSION} parses up to version {newest})"
            )
            cause = VERSION_CAUSES.get((name, version))
            message += f"; version {version} comes from {cause}" if cause else ""
            problems.append((message, name))
    activations = model.compute_tensors() or model.activation_tensors()
    floats = [t for t in activations if t.dtype.startswith("float")]
    if floats:
        message = f"Model not quantized (tensor '{floats[0].name}' is {floats[0].dtype}): the Edge TPU needs int8/uint8"
        problems.append((message, None))
    dynamic = next((t for t in model.tensors if t.dynamic), None)
    if dynamic is not None:
        message = (
            f"dynamic-sized tensors (tensor '{dynamic.name}' has shape {list(dynamic.shape_signature)}): "
            "the compiler needs static shapes"
        )
        problems.append((message, None))
    return problems


def _walk(model: TFLiteModel, constants: ConstantReader, min_runtime: int) -> tuple[list[OpPrediction], int | None]:
    """Predictions in execution order, and where the single Edge TPU partition ends (None: it never does)."""
    predictions: list[OpPrediction] = []
    first_cpu: OpPrediction | None = None
    graph_inputs = set(model.inputs)
    for op in model.ops:
        if first_cpu is not None:
            why = f"after op #{first_cpu.index} ({first_cpu.op}) the rest runs on the CPU"
            predictions.append(OpPrediction(op.index, op.name, op.version, False, SUBGRAPH, why))
            continue
        status, reason = _evaluate(OpView(model, op, constants), min_runtime)
        prediction = OpPrediction(op.index, op.name, op.version, status == MAPPED, status, reason)
        predictions.append(prediction)
        if status != MAPPED and not _leading_quantize(op, graph_inputs):
            first_cpu = prediction
    return predictions, None if first_cpu is None else first_cpu.index


def _leading_quantize(op: TFLiteOp, graph_inputs: set[int]) -> bool:
    """A QUANTIZE fed by a model input stays on the CPU in front of the Edge TPU graph without splitting it."""
    return op.name == "QUANTIZE" and all(i in graph_inputs for i in op.inputs if i >= 0)


def _evaluate(view: OpView, min_runtime: int) -> tuple[str, str]:
    op = view.op
    if op.custom:
        return NOT_SUPPORTED, f"custom op '{op.name}' runs on the CPU"
    rule: OpRule | None = RULES.get(op.name)
    if rule is None:
        return NOT_SUPPORTED, f"{op.name} is not in the Edge TPU's supported operations"
    if min_runtime < rule.min_runtime:
        return NOT_SUPPORTED, (
            f"{rule.doc_name} needs Edge TPU runtime >= {rule.min_runtime} (compiling for {min_runtime})"
        )
    for tensor in view.activations:
        if tensor.dtype not in EDGETPU_DTYPES:
            return UNSUPPORTED_TYPE, f"tensor '{tensor.name}' is {tensor.dtype} (the Edge TPU computes in int8/uint8)"
    for tensor in view.constant_inputs:
        if tensor.dtype not in INTEGER_PARAM_DTYPES:
            return UNSUPPORTED_TYPE, f"constant '{tensor.name}' is {tensor.dtype}"
    for tensor in view.activations:
        if len(tensor.shape) > 3 and any(d > 1 for d in tensor.shape[:-3]):
            return UNSUPPORTED_RANK, (
                f"tensor '{tensor.name}' {list(tensor.shape)}: only the 3 innermost dimensions may be > 1"
            )
    for position in rule.constant_inputs:
        operand = view.input(position)
        if operand is not None and not operand.constant:
            return NOT_CONSTANT, f"input {position} ('{operand.name}') is computed at run time, not a constant"
    limitation = rule.check(view, min_runtime) if rule.check else None
    if limitation:
        return UNSPECIFIED, f"{rule.doc_name} {limitation}"
    return MAPPED, rule.caveat
