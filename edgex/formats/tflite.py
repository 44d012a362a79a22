"""TFLite / LiteRT flatbuffers: runner on ai-edge-litert, falling back to tflite-runtime, then tf.lite.

Inputs are quantized and outputs dequantized with each tensor's (scale, zero point), so parity compares real
values. Samples run one batch at a time as the model declares it (batch 1 for Keras exports), as on a device.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgex.edgetpu.runtime import edgetpu_runtime
from edgex.errors import MissingDependencyError, UsageError
from edgex.formats import Format
from edgex.quantize.affine import dequantize, quantize
from edgex.registry import Registry
from edgex.sources import SourceRef
from edgex.sources.base import batched, concat_outputs
from edgex.specs import ModelSignature, QuantParams, RunnerInfo, TensorSpec
from edgex.targets import Target
from edgex.workers import short_message


def _detect(spec: str) -> bool:
    return Path(spec).suffix.lower() == ".tflite"



def register(registry: Registry) -> None:
    registry.add_format(
        Format(
            name="tflite",
            description="TFLite / LiteRT flatbuffer (.tflite)",
            worker="litert",
            loader="edgex.formats.tflite:load",
            extra="litert",
            module="ai_edge_litert",
            detect=_detect,
            extension=".tflite",
            deploy_only=True,
            inspector="edgex.inspection.tflite_summary:inspect_tflite",
            io_reader="edgex.inspection.io:tflite_io",
            recipe_reader="edgex.inspection.tflite:recipe_of",
            distributions=("ai-edge-litert", "tflite-runtime"),
        )
    )
    registry.add_target(
        Target(
            name="tflite",
            format="tflite",
            description="TFLite / LiteRT flatbuffer",
            recipes=("none", "fp16", "dynamic", "int8", "int16x8", "auto"),
            default_recipe="none",
            runtime="LiteRT interpreter (ai-edge-litert, tflite-runtime, Android/iOS LiteRT, LiteRT.js)",
            constraints=("int8: calibration data required", "int8 I/O dtype: int8 (default), uint8 or float32"),
            aliases=("litert",),
        )
    )


def interpreter_class() -> tuple[Any, str]:
    """The best interpreter available here and a label naming it."""
    try:
        from importlib.metadata import version

        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, f"ai-edge-litert {version('ai-edge-litert')}"
    except ImportError:
        pass
    try:
        from tflite_runtime import __version__ as runtime_version
        from tflite_runtime.interpreter import Interpreter

        return Interpreter, f"tflite-runtime {runtime_version}"
    except ImportError:
        pass
    try:
        import tensorflow as tf

        return tf.lite.Interpreter, f"tf.lite (tensorflow {tf.__version__})"
    except ImportError:
        raise MissingDependencyError(
            "running .tflite models needs a LiteRT interpreter", hint="pip install 'edgex[litert]'"
        ) from None


@dataclass(frozen=True)
class _Port:
    """One model input or output as the interpreter sees it."""

    spec: TensorSpec
    index: int  # tensor index (signature-less models)
    batch: int | None  # static batch size, None when dynamic


def _port(name: str, details: dict[str, Any]) -> _Port:
    scale, zero_point = details.get("quantization", (0.0, 0))
    quant = QuantParams(float(scale), int(zero_point)) if scale else None
    signature_shape = details.get("shape_signature", details["shape"])
    shape = tuple(None if int(d) < 0 else int(d) for d in signature_shape)
    spec = TensorSpec(name, shape, np.dtype(details["dtype"]).name, quant)
    return _Port(spec, int(details["index"]), shape[0] if shape else None)


class TFLiteRunner:
    def __init__(self, path: Path, threads: int, signature_key: str | None) -> None:
        interpreter_type, runtime = interpreter_class()
        # Edge TPU compiled models: the libedgetpu delegate when present, else the int8 model they came from.
        path, delegates, runtime, notes = edgetpu_runtime(path, interpreter_type, runtime)
        try:
            self.interpreter = interpreter_type(
                model_path=str(path), num_threads=threads, experimental_delegates=delegates or None
            )
        except Exception as exc:  # noqa: BLE001
            raise UsageError(f"model {path}: not a loadable .tflite file ({short_message(exc)})") from None
        signatures = self.interpreter.get_signature_list()
        self.signature_runner = None
        if signatures:
            from edgex.sources.tf_common import choose_signature

            key = choose_signature(list(signatures), signature_key, f"model {path}")
            self.signature_runner = self.interpreter.get_signature_runner(key)
            in_details = self.signature_runner.get_input_details()
            out_details = self.signature_runner.get_output_details()
            self.inputs = [_port(name, in_details[name]) for name in signatures[key]["inputs"]]
            self.outputs = [_port(name, out_details[name]) for name in _ordered(signatures[key]["outputs"])]
        else:
            self.interpreter.allocate_tensors()
            self.inputs = [_port(d["name"], d) for d in self.interpreter.get_input_details()]
            self.outputs = [_port(d["name"], d) for d in self.interpreter.get_output_details()]
        self.info = RunnerInfo(
            ModelSignature(tuple(p.spec for p in self.inputs), tuple(p.spec for p in self.outputs)),
            runtime=runtime,
            notes=tuple(notes),
        )
        batches = {p.batch for p in self.inputs}
        self.batch_size = 1 if None in batches or len(batches) != 1 else int(batches.pop() or 1)

    def prepare(self, sample: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Quantize float inputs for integer input tensors; cast everything else to the tensor's dtype."""
        prepared = {}
        for port in self.inputs:
            value = sample[port.spec.name]
            if port.spec.quant is not None and np.issubdtype(value.dtype, np.floating):
                prepared[port.spec.name] = quantize(value, port.spec.quant, port.spec.dtype)
            else:
                prepared[port.spec.name] = value.astype(port.spec.dtype, copy=False)
        return prepared

    def invoke(self, prepared: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.signature_runner is not None:
            outputs: dict[str, np.ndarray] = self.signature_runner(**prepared)
            return outputs
        for port in self.inputs:
            value = prepared[port.spec.name]
            if tuple(self.interpreter.get_input_details()[self.inputs.index(port)]["shape"]) != value.shape:
                self.interpreter.resize_tensor_input(port.index, value.shape)
                self.interpreter.allocate_tensors()
            self.interpreter.set_tensor(port.index, value)
        self.interpreter.invoke()
        return {port.spec.name: self.interpreter.get_tensor(port.index) for port in self.outputs}

    def _dequantized(self, raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        result = {}
        for port in self.outputs:
            value = np.asarray(raw[port.spec.name])
            result[port.spec.name] = dequantize(value, port.spec.quant) if port.spec.quant else value.copy()
        return result

    def named_outputs(self, raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self._dequantized(raw)

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        parts = []
        for start, stop, chunk in batched(inputs, self.batch_size):
            short = self.batch_size - (stop - start)
            if short:  # pad a short last chunk for a static batch, then drop the padding
                chunk = {n: np.concatenate([a, np.repeat(a[-1:], short, axis=0)]) for n, a in chunk.items()}
            out = self._dequantized(self.invoke(self.prepare(chunk)))
            parts.append({n: v[: len(v) - short] for n, v in out.items()} if short else out)
        return concat_outputs(parts)


def _ordered(names: list[str]) -> list[str]:
    """Keras exports name outputs output_0, output_1, ...: order them numerically, not as strings."""
    if names and all(n.startswith("output_") and n[7:].isdigit() for n in names):
        return sorted(names, key=lambda n: int(n[7:]))
    return list(names)


def load(ref: SourceRef, threads: int) -> TFLiteRunner:
    return TFLiteRunner(ref.file, threads, ref.options.signature)
