"""Inspection of .tflite files for `edgex inspect`."""

from __future__ import annotations

from pathlib import Path

from edgex.edgetpu.darwinn import edgetpu_inspection
from edgex.embedding import TFLITE_METADATA, read_tflite_metadata
from edgex.inspection import Inspection, Quantization, SummaryValue, TensorRow
from edgex.inspection.tflite import TFLiteModel, TFLiteTensor, read_tflite


def _row(name: str, tensor: TFLiteTensor) -> TensorRow:
    dims = tensor.shape_signature if tensor.dynamic else tensor.shape
    quant = None
    if tensor.quant is not None:
        quant = Quantization(
            scales=tuple(float(s) for s in tensor.quant.scales),
            zero_points=tuple(int(z) for z in tensor.quant.zero_points),
            axis=int(tensor.quant.axis) if tensor.quant.per_channel else None,
        )
    return TensorRow(name, tuple(None if d < 0 else int(d) for d in dims), tensor.dtype, quant)


def _io_rows(model: TFLiteModel, kind: str) -> list[TensorRow]:
    if model.signatures:
        key = next(iter(model.signatures))
        return [_row(name, model.tensors[index]) for name, index in model.signatures[key][kind].items()]
    indices = model.inputs if kind == "inputs" else model.outputs
    return [_row(model.tensors[i].name, model.tensors[i]) for i in indices]


def inspect_tflite(path: Path, data: bytes | None = None) -> Inspection:
    model = read_tflite(path, data)
    weights = sum(t.buffer_bytes for t in model.tensors if t.constant)
    histogram: dict[str, int] = {}
    for op in model.ops:
        key = f"{op.name} v{op.version}"
        histogram[key] = histogram.get(key, 0) + 1
    summary: dict[str, SummaryValue] = {
        "schema version": model.schema_version,
        "signatures": list(model.signatures),
        "subgraphs": model.subgraph_count,
        "operators": len(model.ops),
        "tensors": len(model.tensors),
        "weight bytes": weights,
        "quantization": model.recipe(),
        "fully integer": model.fully_integer,
        "dynamic shapes": any(t.dynamic for t in model.tensors),
        "min runtime version": model.min_runtime_version,
        "custom ops": sorted({op.name for op in model.ops if op.custom}),
    }
    edgetpu_summary, edgetpu_notes = edgetpu_inspection(model)  # compiled Edge TPU models: package, CPU ops
    summary.update(edgetpu_summary)
    return Inspection(
        path=str(path),
        format="tflite",
        size_bytes=model.size_bytes,
        sha256="",
        summary=summary,
        inputs=_io_rows(model, "inputs"),
        outputs=_io_rows(model, "outputs"),
        op_histogram=dict(sorted(histogram.items(), key=lambda item: (-item[1], item[0]))),
        notes=edgetpu_notes,
        embedded=read_tflite_metadata(path.read_bytes() if data is None else data, model.metadata.get(TFLITE_METADATA)),
    )
