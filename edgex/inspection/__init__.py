"""`edgex inspect`: what an artifact contains, read from the file itself (no framework, no interpreter)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edgex.artifacts import sha256_tree, size_bytes
from edgex.errors import UsageError
from edgex.workers import import_target


def inspectors() -> dict[str, str]:
    """Artifact suffix -> 'module:function' (Path) -> Inspection, from the formats that have an inspector."""
    from edgex.registry import get_registry

    return {f.extension: f.inspector for f in get_registry().formats.values() if f.inspector and f.extension}


@dataclass(frozen=True)
class TensorRow:
    name: str
    shape: str
    dtype: str
    quantization: str  # "scale=…, zero_point=…" or ""


@dataclass
class Inspection:
    path: str
    format: str
    size_bytes: int
    sha256: str
    summary: dict[str, str | int | float | bool | None]
    inputs: list[TensorRow]
    outputs: list[TensorRow]
    op_histogram: dict[str, int]  # "CONV_2D v3" -> count
    notes: list[str] = field(default_factory=list)


def inspect_path(path: Path) -> Inspection:
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    known = inspectors()
    function = known.get(path.suffix.lower())
    if function is None:
        raise UsageError(f"{path}: cannot inspect '{path.suffix}' files", hint=f"supported: {', '.join(known)}")
    inspection: Inspection = import_target(function)(path)
    inspection.size_bytes = size_bytes(path)
    inspection.sha256 = sha256_tree(path)
    return inspection
