"""ONNX quantization recipes with onnxruntime's own tools, applied to the float model an ONNX converter just wrote.

`int8` is static QDQ (QuantizeLinear/DequantizeLinear pairs around int8 operators, what ORT's CPU, mobile and web
builds and most accelerators' ONNX importers read), calibrated on edgex's calibration data; `dynamic` stores int8
weights and quantizes activations at run time. Both start from `quant_pre_process` (shape inference and graph
optimization), as ORT's quantization guide recommends. Inputs and outputs stay float32.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from edgex.artifacts import temp_prefix
from edgex.errors import ConversionError, UsageError
from edgex.exporters import ConversionRequest, ExportOptions, align_calibration
from edgex.quantize.recipes import Recipe
from edgex.workers import report_progress, short_message


def check_options(recipe: Recipe, options: ExportOptions) -> None:
    """QDQ models keep float32 I/O: refuse an integer --io-dtype up front."""
    if options.io_dtype not in (None, "float32"):
        raise UsageError(
            f"--io-dtype {options.io_dtype} is not available for ONNX ({recipe.name})",
            hint="ONNX QDQ models keep float32 inputs and outputs; drop --io-dtype",
        )


def _batches(request: ConversionRequest, model_path: Path) -> Iterator[dict[str, np.ndarray]]:
    """Calibration samples in the model's input names and dtypes, in batches of the artifact's static batch."""
    import onnxruntime as ort

    from edgex.formats.onnx import ONNX_TYPES

    if not request.calibration:
        raise UsageError("full-integer quantization needs calibration data", hint="pass --calib")
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    dtypes = {node.name: ONNX_TYPES.get(node.type, "float32") for node in session.get_inputs()}
    del session
    calibration = align_calibration(request.calibration, list(dtypes))
    assert calibration is not None
    batch = request.options.batch_size or 1
    count = len(next(iter(calibration.values())))
    for start in range(0, count - batch + 1, batch):
        yield {name: calibration[name][start : start + batch].astype(dtypes[name]) for name in dtypes}
        report_progress(start + batch, count)


def _static_int8(prepared: Path, output: Path, request: ConversionRequest) -> str:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = _batches(request, prepared)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.batches, None)

    quantize_static(
        prepared,
        output,
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=not request.options.per_tensor,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
    )
    return "static QDQ int8 (onnxruntime.quantization, MinMax calibration)"


def _dynamic(prepared: Path, output: Path, request: ConversionRequest) -> str:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(prepared, output, per_channel=not request.options.per_tensor, weight_type=QuantType.QInt8)
    return "dynamic int8 (onnxruntime.quantization: int8 weights, activations quantized at run time)"


# The recipes the ONNX converters make beyond float32, each with the builder that rewrites the float model.
RECIPE_BUILDERS: dict[str, Callable[[Path, Path, ConversionRequest], str]] = {
    "dynamic": _dynamic,
    "int8": _static_int8,
}
RECIPES = ("none", *RECIPE_BUILDERS)


def apply_recipe(request: ConversionRequest) -> list[str]:
    """Quantize the float model at `request.output` in place with the request's recipe; the notes it earns."""
    if request.mode.is_float:
        return []
    from onnxruntime.quantization.shape_inference import quant_pre_process

    build = RECIPE_BUILDERS[request.mode.name]
    with tempfile.TemporaryDirectory(prefix=temp_prefix("onnx-quant-"), dir=request.output.parent) as work:
        float_model = Path(work) / "float.onnx"
        prepared = Path(work) / "prepared.onnx"
        request.output.replace(float_model)
        notes = []
        try:
            try:
                quant_pre_process(float_model, prepared)
            except Exception as exc:  # noqa: BLE001 - ORT's symbolic shape inference gives up on some graphs (LSTMs)
                quant_pre_process(float_model, prepared, skip_symbolic_shape=True)
                notes.append(f"pre-processing without symbolic shape inference ({short_message(exc)})")
            notes.insert(0, build(prepared, request.output, request))
        except UsageError:
            raise
        except Exception as exc:  # noqa: BLE001 - ORT's quantizer raises many types
            raise ConversionError(
                f"onnxruntime quantization ({request.mode.name}) failed: {short_message(exc)}",
                hint="--debug shows the full error; -q none exports float32",
            ) from None
    return [*notes, "I/O dtype float32"]

