"""ONNX -> TFLite with onnx2tf, in every TFLite quantization mode, calibrated with edgex's data.

The ONNX model is repaired first (exporters/_onnx_repair.py). onnx2tf then runs once per source and settings
(cached in the worker) and writes its float variants (float32, float16, dynamic range) and the SavedModel it
built. Integer recipes (int8, int16x8) quantize that SavedModel with TFLiteConverter and edgex's calibration
data, through the same recipe builders as the Keras route: onnx2tf's own integer path feeds one calibration file
both to its layout inference (which expects NHWC) and to the representative dataset (which takes the model's
layout), so a kept-NCHW input with 1 or 3 channels, or with H = W = C, was calibrated in the wrong layout.
onnx2tf would download an MS-COCO sample set when given no test data; it runs in a folder holding a file of the
sample set's name, which stops the download (shared/STACK.md).
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
from typing import Any

import numpy as np

from edgex.artifacts import temp_prefix
from edgex.errors import ConversionError, UsageError
from edgex.exporters import (
    ConversionOutcome,
    ConversionRequest,
    Converter,
    ExportOptions,
    align_calibration,
)
from edgex.exporters._onnx_repair import Repair, graph_input_shapes, graph_inputs, keep_repaired, repair
from edgex.exporters.tflite_from_tf import io_dtype_for
from edgex.parity.layout import NCHW_TO_NHWC
from edgex.quantize.recipes import Recipe
from edgex.registry import Registry
from edgex.workers import short_message

DOWNLOAD_STOPPER = "calibration_image_sample_data_20x128x128x3_float32.npy"


def _check_options(recipe: Recipe, options: ExportOptions) -> None:
    """Integer recipes quantize onnx2tf's SavedModel with the Keras route's builders: the same I/O dtype rule."""
    io_dtype_for(recipe, options.io_dtype)



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
            recipes=(*VARIANTS, *INTEGER_RECIPES),
            description="onnx2tf.convert (all variants in one run)",
            check_options=_check_options,
        )
    )

_RUNS: dict[str, tuple[Path, list[Repair]]] = {}  # cache key -> onnx2tf output folder and repairs, per worker


# The recipes this converter makes: float ones pick onnx2tf's file, integer ones quantize its SavedModel.
VARIANTS: dict[str, str] = {"none": "float32", "fp16": "float16", "dynamic": "dynamic_range_quant"}
INTEGER_RECIPES = ("int8", "int16x8")


def _variant(stem: str, recipe: Recipe) -> str:
    return f"{stem}_{VARIANTS[recipe.name]}.tflite"


def _graph_inputs(path: Path) -> list[tuple[str, int]]:
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return [(v.name, len(v.type.tensor_type.shape.dim)) for v in graph_inputs(graph)]


@contextlib.contextmanager
def _inside(folder: Path) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def _run(request: ConversionRequest) -> tuple[Path, list[Repair]]:
    """onnx2tf's float variants and SavedModel for this source and settings, cached for the worker's life."""
    import onnx2tf

    options = request.options
    source = request.source.file
    settings = (options.batch_size, options.channels_last_io, request.data_shapes, request.source.options.const_inputs)
    key = repr((str(source), source.stat().st_mtime_ns, settings))
    digest = hashlib.sha256(key.encode()).hexdigest()
    if digest in _RUNS and _RUNS[digest][0].exists():
        return _RUNS[digest]
    # In the output folder, named after this worker: swept with the run's other temp files once the worker ends
    # (it is kept across calls: one onnx2tf run makes every variant). The system temp dir stays clean.
    work = Path(tempfile.mkdtemp(prefix=temp_prefix("onnx2tf-"), dir=request.output.parent))
    np.save(work / DOWNLOAD_STOPPER, np.zeros((1, 1, 1, 3), dtype=np.float32))
    shapes = graph_input_shapes(
        source, options.batch_size, request.source.options.input_shapes, request.data_shapes
    )
    repaired = work / source.name  # onnx2tf names its files after the model's stem
    repairs = repair(
        source, repaired, input_shapes=shapes, sanitize_names=True, const_inputs=request.source.options.const_inputs
    )
    keep_repaired(request, repaired, repairs)
    inputs = _graph_inputs(repaired)
    # NCW and NCDHW too: onnx2tf moves the second axis of any rank >= 3 input last (a 1x16x96 sequence of
    # embeddings became 1x96x16), which is a layout the source never had.
    keep_nchw = [name for name, rank in inputs if rank >= 3 and (rank != 4 or not options.channels_last_io)]
    with _inside(work):
        onnx2tf.convert(
            input_onnx_file_path=str(repaired),
            output_folder_path=str(work / "out"),
            copy_onnx_input_output_names_to_tflite=True,
            output_dynamic_range_quantized_tflite=True,
            batch_size=options.batch_size,
            keep_ncw_or_nchw_or_ncdhw_input_names=keep_nchw or None,
            non_verbose=True,
        )
    _RUNS[digest] = (work / "out", repairs)
    return _RUNS[digest]


class _SavedModelRows:
    """Calibration rows as the SavedModel takes them, made a batch at a time (the set is never copied whole):
    float32, and NHWC under --channels-last-io."""

    def __init__(self, rows: Any, nhwc: bool) -> None:
        self.rows, self.nhwc = rows, nhwc

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key: slice) -> np.ndarray:
        part = np.asarray(self.rows[key], dtype=np.float32)
        return part.transpose(NCHW_TO_NHWC) if self.nhwc else part


def _quantize_saved_model(folder: Path, request: ConversionRequest, calibration: dict[str, np.ndarray]) -> str:
    """An integer recipe applied to onnx2tf's SavedModel, calibrated in the layout of its inputs."""
    import tensorflow as tf

    from edgex.exporters.tflite_from_tf import RECIPE_BUILDERS, Calibrated

    loaded = tf.saved_model.load(str(folder))
    _, specs = loaded.signatures["serving_default"].structured_input_signature
    names = list(calibration)  # graph input order (align_calibration keyed them by the source's names)
    signature_names = [name for name in names if name in specs] if set(names) <= set(specs) else list(specs)
    batch = request.options.batch_size or 1
    feed: dict[str, Any] = {}  # rows made per batch: Calibrated slices them like arrays
    for signature_name, name in zip(signature_names, names, strict=True):
        rows = calibration[name]
        nhwc = len(rows.shape) == 4 and tuple(specs[signature_name].shape[1:]) != tuple(rows.shape[1:])
        feed[signature_name] = _SavedModelRows(rows, nhwc)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(folder))
    io_dtype = io_dtype_for(request.mode, request.options.io_dtype)
    RECIPE_BUILDERS[request.mode.name](converter, Calibrated(feed, io_dtype, batch))
    request.output.write_bytes(converter.convert())
    return f"onnx2tf SavedModel + TFLiteConverter {request.mode.name}, I/O dtype {io_dtype}"


