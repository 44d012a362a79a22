"""What the Edge TPU compiler maps, as published, encoded as data plus one check per documented limitation.

Sources (read 2026-11):
- Supported operations and model requirements: https://coral.ai/docs/edgetpu/models-intro/#supported-operations
  (the same table, for the Edge TPU inside Axis ARTPEC-7 cameras:
  https://developer.axis.com/computer-vision/on-device/system-on-chip/artpec-7/supported-ops/).
- Compiler flags, runtime versions and output: https://coral.ai/docs/edgetpu/compiler/
- Compiler statuses as printed in real logs, e.g. https://github.com/google-coral/edgetpu/issues/358 (15.0) and
  https://github.com/google-coral/edgetpu/issues/829 (16.0).
- Op versions the 16.0 parser rejects, from user reports with "Edge TPU Compiler version 16.0.384591198":
  CONV_2D v6 (https://github.com/google-coral/edgetpu/issues/631), TRANSPOSE_CONV v4 (issues/845),
  QUANTIZE v3 (issues/879), EXP v2 (https://github.com/google-coral/libedgetpu/issues/71). Each matches the first
  version TensorFlow 2.7+ introduced (tensorflow/lite/tools/versioning/runtime_version.cc), so the parser is the
  TF 2.6 op resolver: MAX_PARSER_VERSION lists the newest version of each builtin registered by TF 2.6.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgex.inspection.tflite import TFLiteModel, TFLiteOp, TFLiteTensor, schema

# The compiler's own status strings (one per row of its operation table).
MAPPED = "Mapped to Edge TPU"
NOT_SUPPORTED = "Operation not supported"
UNSUPPORTED_TYPE = "Operation is working on an unsupported data type"
UNSUPPORTED_RANK = "Tensor has unsupported rank (up to 3 innermost dimensions mapped)"
NOT_CONSTANT = "Filter, bias, or other param is not constant at compile-time"
UNSPECIFIED = "Operation is otherwise supported, but not mapped due to some unspecified limitation"
SUBGRAPH = "More than one subgraph is not supported"
VERSION_NOT_SUPPORTED = "Operation version not supported"

COMPILER_VERSION = "16.0"  # the last release; MAX_PARSER_VERSION describes it
DEFAULT_MIN_RUNTIME = 14  # compiler 16.0 targets Edge TPU runtime 14 unless -m says otherwise
KNOWN_RUNTIMES = range(10, 15)  # runtime versions the compiler's -m accepts (10 ... 14)
ON_CHIP_PARAMETER_BYTES = 8 * 1024 * 1024  # the Edge TPU's ~8 MiB SRAM that caches parameters

EDGETPU_DTYPES = {"int8", "uint8"}
BIAS_DTYPES = {"int32"}

# Newest version of each builtin the 16.0 compiler can parse (TF 2.6 resolver). Builtins missing here (GELU,
# RELU_0_TO_1, BUCKETIZE, ...) are newer than the compiler: any version fails with "Didn't find op for builtin".
MAX_PARSER_VERSION: dict[str, int] = {
    "ABS": 4, "ADD": 4, "ADD_N": 1, "ARG_MAX": 2, "ARG_MIN": 2, "ASSIGN_VARIABLE": 1, "AVERAGE_POOL_2D": 3,
    "BATCH_MATMUL": 4, "BATCH_TO_SPACE_ND": 3, "BIDIRECTIONAL_SEQUENCE_LSTM": 3, "BIDIRECTIONAL_SEQUENCE_RNN": 3,
    "BROADCAST_ARGS": 1, "BROADCAST_TO": 3, "CALL_ONCE": 1, "CAST": 1, "CEIL": 1, "COMPLEX_ABS": 1,
    "CONCATENATION": 3, "CONV_2D": 5, "CONV_3D": 1, "CONV_3D_TRANSPOSE": 1, "COS": 1, "CUMSUM": 1, "DENSIFY": 1,
    "DEPTH_TO_SPACE": 2, "DEPTHWISE_CONV_2D": 6, "DEQUANTIZE": 4, "DIV": 2, "ELU": 1, "EMBEDDING_LOOKUP": 3,
    "EMBEDDING_LOOKUP_SPARSE": 1, "EQUAL": 3, "EXP": 1, "EXPAND_DIMS": 1, "FAKE_QUANT": 2, "FILL": 3, "FLOOR": 1,
    "FLOOR_DIV": 2, "FLOOR_MOD": 1, "FULLY_CONNECTED": 9, "GATHER": 5, "GATHER_ND": 3, "GREATER": 2,
    "GREATER_EQUAL": 2, "HARD_SWISH": 1, "HASHTABLE": 1, "HASHTABLE_FIND": 1, "HASHTABLE_IMPORT": 1,
    "HASHTABLE_LOOKUP": 1, "HASHTABLE_SIZE": 1, "IF": 1, "IMAG": 1, "L2_NORMALIZATION": 2, "L2_POOL_2D": 1,
    "LEAKY_RELU": 2, "LESS": 2, "LESS_EQUAL": 2, "LOCAL_RESPONSE_NORMALIZATION": 1, "LOG": 1, "LOG_SOFTMAX": 2,
    "LOGICAL_AND": 1, "LOGICAL_NOT": 1, "LOGICAL_OR": 1, "LOGISTIC": 3, "LSH_PROJECTION": 1, "LSTM": 4,
    "MATRIX_DIAG": 1, "MATRIX_SET_DIAG": 1, "MAX_POOL_2D": 3, "MAXIMUM": 4, "MEAN": 3, "MINIMUM": 4, "MIRROR_PAD": 2,
    "MUL": 5, "NEG": 1, "NON_MAX_SUPPRESSION_V4": 1, "NON_MAX_SUPPRESSION_V5": 1, "NOT_EQUAL": 3, "ONE_HOT": 1,
    "PACK": 3, "PAD": 4, "PADV2": 4, "POW": 1, "PRELU": 1, "QUANTIZE": 2, "RANGE": 1, "RANK": 1, "READ_VARIABLE": 1,
    "REAL": 1, "REDUCE_ALL": 1, "REDUCE_ANY": 1, "REDUCE_MAX": 3, "REDUCE_MIN": 3, "REDUCE_PROD": 2, "RELU": 3,
    "RELU6": 3, "RELU_N1_TO_1": 1, "RESHAPE": 1, "RESIZE_BILINEAR": 4, "RESIZE_NEAREST_NEIGHBOR": 4,
    "REVERSE_SEQUENCE": 1, "REVERSE_V2": 3, "RFFT2D": 1, "RNN": 3, "ROUND": 1, "RSQRT": 2, "SCATTER_ND": 1,
    "SEGMENT_SUM": 1, "SELECT": 2, "SELECT_V2": 1, "SHAPE": 1, "SIN": 1, "SKIP_GRAM": 1, "SLICE": 5, "SOFTMAX": 3,
    "SPACE_TO_BATCH_ND": 3, "SPACE_TO_DEPTH": 2, "SPARSE_TO_DENSE": 3, "SPLIT": 4, "SPLIT_V": 2, "SQRT": 1,
    "SQUARE": 1, "SQUARED_DIFFERENCE": 2, "SQUEEZE": 2, "STRIDED_SLICE": 6, "SUB": 5, "SUM": 2, "SVDF": 4,
    "TANH": 3, "TILE": 2, "TOPK_V2": 2, "TRANSPOSE": 5, "TRANSPOSE_CONV": 3, "UNIDIRECTIONAL_SEQUENCE_LSTM": 3,
    "UNIDIRECTIONAL_SEQUENCE_RNN": 3, "UNIQUE": 1, "UNPACK": 4, "VAR_HANDLE": 1, "WHERE": 1, "WHILE": 1,
    "ZEROS_LIKE": 1,
}  # fmt: skip


# Why the TFLite converter picks a version the compiler cannot parse (tensorflow/lite/tools/versioning/op_version.cc)
# and what avoids it. TF 2.21 gives plain int8 layers old versions; these come from the model, not from a converter
# setting (the legacy converter that some guides suggest, experimental_new_converter=False, is gone in TF 2.21).
VERSION_CAUSES: dict[tuple[str, int], str] = {
    ("CONV_2D", 6): "a grouped convolution (Conv2D groups > 1): use groups=1, or split it into convolutions and a "
    "concatenation",
    ("TRANSPOSE_CONV", 4): "a fused activation in a transposed convolution: apply the activation as its own layer",
    ("QUANTIZE", 3): "a per-channel QUANTIZE: quantize per tensor",
}


class OpView:
    """One operator with the tensor facts the limitation checks need (shapes, types, constant values)."""

    def __init__(self, model: TFLiteModel, op: TFLiteOp, constants: Callable[[int], np.ndarray | None]) -> None:
        self.model = model
        self.op = op
        self._constants = constants

    def tensor(self, index: int) -> TFLiteTensor:
        return self.model.tensors[index]

    def input(self, position: int) -> TFLiteTensor | None:
        """The op's `position`-th input, None when absent or optional-and-omitted."""
        if position >= len(self.op.inputs) or self.op.inputs[position] < 0:
            return None
        return self.tensor(self.op.inputs[position])

    @property
    def activations(self) -> list[TFLiteTensor]:
        """Non-constant inputs and all outputs: what flows through the Edge TPU."""
        inputs = [self.tensor(i) for i in self.op.inputs if i >= 0 and not self.tensor(i).constant]
        return inputs + [self.tensor(i) for i in self.op.outputs]

    @property
    def constant_inputs(self) -> list[TFLiteTensor]:
        return [self.tensor(i) for i in self.op.inputs if i >= 0 and self.tensor(i).constant]

    def options(self, name: str) -> Any:
        """The builtin options table as its generated class (e.g. 'Conv2DOptions'), or None."""
        if self.op.options_table is None:
            return None
        options = getattr(schema(), name)()
        options.Init(self.op.options_table.Bytes, self.op.options_table.Pos)
        return options

    def values(self, position: int) -> np.ndarray | None:
        """Data of a constant input (axes, paddings, strides, alpha), None when not constant."""
        tensor = self.input(position)
        return None if tensor is None or not tensor.constant else self._constants(tensor.index)

    def batch_axes(self, position: int, rank: int) -> bool:
        """Whether the constant axis list at input `position` names axis 0 (the batch)."""
        axes = self.values(position)
        return axes is not None and any(int(a) % max(rank, 1) == 0 for a in axes.reshape(-1))


