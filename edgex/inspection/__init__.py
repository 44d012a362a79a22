"""`edgex inspect`: what an artifact contains, read from the file itself (no framework, no interpreter)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgex.artifacts import sha256_tree, size_bytes
from edgex.errors import UsageError
from edgex.workers import import_target


def inspectors() -> dict[str, str]:
    """Artifact suffix -> 'module:function' (Path) -> Inspection, from the formats that have an inspector."""
    from edgex.registry import get_registry

    return {f.extension: f.inspector for f in get_registry().formats.values() if f.inspector and f.extension}


@dataclass(frozen=True)
class Quantization:
    """Affine quantization of a tensor, real = (q - zero_point) * scale: one scale, or one per channel on `axis`."""

    scales: tuple[float, ...]
    zero_points: tuple[int, ...]
    axis: int | None = None  # per-channel quantization's axis

    def describe(self) -> str:
        if len(self.scales) > 1:
            return f"per-channel ({len(self.scales)} scales, axis {self.axis})"
        zero_point = self.zero_points[0] if self.zero_points else 0
        return f"scale={self.scales[0]:.6g}, zero_point={zero_point}"


@dataclass(frozen=True)
class TensorRow:
    name: str
    shape: tuple[int | None, ...]  # None: a dynamic dimension
    dtype: str
    quantization: Quantization | None = None

    def describe_shape(self) -> str:
        return "x".join("?" if d is None else str(d) for d in self.shape) or "scalar"


SummaryValue = str | int | float | bool | list[str] | None  # numbers as numbers, names as lists


@dataclass
class Inspection:
    path: str
    format: str
    size_bytes: int
    sha256: str
    summary: dict[str, SummaryValue]
    inputs: list[TensorRow]
    outputs: list[TensorRow]
    op_histogram: dict[str, int]  # "CONV_2D v3" -> count
    notes: list[str] = field(default_factory=list)
    # Class names and preprocessing read back from the artifact (edgex/embedding.py); None: nothing embedded.
    embedded: dict[str, Any] | None = None


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