def convert(request: ConversionRequest) -> ConversionOutcome:
    recipe = request.mode
    names = [name for name, _ in _graph_inputs(request.source.file)]
    calibration = align_calibration(request.calibration, names) if recipe.needs_calibration else None
    if recipe.needs_calibration and not calibration:
        raise UsageError(f"--quantize {recipe.name} needs calibration data", hint="pass --calib")
    try:
        folder, repairs = _run(request)
        if calibration:
            made = _quantize_saved_model(folder, request, calibration)
        else:
            produced = folder / _variant(request.source.file.stem, recipe)
            if not produced.exists():
                raise ConversionError(
                    f"onnx2tf wrote no {produced.name}", hint=f"it wrote {sorted(p.name for p in folder.iterdir())}"
                )
            shutil.copyfile(produced, request.output)
            made = f"onnx2tf {produced.name.removeprefix(request.source.file.stem + '_')}"
    except (UsageError, ConversionError):
        raise
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - onnx2tf raises many types, and exits on some errors
        raise ConversionError(f"onnx2tf failed: {short_message(exc)}", hint="--debug shows the full error") from None
    layout = "NHWC inputs" if request.options.channels_last_io else "source layout kept"
    return ConversionOutcome(
        notes=[made, layout] + [f"ONNX repaired: {r.describe()}" for r in repairs],
        details={"repairs": [{"pass": r.name, "detail": r.detail} for r in repairs]},
    )