def _dims_above_one(shape: tuple[int, ...]) -> int:
    return sum(1 for d in shape if d > 1)


def _no_fused_activation(view: OpView, options: str) -> str | None:
    table = view.options(options)
    if table is not None and table.FusedActivationFunction() != 0:
        return "has a fused activation function (the Edge TPU maps it only without one)"
    return None


def _same_dilation(view: OpView, options: str, allow_dilation: bool = True) -> str | None:
    table = view.options(options)
    if table is None:
        return None
    w, h = table.DilationWFactor(), table.DilationHFactor()
    if not allow_dilation and (w, h) != (1, 1):
        return f"dilation {h}x{w}: runtime <= 12 maps no dilated depthwise kernels"
    if w != h:
        return f"dilation differs in y and x ({h} vs {w})"
    return None


def _fully_connected(view: OpView, _runtime: int) -> str | None:
    table = view.options("FullyConnectedOptions")
    if table is not None and table.WeightsFormat() != 0:
        return "weights are not in the default format"
    output = view.tensor(view.op.outputs[0])
    if _dims_above_one(output.shape) > 1:
        return f"output {list(output.shape)} is not one-dimensional"
    return None


def _concatenation(view: OpView, _runtime: int) -> str | None:
    reason = _no_fused_activation(view, "ConcatenationOptions")
    if reason or not view.constant_inputs:
        return reason
    if len([i for i in view.op.inputs if i >= 0]) != 2:
        return "a constant input is allowed only in a 2-input concatenation (zero padding)"
    for tensor in view.constant_inputs:
        data = view.values(list(view.op.inputs).index(tensor.index))
        zero_point = tensor.quant.zero_points[0] if tensor.quant and tensor.quant.zero_points else 0
        if data is not None and np.any(data != zero_point):
            return "its constant input is not all zeros"
    return None


