"""Read a .tflite flatbuffer without an interpreter: tensors, operators with versions, signatures, metadata.

Uses the schema bindings that ship inside ai-edge-litert (generated from LiteRT's schema.fbs), so inspecting
needs neither TensorFlow nor a working interpreter. Weight buffers are not copied: only their sizes are read.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgex.errors import MissingDependencyError, UsageError

FILE_IDENTIFIER = b"TFL3"
INTEGER_DTYPES = {"int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "bool", "int4"}


def schema() -> Any:
    try:
        from ai_edge_litert import schema_py_generated
    except ImportError:
        raise MissingDependencyError(
            "reading .tflite files needs the schema bindings from ai-edge-litert", hint="pip install 'edgex[litert]'"
        ) from None
    return schema_py_generated


def _enum_names(enum_class: Any) -> dict[int, str]:
    return {value: name for name, value in vars(enum_class).items() if not name.startswith("_")}


@dataclass(frozen=True)
class TensorQuant:
    scales: tuple[float, ...]
    zero_points: tuple[int, ...]
    axis: int

    @property
    def per_channel(self) -> bool:
        return len(self.scales) > 1


@dataclass(frozen=True)
class TFLiteTensor:
    index: int
    name: str
    shape: tuple[int, ...]
    shape_signature: tuple[int, ...]  # -1 marks a dynamic dimension
    dtype: str  # lower-case TFLite type name, e.g. "float32", "int8"
    quant: TensorQuant | None
    constant: bool  # backed by a non-empty buffer (weights, biases)
    buffer_bytes: int

    @property
    def dynamic(self) -> bool:
        return any(d < 0 for d in self.shape_signature)


@dataclass(frozen=True)
class TFLiteOp:
    index: int
    name: str  # builtin operator name (CONV_2D) or the custom code (edgetpu-custom-op)
    version: int
    inputs: tuple[int, ...]  # tensor indices, -1 = optional input absent
    outputs: tuple[int, ...]
    custom: bool
    options_type: int
    options_table: Any = field(default=None, compare=False, repr=False)  # flatbuffers Table for builtin options
    custom_options: bytes = field(default=b"", repr=False)


@dataclass
class TFLiteModel:
    path: Path
    size_bytes: int
    schema_version: int
    description: str
    subgraph_count: int
    tensors: list[TFLiteTensor]  # of the main subgraph
    ops: list[TFLiteOp]
    inputs: list[int]
    outputs: list[int]
    signatures: dict[str, dict[str, dict[str, int]]]  # key -> {"inputs": {name: tensor}, "outputs": {...}}
    metadata: dict[str, bytes]

    @property
    def min_runtime_version(self) -> str | None:
        raw = self.metadata.get("min_runtime_version")
        return raw.split(b"\0", 1)[0].decode(errors="replace") if raw else None

    def op_histogram(self) -> Counter[str]:
        return Counter(op.name for op in self.ops)

    def op_versions(self) -> dict[str, int]:
        versions: dict[str, int] = {}
        for op in self.ops:
            versions[op.name] = max(versions.get(op.name, 0), op.version)
        return versions

    def activation_tensors(self) -> list[TFLiteTensor]:
        return [t for t in self.tensors if not t.constant]

    def compute_tensors(self) -> list[TFLiteTensor]:
        """Activations inside the graph (model inputs and outputs excluded)."""
        boundary = set(self.inputs) | set(self.outputs)
        return [t for t in self.activation_tensors() if t.index not in boundary]

    @property
    def fully_integer(self) -> bool:
        """Every activation, model inputs and outputs included, is an integer tensor."""
        return all(t.dtype in INTEGER_DTYPES for t in self.activation_tensors())

    def recipe(self) -> str:
        """The quantization recipe the model was made with, inferred from its tensor types."""
        compute = self.compute_tensors() or self.activation_tensors()
        compute_types = {t.dtype for t in compute}
        if "int16" in compute_types and compute_types <= INTEGER_DTYPES:
            return "int16x8"
        if compute_types and compute_types <= INTEGER_DTYPES:
            return "int8"
        constant_types = {t.dtype for t in self.tensors if t.constant}
        if "float16" in constant_types:
            return "fp16"
        if constant_types & {"int8", "uint8"}:
            return "dynamic"
        return "none"


def read_tflite(path: Path, data: bytes | None = None) -> TFLiteModel:
    """Parse `path` (or `data`, its bytes, already read); anything malformed is a UsageError naming the file."""
    data = path.read_bytes() if data is None else data
    if len(data) < 8 or data[4:8] != FILE_IDENTIFIER:
        raise UsageError(f"{path}: not a TFLite flatbuffer (no '{FILE_IDENTIFIER.decode()}' identifier)")
    fb = schema()
    try:
        return _parse(path, data, fb)
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - truncated / corrupt flatbuffers raise assorted errors
        raise UsageError(f"{path}: corrupt TFLite flatbuffer ({type(exc).__name__}: {exc})") from None


def _parse(path: Path, data: bytes, fb: Any) -> TFLiteModel:
    model = fb.Model.GetRootAs(data, 0)
    op_names = _enum_names(fb.BuiltinOperator)
    type_names = _enum_names(fb.TensorType)
    codes = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        custom = code.CustomCode()
        name = (
            custom.decode() if builtin == fb.BuiltinOperator.CUSTOM and custom else op_names.get(builtin, str(builtin))
        )
        codes.append((name, max(1, code.Version()), builtin == fb.BuiltinOperator.CUSTOM))
    buffer_sizes = [_buffer_size(path, model.Buffers(i), len(data)) for i in range(model.BuffersLength())]
    graph = model.Subgraphs(0)
    tensors = [_tensor(graph.Tensors(i), i, type_names, buffer_sizes) for i in range(graph.TensorsLength())]
    ops = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        name, version, custom = codes[op.OpcodeIndex()]
        ops.append(
            TFLiteOp(
                index=i,
                name=name,
                version=version,
                inputs=tuple(int(x) for x in _ints(op.InputsAsNumpy())),
                outputs=tuple(int(x) for x in _ints(op.OutputsAsNumpy())),
                custom=custom,
                options_type=op.BuiltinOptionsType(),
                options_table=op.BuiltinOptions(),
                custom_options=bytes(_ints(op.CustomOptionsAsNumpy())),
            )
        )
    signatures = {}
    for i in range(model.SignatureDefsLength()):
        sig = model.SignatureDefs(i)
        signatures[sig.SignatureKey().decode()] = {
            "inputs": {sig.Inputs(j).Name().decode(): sig.Inputs(j).TensorIndex() for j in range(sig.InputsLength())},
            "outputs": {
                sig.Outputs(j).Name().decode(): sig.Outputs(j).TensorIndex() for j in range(sig.OutputsLength())
            },
        }
    metadata = {}
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        buffer = model.Buffers(entry.Buffer())
        metadata[entry.Name().decode()] = bytes(_ints(buffer.DataAsNumpy()))
    return TFLiteModel(
        path=path,
        size_bytes=len(data),
        schema_version=model.Version(),
        description=(model.Description() or b"").decode(errors="replace"),
        subgraph_count=model.SubgraphsLength(),
        tensors=tensors,
        ops=ops,
        inputs=[int(x) for x in _ints(graph.InputsAsNumpy())],
        outputs=[int(x) for x in _ints(graph.OutputsAsNumpy())],
        signatures=signatures,
        metadata=metadata,
    )


def _ints(value: Any) -> Any:
    """The generated *AsNumpy accessors return 0 instead of an empty array when a vector is absent."""
    return [] if isinstance(value, int) else value


def _buffer_size(path: Path, buffer: Any, file_size: int) -> int:
    """Bytes of a constant; models over 2 GB keep them after the flatbuffer (offset, size), which a cut file lacks."""
    if buffer is None:
        return 0
    if buffer.Offset() > 1:
        end = buffer.Offset() + buffer.Size()
        if end > file_size:
            raise UsageError(f"{path}: truncated TFLite model ({file_size} bytes; a buffer ends at {end})")
        return int(buffer.Size())
    return int(buffer.DataLength())


def _tensor(tensor: Any, index: int, type_names: dict[int, str], buffer_sizes: list[int]) -> TFLiteTensor:
    shape = tuple(int(d) for d in _ints(tensor.ShapeAsNumpy()))
    signature = tuple(int(d) for d in _ints(tensor.ShapeSignatureAsNumpy())) or shape
    quant = None
    q = tensor.Quantization()
    if q is not None and q.ScaleLength() > 0:
        quant = TensorQuant(
            scales=tuple(float(s) for s in q.ScaleAsNumpy()),
            zero_points=tuple(int(z) for z in _ints(q.ZeroPointAsNumpy())),
            axis=int(q.QuantizedDimension()),
        )
    buffer_index = tensor.Buffer()
    size = buffer_sizes[buffer_index] if 0 < buffer_index < len(buffer_sizes) else 0
    return TFLiteTensor(
        index=index,
        name=(tensor.Name() or b"").decode(errors="replace"),
        shape=shape,
        shape_signature=signature,
        dtype=type_names.get(tensor.Type(), str(tensor.Type())).lower(),
        quant=quant,
        constant=size > 0,
        buffer_bytes=size,
    )


def recipe_of(path: Path) -> str:
    return read_tflite(path).recipe()
