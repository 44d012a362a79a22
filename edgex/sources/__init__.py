"""Model sources: recognise what a path or spec is, and which worker loads it into a reference runner.

Each format lives in its own module that calls `register()` at import; importing these modules is cheap because
frameworks are imported only inside the functions that run in worker processes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edgex.errors import UsageError, require_module


@dataclass(frozen=True)
class DynamicDim:
    """`--dynamic-dim batch=1..16`: axis `axis` of every input may vary between `low` and `high`."""

    name: str
    axis: int
    low: int
    high: int


@dataclass(frozen=True)
class SourceOptions:
    """Options that shape how a source is loaded (the same for reference runner and converter)."""

    signature: str | None = None  # SavedModel / TFLite signature key
    input_shapes: tuple[tuple[int, ...], ...] = ()  # PyTorch: one per input, when the factory gives no examples
    input_dtypes: tuple[str, ...] = ()  # PyTorch: one per input (default float32)
    weights: Path | None = None  # PyTorch: a state_dict checkpoint loaded with weights_only=True
    dynamic_dims: tuple[DynamicDim, ...] = ()  # PyTorch export: dimensions that may vary


@dataclass(frozen=True)
class SourceFormat:
    name: str  # node name in the format graph: keras, savedmodel, tflite, ...
    description: str
    worker: str  # worker kind that can load it (see edgex.workers.PRELOAD)
    loader: str  # 'module:function' run in that worker: (SourceRef, threads) -> runner
    extra: str  # pip extra that provides `module`
    module: str  # Python package the loader needs
    detect: Callable[[str], bool] = field(compare=False)


@dataclass(frozen=True)
class SourceRef:
    spec: str  # as the user typed it
    format: str
    path: Path | None
    options: SourceOptions = field(default_factory=SourceOptions)

    @property
    def stem(self) -> str:
        """Artifact file stem: the file or folder name, or for 'models/net.py:build' / 'pkg.net:build' 'net'."""
        if self.path is not None:
            return self.path.stem if self.path.is_file() else self.path.name
        module = self.spec.rpartition(":")[0]
        return Path(module).stem if module.endswith(".py") else module.rpartition(".")[2]


_FORMATS: dict[str, SourceFormat] = {}
_MODULES = ("keras", "savedmodel", "tflite", "onnx", "torch_module", "torch_export", "torchscript", "pte", "ptl")


def register(source_format: SourceFormat) -> SourceFormat:
    _FORMATS[source_format.name] = source_format
    return source_format


def _load_modules() -> None:
    for module in _MODULES:
        importlib.import_module(f"edgex.sources.{module}")


def all_formats() -> dict[str, SourceFormat]:
    _load_modules()
    return dict(_FORMATS)


def get_format(name: str) -> SourceFormat:
    return all_formats()[name]


def resolve_source(spec: str, options: SourceOptions = SourceOptions()) -> SourceRef:
    """Identify the source format from the spec; one-line errors for missing or unrecognised inputs."""
    from edgex.demo import resolve_demo
    from edgex.pyspec import looks_like_pyspec

    demo = resolve_demo(spec)
    if demo is not None:
        spec = demo.source
    formats = all_formats()
    path = Path(spec).expanduser()
    if path.exists():
        path = path.resolve()  # workers may run elsewhere; give them absolute paths
    elif not looks_like_pyspec(spec):
        raise UsageError(f"model {spec}: no such file or folder")
    for source_format in formats.values():
        if source_format.detect(spec):
            return SourceRef(
                spec=spec, format=source_format.name, path=path if path.exists() else None, options=options
            )
    raise UsageError(
        f"model {spec}: unrecognised model format",
        hint="supported: " + "; ".join(f"{f.name} ({f.description})" for f in formats.values()),
    )


def ensure_loadable(ref: SourceRef) -> SourceFormat:
    source_format = get_format(ref.format)
    require_module(source_format.module, source_format.extra, f"loading a {source_format.name} model")
    return source_format