def _reduction(view: OpView, runtime: int) -> str | None:
    """Mean / Sum: no batch reduction; runtime <= 12: x/y only; 13+: a z-reduction needs z % 4 == 0."""
    source = view.input(0)
    axes = view.values(1)
    if source is None or axes is None:
        return None
    rank = len(source.shape)
    normalized = {int(a) % rank for a in axes.reshape(-1)} if rank else set()
    if 0 in normalized and rank > 1:
        return "reduces the batch dimension"
    z_axis = rank - 1
    if runtime <= 12 and rank == 4 and not normalized <= {1, 2}:
        return "runtime <= 12 reduces along x and y only"
    if z_axis in normalized and rank >= 3 and source.shape[z_axis] % 4:
        return f"z-reduction over {source.shape[z_axis]} channels (must be a multiple of 4)"
    return None


def _no_batch_axis(view: OpView, _runtime: int) -> str | None:
    source = view.input(0)
    if source is not None and view.batch_axes(1, len(source.shape)):
        return "operates on the batch dimension"
    return None


def _pad(view: OpView, runtime: int) -> str | None:
    paddings = view.values(1)
    if paddings is None or paddings.ndim != 2:
        return None
    padded = [axis for axis, row in enumerate(paddings) if np.any(row != 0)]
    if 0 in padded:
        return "pads the batch dimension"
    if runtime <= 12 and len(paddings) == 4 and not set(padded) <= {1, 2}:
        return "runtime <= 12 pads along x and y only"
    return None


