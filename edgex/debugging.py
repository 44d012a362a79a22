"""`edgex debug`: where did int8 go wrong? The artifact and its float source compared layer by layer.

The converter that made the artifact knows how to read its layers (its `layer_debugger`, run in its worker);
edgex/quantize/layers.py turns the outputs into per-layer numbers and suspects. The same comparison gives a
failed int8 row its one-line summary and `-q auto` its ranking of layers to keep in float.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from edgex.data.inputs import InputSet
from edgex.data.providers import DataSpec, load_inputs
from edgex.errors import ConversionError, EdgexError, UsageError
from edgex.exporters import Converter
from edgex.pipeline import with_data_shapes
from edgex.quantize.layers import LayerResult, clipping_warning, summary, suspects
from edgex.routes import all_routes
from edgex.sources import SourceOptions, SourceRef, ensure_loadable, resolve_source
from edgex.sources.remote import RemoteRunner
from edgex.workers import WorkerPool

SCHEMA = "edgex.debug/1"


@dataclass(frozen=True)
class DebugConfig:
    source: str
    artifact: str
    data: DataSpec | None
    calibration: DataSpec | None = None  # PT2E re-quantizes: the calibration the artifact was made with
    source_options: SourceOptions = field(default_factory=SourceOptions)
    timeout: float = 1200.0
    debug: bool = False


@dataclass
class DebugReport:
    source: str
    artifact: str
    converter: str
    samples: int
    layers: list[LayerResult]
    suspects: list[str]  # layer names where the error jumps, worst first
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, **asdict(self)}


def layer_debugger(source_format: str, artifact_format: str) -> Converter | None:
    """The converter that makes this artifact format straight from this source format, if it can debug layers."""
    for route in all_routes(source_format, artifact_format):
        converter = route.hops[-1]
        if len(route.hops) == 1 and converter.layer_debugger is not None:
            return converter
    return None


def compare_layers(
    pool: WorkerPool,
    converter: Converter,
    source: SourceRef,
    artifact: Path,
    calibration: dict[str, Any] | None,
    samples: dict[str, Any],
    timeout: float,
) -> list[LayerResult]:
    assert converter.layer_debugger is not None
    layers: list[LayerResult] = pool.shared(converter.worker).call(
        converter.layer_debugger,
        source,
        artifact,
        calibration,
        samples,
        what=f"comparing layers ({converter.name})",
        failure=ConversionError,
        timeout=timeout,
    )
    return layers


def failure_summary(
    pool: WorkerPool,
    source: SourceRef,
    artifact: SourceRef,
    calibration: InputSet | None,
    validation: InputSet,
    timeout: float,
) -> tuple[str, dict[str, Any]] | None:
    """For a failed integer row: the suspects in one line, and the layer table for the JSON (None: no debugger
    for this pair, or the comparison itself failed, which must not hide the row's own result)."""
    converter = layer_debugger(source.format, artifact.format)
    if converter is None or artifact.path is None:
        return None
    try:
        layers = compare_layers(
            pool, converter, source, artifact.path, (calibration or validation).arrays, validation.arrays, timeout
        )
    except EdgexError:
        return None
    line = summary(layers)
    return line, {"layers": [asdict(layer) for layer in layers], "suspects": suspects(layers), "summary": line}


def _calibration(spec: DataSpec | None, signature: Any) -> InputSet | None:
    """The calibration set as export reads it (the same default sample count), so PT2E calibrates alike."""
    from edgex.exporting import DEFAULT_CALIBRATION_SAMPLES

    if spec is None:
        return None
    return load_inputs(replace(spec, samples=spec.samples or DEFAULT_CALIBRATION_SAMPLES), signature, "calibration")


def run_debug(config: DebugConfig, on_step: Callable[[str], None] = lambda _: None) -> DebugReport:
    clock = time.perf_counter()
    if config.data is None:
        raise UsageError(
            "debug needs samples to run", hint="pass --data with an image folder, .npy/.npz or module:function"
        )
    ref = resolve_source(config.source, with_data_shapes(config.source_options, config.data))
    ensure_loadable(ref)
    artifact = resolve_source(config.artifact)
    if artifact.path is None or not artifact.path.exists():
        raise UsageError(f"artifact {config.artifact}: no such file")
    converter = layer_debugger(ref.format, artifact.format)
    if converter is None:
        raise UsageError(
            f"layer debugging of a {artifact.format} made from a {ref.format} model is not supported",
            hint="supported: Keras -> .tflite and PyTorch -> .pte (ExecuTorch)",
        )
    notes = []
    with WorkerPool(threads=1, debug=config.debug) as pool:
        reference = RemoteRunner(pool, ref, threads=1, shared=True)
        on_step(f"loading {ref.spec}")
        info = reference.load()
        samples = load_inputs(config.data, info.signature, "debug")
        calibration = _calibration(config.calibration, info.signature)
        if calibration is None and converter.worker != "tf":
            notes.append("no --calib: the PT2E pass was calibrated on the --data samples (pass the export's --calib)")
        on_step(f"comparing layers of {artifact.spec}")
        layers = compare_layers(
            pool, converter, ref, artifact.path, (calibration or samples).arrays, samples.arrays, config.timeout
        )
    if not layers:
        notes.append("no layer of the source could be matched in the artifact")
    clipping = clipping_warning(layers)
    if clipping:
        notes.append(clipping)
    return DebugReport(
        source=ref.spec,
        artifact=str(artifact.path),
        converter=converter.name,
        samples=len(samples),
        layers=layers,
        suspects=suspects(layers),
        notes=notes + samples.notes,
        seconds=time.perf_counter() - clock,
    )
