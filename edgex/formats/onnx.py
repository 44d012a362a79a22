"""ONNX models (.onnx): reference runner on onnxruntime (CPU execution provider)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgex.errors import UsageError
from edgex.formats import Format
from edgex.registry import Registry
from edgex.sources import SourceRef
from edgex.sources.base import batched, concat_outputs
from edgex.specs import ModelSignature, RunnerInfo, TensorSpec
from edgex.targets import Target
from edgex.workers import short_message


def _detect(spec: str) -> bool:
    return Path(spec).suffix.lower() == ".onnx"



def register(registry: Registry) -> None:
    registry.add_format(
        Format(
            name="onnx",
            description="ONNX model (.onnx)",
            worker="onnx",
            loader="edgex.formats.onnx:load",
            extra="onnx",
            module="onnxruntime",
            detect=_detect,
            extension=".onnx",
            distributions=("onnx", "onnxruntime"),
        )
    )
    registry.add_target(
        Target(
            name="onnx",
            format="onnx",
            description="ONNX model (float32, or int8 QDQ / dynamic via onnxruntime.quantization)",
            recipes=("none", "dynamic", "int8"),
            default_recipe="none",
            runtime="onnxruntime (incl. onnxruntime-mobile / onnxruntime-web)",
            constraints=("from PyTorch: torch.onnx dynamo exporter; from Keras/SavedModel: tf2onnx",),
        )
    )

# onnxruntime's type strings -> numpy dtype names.
ONNX_TYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(int8)": "int8",
    "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
}


def _spec(node: Any) -> TensorSpec:
    shape = tuple(d if isinstance(d, int) and d > 0 else None for d in node.shape)
    return TensorSpec(node.name, shape, ONNX_TYPES.get(node.type, "float32"))


class OnnxRunner:
    chunk_size = 64  # samples per call when running a whole data set

    def __init__(self, path: Path, threads: int, const_inputs: tuple[tuple[str, str], ...] = ()) -> None:
        import onnxruntime as ort

        from edgex.constants import check_names, constant_array

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001
            raise UsageError(f"model {path}: not a loadable ONNX model ({short_message(exc)})") from None
        declared = tuple(_spec(node) for node in self.session.get_inputs())
        check_names(const_inputs, [s.name for s in declared], str(path))
        given = dict(const_inputs)
        self.constants = {
            s.name: constant_array(s.name, given[s.name], s.dtype, len(s.shape), str(path))
            for s in declared
            if s.name in given
        }
        inputs = tuple(s for s in declared if s.name not in given)
        outputs = tuple(_spec(node) for node in self.session.get_outputs())
        self.static_batch = {s.shape[0] for s in inputs if s.shape and s.shape[0] is not None}
        self.info = RunnerInfo(ModelSignature(inputs, outputs), runtime=f"onnxruntime {ort.__version__} (CPU)")

    def prepare(self, sample: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        fed = {s.name: np.ascontiguousarray(sample[s.name]).astype(s.dtype) for s in self.info.signature.inputs}
        return {**fed, **self.constants}

    def invoke(self, prepared: dict[str, np.ndarray]) -> list[np.ndarray]:
        outputs: list[np.ndarray] = self.session.run(None, prepared)
        return outputs

    def named_outputs(self, values: list[np.ndarray]) -> dict[str, np.ndarray]:
        return {s.name: value for s, value in zip(self.info.signature.outputs, values, strict=True)}

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        chunk = next(iter(self.static_batch)) if len(self.static_batch) == 1 else self.chunk_size
        names = [s.name for s in self.info.signature.outputs]
        parts = []
        for start, stop, piece in batched(inputs, chunk):
            short = chunk - (stop - start) if self.static_batch else 0
            if short:  # a static batch: pad the last chunk, then drop the padding
                piece = {n: np.concatenate([a, np.repeat(a[-1:], short, axis=0)]) for n, a in piece.items()}
            values = self.invoke(self.prepare(piece))
            parts.append({n: (v[: len(v) - short] if short else v) for n, v in zip(names, values, strict=True)})
        return concat_outputs(parts)

    @property
    def batch_size(self) -> int:
        return next(iter(self.static_batch)) if len(self.static_batch) == 1 else 1


def load(ref: SourceRef, threads: int) -> OnnxRunner:
    return OnnxRunner(ref.file, threads, ref.options.const_inputs)