def _pack(view: OpView, _runtime: int) -> str | None:
    table = view.options("PackOptions")
    if table is not None and table.Axis() == 0:
        return "packs along the batch dimension"
    return None


def _prelu(view: OpView, _runtime: int) -> str | None:
    alpha = view.input(1)
    if alpha is not None and _dims_above_one(alpha.shape[:-1]) > 0:
        return f"alpha {list(alpha.shape)} has more than the innermost dimension > 1"
    return None


def _softmax(view: OpView, _runtime: int) -> str | None:
    source = view.input(0)
    if source is None:
        return None
    if _dims_above_one(source.shape) > 1:
        return f"input {list(source.shape)} is not one-dimensional"
    elements = int(np.prod(source.shape)) if source.shape else 1
    if elements > 16000:
        return f"input has {elements} elements (at most 16,000)"
    return None


def _split(view: OpView, _runtime: int) -> str | None:
    source = view.input(1)
    if source is not None and view.batch_axes(0, len(source.shape)):
        return "splits the batch dimension"
    return None


def _strided_slice(view: OpView, _runtime: int) -> str | None:
    table = view.options("StridedSliceOptions")
    if table is not None and (table.EllipsisMask() or table.NewAxisMask()):
        return "uses an ellipsis or new-axis mask"
    strides = view.values(3)
    if strides is not None and np.any(strides != 1):
        return f"strides {strides.tolist()} (only unit strides map)"
    return None


@dataclass(frozen=True)
class OpRule:
    """One row of the published table: the op, from which runtime it maps, and its known limitations."""

    doc_name: str  # as coral.ai spells it
    min_runtime: int = 0  # 0: every runtime
    limitation: str = ""  # the documented limitation, verbatim in spirit
    constant_inputs: tuple[int, ...] = ()  # input positions that must be compile-time constants
    check: Callable[[OpView, int], str | None] | None = None  # why it will not map (None: fine)
    caveat: str = ""  # documented "may not map" conditions the file cannot decide


