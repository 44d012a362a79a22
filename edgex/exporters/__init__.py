"""Converters: one module per route (source format -> artifact format), each registering itself here.

A converter's `function` runs inside a worker of its `worker` kind and writes the artifact to the temporary path
it is given; the parent renames it into place only when the conversion succeeded.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgex.errors import UsageError
from edgex.quantize.modes import QuantMode
from edgex.sources import SourceRef


@dataclass(frozen=True)
class ExportOptions:
    """Target options that change the artifact (part of what a build hashes)."""

    io_dtype: str | None = None  # I/O type of integer models: int8, uint8, int16 or float32
    batch_size: int | None = 1  # static batch baked into the artifact; None keeps the source's dynamic batch
    target_options: dict[str, Any] = field(default_factory=dict)  # parsed and checked by the target's module


@dataclass
class ConversionRequest:
    source: SourceRef
    output: Path  # temporary file to write
    mode: QuantMode
    calibration: dict[str, np.ndarray] | None
    options: ExportOptions = field(default_factory=ExportOptions)
    settings: dict[str, Any] = field(default_factory=dict)  # the target's fixed settings, e.g. {"backend": "xnnpack"}


@dataclass
class ConversionOutcome:
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)  # structured facts for the JSON report
    sections: list[Any] = field(default_factory=list)  # ReportSection tables
    checks: list[Any] = field(default_factory=list)  # parity.compare.Check gates on the artifact itself


@dataclass(frozen=True)
class Converter:
    name: str
    sources: tuple[str, ...]  # source formats it reads
    produces: str  # artifact format
    worker: str
    function: str  # 'module:function' (ConversionRequest) -> ConversionOutcome, run in the worker
    extra: str
    module: str
    quant_modes: tuple[QuantMode, ...]
    description: str
    # Parent-side check of (mode, options) before any work starts; raises UsageError.
    check_options: Callable[[QuantMode, ExportOptions], object] | None = None


_CONVERTERS: dict[str, Converter] = {}
_MODULES = ("tflite_from_tf", "executorch", "pytorch_lite")


def register(converter: Converter) -> Converter:
    _CONVERTERS[converter.name] = converter
    return converter


def all_converters() -> dict[str, Converter]:
    for module in _MODULES:
        importlib.import_module(f"edgex.exporters.{module}")
    return dict(_CONVERTERS)


def find_converter(source_format: str, artifact_format: str) -> Converter:
    candidates = [c for c in all_converters().values() if source_format in c.sources and c.produces == artifact_format]
    if not candidates:
        readers = sorted({s for c in _CONVERTERS.values() if c.produces == artifact_format for s in c.sources})
        raise UsageError(
            f"no converter from {source_format} to {artifact_format}",
            hint=f"{artifact_format} can be made from: {', '.join(readers) or 'nothing yet'}",
        )
    return candidates[0]
