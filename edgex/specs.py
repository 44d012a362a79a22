"""Framework-neutral descriptions of a model's inputs and outputs."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class QuantParams:
    """Affine quantization of an I/O tensor: real = (q - zero_point) * scale."""

    scale: float
    zero_point: int


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int | None, ...]  # None marks a dynamic dimension
    dtype: str  # numpy dtype name, e.g. "float32", "int8"
    quant: QuantParams | None = None

    def describe(self) -> str:
        dims = "x".join("?" if d is None else str(d) for d in self.shape)
        q = f" q(scale={self.quant.scale:.6g}, zp={self.quant.zero_point})" if self.quant else ""
        return f"{self.name}[{dims}] {self.dtype}{q}"

    def sample_shape(self) -> tuple[int | None, ...]:
        """Shape without the leading batch dimension."""
        return self.shape[1:]


@dataclass(frozen=True)
class ModelSignature:
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    def input(self, name: str) -> TensorSpec:
        for spec in self.inputs:
            if spec.name == name:
                return spec
        raise KeyError(name)


@dataclass(frozen=True)
class RunnerInfo:
    """What a loaded runner reports about itself (crosses the worker boundary)."""

    signature: ModelSignature
    runtime: str  # e.g. "keras 3.15.1 (tensorflow 2.21.0)", "ai-edge-litert 2.3.0"
    notes: tuple[str, ...] = field(default_factory=tuple)
