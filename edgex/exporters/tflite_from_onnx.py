"""ONNX -> TFLite with onnx2tf, in every TFLite quantization mode, calibrated with edgex's data.

onnx2tf writes all its variants in one run (float32, float16, dynamic range, integer with float or integer I/O,
int16 activations), so one run per source and settings is cached in the worker and each mode picks its file.
It would download an MS-COCO sample set to calibrate when given none: edgex always passes its own calibration
data (`custom_input_op_name_np_data_path`, already normalised: mean 0, std 1) and runs it in a folder holding a
file of the sample set's name, which stops the download (shared/STACK.md).
By default the artifact keeps the source's layout (NCHW stays NCHW, as the other routes do); --channels-last-io
gives onnx2tf's NHWC inputs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from edgex.errors import ConversionError, UsageError
from edgex.exporters import (
    ConversionOutcome,
    ConversionRequest,
    Converter,
    ExportOptions,
    align_calibration,
)
from edgex.exporters._onnx_repair import Repair, graph_input_shapes, keep_repaired, repair
from edgex.parity.layout import NCHW_TO_NHWC
from edgex.quantize.recipes import Recipe
from edgex.registry import Registry
from edgex.workers import short_message

DOWNLOAD_STOPPER = "calibration_image_sample_data_20x128x128x3_float32.npy"
IO_DTYPES = {"int8": ("int8", "uint8", "float32"), "int16x8": ("float32", "int16")}


def _check_options(recipe: Recipe, options: ExportOptions) -> None:
    allowed = IO_DTYPES.get(recipe.name, (None, "float32"))
    if options.io_dtype not in (None, *allowed):
        raise UsageError(f"--io-dtype {options.io_dtype} is not valid for {recipe.name}", hint=f"choose {allowed}")



def register(registry: Registry) -> None:
    registry.add_converter(
        Converter(
            name="onnx2tf",
            sources=("onnx",),
            produces="tflite",
            worker="tf",
            function="edgex.exporters.tflite_from_onnx:convert",
            extra="onnx",
            module="onnx2tf",
            requires=("tensorflow", "onnx", "onnx_graphsurgeon", "tf_keras"),
            recipes=tuple(VARIANTS),
            description="onnx2tf.convert (all variants in one run)",
            check_options=_check_options,
        )
    )

_RUNS: dict[str, tuple[Path, list[Repair]]] = {}  # cache key -> onnx2tf output folder and repairs, per worker


# The recipes this converter makes, each with the onnx2tf output file it picks: (suffix, suffix with integer I/O).
VARIANTS: dict[str, tuple[str, str]] = {
    "none": ("float32", "float32"),
    "fp16": ("float16", "float16"),
    "dynamic": ("dynamic_range_quant", "dynamic_range_quant"),
    "int8": ("integer_quant", "full_integer_quant"),
    "int16x8": ("integer_quant_with_int16_act", "full_integer_quant_with_int16_act"),
}


def _variant(stem: str, recipe: Recipe, io_dtype: str | None) -> str:
    """The file onnx2tf writes for a recipe; integer I/O variants are the 'full_integer' ones."""
    float_io, integer_io = VARIANTS[recipe.name]
    integer = io_dtype == "int16" if recipe.name == "int16x8" else io_dtype != "float32"
    return f"{stem}_{integer_io if integer else float_io}.tflite"


def _graph_inputs(path: Path) -> list[tuple[str, int]]:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    initializers = {i.name for i in model.graph.initializer}
    return [(v.name, len(v.type.tensor_type.shape.dim)) for v in model.graph.input if v.name not in initializers]


@contextlib.contextmanager
def _inside(folder: Path) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def _run(request: ConversionRequest, calibration: dict[str, np.ndarray] | None) -> tuple[Path, list[Repair]]:
    import onnx2tf

    options = request.options
    io_dtype = options.io_dtype if options.io_dtype in ("int8", "uint8") else "int8"
    key = hashlib.sha256(
        repr(
            (
                str(request.source.file),
                request.source.file.stat().st_mtime_ns,
                options.batch_size,
                options.channels_last_io,
                io_dtype,
            )
        ).encode()
    )
    for array in (calibration or {}).values():
        key.update(np.ascontiguousarray(array).tobytes())
    digest = key.hexdigest()
    if digest in _RUNS and _RUNS[digest][0].exists():
        return _RUNS[digest]
    work = Path(tempfile.mkdtemp(prefix="edgex-onnx2tf-"))
    np.save(work / DOWNLOAD_STOPPER, np.zeros((1, 1, 1, 3), dtype=np.float32))
    shapes = graph_input_shapes(request.source.file, options.batch_size, request.source.options.input_shapes)
    for name, array in (calibration or {}).items():
        shapes.setdefault(name, [options.batch_size or 1, *array.shape[1:]])
    repaired = work / request.source.file.name  # onnx2tf names its files after the model's stem
    repairs = repair(request.source.file, repaired, input_shapes=shapes, sanitize_names=True)
    keep_repaired(request, repaired, repairs)
    inputs = _graph_inputs(repaired)
    keep_nchw = [name for name, rank in inputs if rank == 4] if not options.channels_last_io else []
    custom = None
    if calibration:
        custom = []
        originals = [name for name, _ in _graph_inputs(request.source.file)]  # repairs may rename inputs
        for index, (name, rank) in enumerate(inputs):
            data = calibration[originals[index]].astype(np.float32)
            if rank == 4 and name not in keep_nchw:  # onnx2tf wants data in the artifact's (NHWC) order
                data = data.transpose(NCHW_TO_NHWC)
                stat_shape: tuple[int, ...] = (1, 1, 1, data.shape[-1])
            elif rank == 4:
                stat_shape = (1, data.shape[1], 1, 1)
            else:
                stat_shape = (1,)
            np.save(work / f"calib_{index}.npy", data)
            zeros, ones = np.zeros(stat_shape, np.float32), np.ones(stat_shape, np.float32)
            custom.append([name, str(work / f"calib_{index}.npy"), zeros, ones])
    with _inside(work):
        onnx2tf.convert(
            input_onnx_file_path=str(repaired),
            output_folder_path=str(work / "out"),
            copy_onnx_input_output_names_to_tflite=True,
            output_dynamic_range_quantized_tflite=True,
            output_integer_quantized_tflite=calibration is not None,
            quant_type="per-channel",
            custom_input_op_name_np_data_path=custom,
            input_quant_dtype=io_dtype,
            output_quant_dtype=io_dtype,
            batch_size=options.batch_size,
            keep_ncw_or_nchw_or_ncdhw_input_names=keep_nchw or None,
            non_verbose=True,
        )
    _RUNS[digest] = (work / "out", repairs)
    return _RUNS[digest]


def convert(request: ConversionRequest) -> ConversionOutcome:
    needs_calibration = request.mode.needs_calibration
    names = [name for name, _ in _graph_inputs(request.source.file)]
    calibration = align_calibration(request.calibration, names) if needs_calibration else None
    if needs_calibration and not calibration:
        raise UsageError(f"--quantize {request.mode.name} needs calibration data", hint="pass --calib")
    try:
        folder, repairs = _run(request, calibration)
    except UsageError:
        raise
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - onnx2tf raises many types, and exits on some errors
        raise ConversionError(f"onnx2tf failed: {short_message(exc)}", hint="--debug shows the full error") from None
    produced = folder / _variant(request.source.file.stem, request.mode, request.options.io_dtype)
    if not produced.exists():
        raise ConversionError(
            f"onnx2tf wrote no {produced.name}", hint=f"it wrote {sorted(p.name for p in folder.iterdir())}"
        )
    shutil.copyfile(produced, request.output)
    layout = "NHWC inputs" if request.options.channels_last_io else "source layout kept"
    notes = [f"onnx2tf {produced.name.removeprefix(request.source.file.stem + '_')}", layout]
    return ConversionOutcome(
        notes=notes + [f"ONNX repaired: {r.describe()}" for r in repairs],
        details={"repairs": [{"pass": r.name, "detail": r.detail} for r in repairs]},
    )