RULES: dict[str, OpRule] = {
    "ADD": OpRule("Add"),
    "AVERAGE_POOL_2D": OpRule(
        "AveragePool2d", limitation="No fused activation function.",
        check=lambda v, _r: _no_fused_activation(v, "Pool2DOptions"),
    ),
    "CONCATENATION": OpRule(
        "Concatenation",
        limitation="No fused activation function. A constant input needs exactly 2 inputs and all zeros.",
        check=_concatenation,
    ),
    "CONV_2D": OpRule(
        "Conv2d", limitation="Must use the same dilation in x and y dimensions.", constant_inputs=(1, 2),
        check=lambda v, _r: _same_dilation(v, "Conv2DOptions"),
    ),
    "DEPTHWISE_CONV_2D": OpRule(
        "DepthwiseConv2d", limitation="<= 12: no dilation; 13+: the same dilation in x and y.",
        constant_inputs=(1, 2),
        check=lambda v, r: _same_dilation(v, "DepthwiseConv2DOptions", allow_dilation=r > 12),
    ),
    "EXPAND_DIMS": OpRule("ExpandDims", min_runtime=13, constant_inputs=(1,)),
    "FULLY_CONNECTED": OpRule(
        "FullyConnected", limitation="Only the default weights format. Output tensor is one-dimensional.",
        constant_inputs=(1, 2), check=_fully_connected,
    ),
    "L2_NORMALIZATION": OpRule("L2Normalization"),
    "LOGISTIC": OpRule("Logistic"),
    "LSTM": OpRule("LSTM", min_runtime=14, limitation="Unidirectional LSTM only."),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": OpRule("LSTM", min_runtime=14, limitation="Unidirectional LSTM only."),
    "MAXIMUM": OpRule("Maximum"),
    "MAX_POOL_2D": OpRule(
        "MaxPool2d", limitation="No fused activation function.",
        check=lambda v, _r: _no_fused_activation(v, "Pool2DOptions"),
    ),
    "MEAN": OpRule(
        "Mean", limitation="No batch reduction; <= 12: x/y only; 13+: a z-reduction needs z a multiple of 4.",
        constant_inputs=(1,), check=_reduction,
    ),
    "MINIMUM": OpRule("Minimum"),
    "MUL": OpRule("Mul"),
    "PACK": OpRule("Pack", min_runtime=13, limitation="No packing in batch dimension.", check=_pack),
    "PAD": OpRule(
        "Pad", limitation="<= 12: x/y padding only; 13+: no padding in batch dimension.", constant_inputs=(1,),
        check=_pad,
    ),
    "PRELU": OpRule(
        "PReLU", min_runtime=13, limitation="Alpha constant, only its innermost dimension > 1.", constant_inputs=(1,),
        check=_prelu,
    ),
    "QUANTIZE": OpRule("Quantize", min_runtime=13),
    "REDUCE_MAX": OpRule(
        "ReduceMax", min_runtime=14, limitation="Cannot operate on the batch dimension.", constant_inputs=(1,),
        check=_no_batch_axis,
    ),
    "REDUCE_MIN": OpRule(
        "ReduceMin", min_runtime=14, limitation="Cannot operate on the batch dimension.", constant_inputs=(1,),
        check=_no_batch_axis,
    ),
    "RELU": OpRule("ReLU"),
    "RELU6": OpRule("ReLU6"),
    "RELU_N1_TO_1": OpRule("ReLUN1To1"),
    "RESHAPE": OpRule(
        "Reshape", limitation="Certain reshapes might not be mapped for large tensor sizes.", constant_inputs=(1,),
    ),
    "RESIZE_BILINEAR": OpRule(
        "ResizeBilinear", limitation="3-D input/output; may stay on the CPU to avoid precision loss.",
        constant_inputs=(1,), caveat="the compiler may keep it on the CPU to avoid precision loss",
    ),
    "RESIZE_NEAREST_NEIGHBOR": OpRule(
        "ResizeNearestNeighbor", limitation="3-D input/output; may stay on the CPU to avoid precision loss.",
        constant_inputs=(1,), caveat="the compiler may keep it on the CPU to avoid precision loss",
    ),
    "RSQRT": OpRule("Rsqrt", min_runtime=14),
    "SLICE": OpRule("Slice", constant_inputs=(1, 2)),
    "SOFTMAX": OpRule(
        "Softmax", limitation="Supports only 1-D input tensor with a max of 16,000 elements.", check=_softmax,
    ),
    "SPACE_TO_DEPTH": OpRule("SpaceToDepth"),
    "SPLIT": OpRule("Split", limitation="No splitting in batch dimension.", constant_inputs=(0,), check=_split),
    "SQUARED_DIFFERENCE": OpRule("SquaredDifference", min_runtime=14),
    "SQUEEZE": OpRule("Squeeze"),
    "STRIDED_SLICE": OpRule(
        "StridedSlice", limitation="Unit strides only; no ellipsis or new-axis mask.", constant_inputs=(1, 2, 3),
        check=_strided_slice,
    ),
    "SUB": OpRule("Sub"),
    "SUM": OpRule(
        "Sum", min_runtime=13, limitation="No batch reduction; a z-reduction needs z a multiple of 4.",
        constant_inputs=(1,), check=_reduction,
    ),
    "TANH": OpRule("Tanh"),
    "TRANSPOSE": OpRule("Transpose", min_runtime=14, constant_inputs=(1,)),
    "TRANSPOSE_CONV": OpRule("TransposeConv", min_runtime=13, constant_inputs=(0, 1, 3)),
}  # fmt: skip
