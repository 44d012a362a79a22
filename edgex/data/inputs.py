"""An InputSet is N samples for every model input, checked against the model's signature."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from edgex.errors import UsageError
from edgex.specs import ModelSignature, TensorSpec

CHUNK_BYTES = 1 << 20  # arrays too large to hold are read (hashed, checked) this much at a time


def chunks(array: np.ndarray) -> Iterator[np.ndarray]:
    """`array` in pieces of whole samples of about CHUNK_BYTES (a 0-d array whole): memory-mapped and spooled
    sets are never read whole."""
    if not np.ndim(array):
        yield array
        return
    rows = max(1, CHUNK_BYTES // max(1, array.nbytes // max(1, len(array))))
    for start in range(0, len(array), rows):
        yield array[start : start + rows]


@dataclass
class InputSet:
    """Arrays keyed by input name, first axis = samples; optional integer labels per sample."""

    arrays: dict[str, np.ndarray]
    origin: str  # where the data came from, for messages and reports
    labels: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(next(iter(self.arrays.values())))

    def sample(self, index: int) -> dict[str, np.ndarray]:
        """One sample with a batch dimension of 1."""
        return {name: array[index : index + 1] for name, array in self.arrays.items()}

    def subset(self, count: int | None, seed: int = 0) -> InputSet:
        """At most `count` samples, drawn reproducibly (a sorted image folder would otherwise give one class)."""
        if count is None or count >= len(self):
            return self
        indices = np.sort(np.random.default_rng(seed).choice(len(self), size=count, replace=False))
        return InputSet(
            arrays={name: array[indices] for name, array in self.arrays.items()},
            origin=f"{self.origin} ({count} of {len(self)} samples)",
            labels=None if self.labels is None else self.labels[indices],
            notes=list(self.notes),
        )

    def sample_hashes(self) -> set[str]:
        hashes = set()
        for index in range(len(self)):
            digest = hashlib.sha1()
            for name in sorted(self.arrays):
                digest.update(np.ascontiguousarray(self.arrays[name][index]).tobytes())
            hashes.add(digest.hexdigest())
        return hashes

    def fingerprint(self) -> str:
        """sha256 over names and values, read a chunk at a time (memory-mapped sets stay out of memory)."""
        digest = hashlib.sha256()
        for name in sorted(self.arrays):
            digest.update(name.encode())
            for chunk in chunks(self.arrays[name]):
                digest.update(np.ascontiguousarray(chunk).data)
        return digest.hexdigest()


def conform(arrays: dict[str, np.ndarray], signature: ModelSignature, origin: str) -> dict[str, np.ndarray]:
    """Check names and per-sample shapes against the model inputs; cast to each input's dtype."""
    expected = {spec.name for spec in signature.inputs}
    if set(arrays) != expected:
        raise UsageError(
            f"{origin}: arrays {sorted(arrays)} do not match the model inputs {sorted(expected)}",
            hint="name each array after its input (np.savez(path, **{name: array}))",
        )
    for spec in signature.inputs:
        if not spec.shape or np.ndim(arrays[spec.name]) == 0:
            raise UsageError(
                f"{origin}: input '{spec.name}' is a scalar: edgex feeds every input with a leading sample axis",
                hint=f"give it as a constant: --const-input {spec.name}=VALUE (or a 0-d array in an .npz)",
            )
    counts = {len(a) for a in arrays.values()}
    if len(counts) != 1:
        raise UsageError(f"{origin}: inputs have different sample counts {sorted(counts)}")
    if counts == {0}:
        raise UsageError(f"{origin}: contains no samples")
    conformed = {}
    for spec in signature.inputs:
        array = np.asarray(arrays[spec.name])
        check_values(array, f"{origin}: input '{spec.name}'")
        _check_shape(array, spec, origin)
        conformed[spec.name] = array.astype(_float_dtype(spec), copy=False)
    return conformed


def check_values(array: np.ndarray, origin: str) -> None:
    """Real numbers only, and finite: NaN/Inf crash converters and make any parity verdict meaningless."""
    if array.dtype.kind not in "biuf":
        kind = {"c": "complex", "U": "string", "S": "bytes", "O": "object", "V": "structured"}.get(array.dtype.kind, "")
        raise UsageError(
            f"{origin} holds {kind or array.dtype.name} values ({array.dtype})", hint="save real-valued arrays"
        )
    if array.dtype.kind != "f" or not array.size:
        return
    bad = sum(int(np.count_nonzero(~np.isfinite(chunk))) for chunk in chunks(array))
    if bad:
        raise UsageError(
            f"{origin} has {bad} NaN/Inf value{'s' if bad != 1 else ''} of {array.size}",
            hint="drop or fix those samples",
        )


def _float_dtype(spec: TensorSpec) -> str:
    # Reference models take float inputs; integer inputs (token ids, indices) keep their type.
    return spec.dtype if spec.dtype else "float32"


def fed_whole(spec: TensorSpec, array: np.ndarray) -> bool:
    """Data with one axis more than the model input holds each sample in the input's full shape (a recurrent
    state batched on axis 1, say): such a sample is fed exactly as stored, one call per sample."""
    return np.ndim(array) == len(spec.shape) + 1


def sample_shape(spec: TensorSpec, array: np.ndarray) -> tuple[int | None, ...]:
    """The shape one sample of `array` must have for this input."""
    return spec.shape if fed_whole(spec, array) else spec.sample_shape()


def _check_shape(array: np.ndarray, spec: TensorSpec, origin: str) -> None:
    want = sample_shape(spec, array)
    got = array.shape[1:]
    dims_match = len(want) == len(got) and all(w is None or w == g for w, g in zip(want, got, strict=True))
    if not dims_match:
        shown = "x".join("?" if d is None else str(d) for d in want)
        raise UsageError(
            f"{origin}: input '{spec.name}' has samples of shape {'x'.join(map(str, got)) or 'scalar'} "
            f"(array {tuple(array.shape)}), the model expects N x {shown}",
            hint="the first axis is the sample axis (an input batched on another axis: store each sample with the "
            "model's full shape); check layout (NHWC vs NCHW) and image size",
        )
