"""Converters: the edges of the format graph, one module each with a `register(registry)` hook.

A converter's `function` runs inside a worker of its `worker` kind and writes the artifact to the temporary path
it is given; the parent renames it into place only when the conversion succeeded. It lists the quantization
recipes it can apply (edgex/quantize/recipes.py) and keeps the builder of each in its own module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgex.embedding import EmbeddedMetadata
from edgex.errors import UsageError
from edgex.quantize.recipes import Recipe
from edgex.sources import SourceRef


@dataclass(frozen=True)
class ExportOptions:
    """Target options that change the artifact (part of what a build hashes)."""

    io_dtype: str | None = None  # I/O type of integer models: int8, uint8, int16 or float32
    batch_size: int | None = 1  # static batch baked into the artifact; None keeps the source's dynamic batch
    channels_last_io: bool = False  # 4-D NCHW inputs/outputs become NHWC (what Android camera pipelines feed)
    per_tensor: bool = False  # --granularity per-tensor: one int8 weight scale per tensor, not per output channel
    target_options: dict[str, Any] = field(default_factory=dict)  # parsed and checked by the target's module
    embedded: EmbeddedMetadata | None = None  # class names, preprocessing: edgex/embedding.py


@dataclass
class ConversionRequest:
    source: SourceRef
    output: Path  # temporary file to write
    mode: Recipe  # the quantization recipe of this hop (float for a route's intermediate hops)
    calibration: dict[str, np.ndarray] | None
    options: ExportOptions = field(default_factory=ExportOptions)
    settings: dict[str, Any] = field(default_factory=dict)  # the target's fixed settings, e.g. {"backend": "xnnpack"}
    keep_repaired: Path | None = None  # --keep-intermediates: where an ONNX consumer keeps the repaired model
    # Input shapes the calibration/validation data have (batch = the artifact's), by the source's input names:
    # converters use them where the model leaves dimensions dynamic.
    data_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    keep_float: tuple[str, ...] = ()  # -q auto: source layers (Keras names, nn.Module paths) left unquantized


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
    extra: str  # pip extra that provides the modules
    module: str  # the converter's own package
    recipes: tuple[str, ...]  # quantization recipes it can apply, by name
    description: str
    requires: tuple[str, ...] = ()  # further packages the conversion imports
    install_hint: str | None = None  # when `pip install edgex[extra]` is not how to get it
    # Parent-side check of (mode, options) before any work starts; raises UsageError.
    check_options: Callable[[Recipe, ExportOptions], object] | None = None
    per_tensor: bool = False  # honours --granularity per-tensor (others refuse it in the plan)
    # 'module:function' (source, artifact, calibration, samples) -> [LayerResult], run in the worker: compares the
    # artifact's layers with the source's (`edgex debug`, `-q auto`); None: this converter cannot.
    layer_debugger: str | None = None

    def missing(self) -> list[str]:
        """Packages this converter needs that are not installed here (cheap: no import)."""
        import importlib.util

        return [m for m in (self.module, *self.requires) if importlib.util.find_spec(m.split(".")[0]) is None]

    def hint(self) -> str:
        return self.install_hint or f"pip install 'edgex[{self.extra}]'"


def all_converters() -> dict[str, Converter]:
    from edgex.registry import get_registry

    return dict(get_registry().converters)


def align_calibration(calibration: dict[str, np.ndarray] | None, names: list[str]) -> dict[str, np.ndarray] | None:
    """Calibration arrays keyed by this model's input names: by name, or by position when a route renamed them."""
    if calibration is None or set(calibration) == set(names):
        return calibration
    if len(calibration) != len(names):
        raise UsageError(
            f"calibration has {len(calibration)} inputs {sorted(calibration)}, the model {len(names)} {names}"
        )
    return dict(zip(names, calibration.values(), strict=True))

