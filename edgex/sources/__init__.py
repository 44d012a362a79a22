"""Model sources: what a path or spec is (detected by the format records of edgex/formats/) and how it loads.

This package holds what every format shares: the source reference and options, runner helpers (base.py), the
parent-side handle on a runner in a worker (remote.py) and the TensorFlow / PyTorch loading code (tf_common.py,
torch_common.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from edgex.errors import UsageError, require_module

if TYPE_CHECKING:
    from edgex.formats import Format


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
    # PyTorch: example shapes read from the --data/--calib arrays, used only when neither the factory nor
    # --input-shape gives examples.
    data_shapes: tuple[tuple[int, ...], ...] = ()
    data_dtypes: tuple[str, ...] = ()
    # Inputs fed the same value on every call, (name, JSON text): --const-input, or 0-d arrays in the data file.
    const_inputs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SourceRef:
    spec: str  # as the user typed it
    format: str
    path: Path | None
    options: SourceOptions = field(default_factory=SourceOptions)

    @property
    def file(self) -> Path:
        """The file or folder of a path source, for loaders that need one (a factory spec has none)."""
        if self.path is None:
            raise UsageError(f"model {self.spec}: expected a model file or folder")
        return self.path

    @property
    def stem(self) -> str:
        """Artifact file stem: the file or folder name, or for 'models/net.py:build' / 'pkg.net:build' 'net'."""
        if self.path is not None:
            return self.path.stem if self.path.is_file() else self.path.name
        module = self.spec.rpartition(":")[0]
        return Path(module).stem if module.endswith(".py") else module.rpartition(".")[2]


def all_formats() -> dict[str, Format]:
    from edgex.registry import get_registry

    return dict(get_registry().formats)


def get_format(name: str) -> Format:
    from edgex.registry import get_registry

    return get_registry().format(name)


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


def ensure_loadable(ref: SourceRef) -> Format:
    source_format = get_format(ref.format)
    require_module(source_format.module, source_format.extra, f"loading a {source_format.name} model")
    return source_format
