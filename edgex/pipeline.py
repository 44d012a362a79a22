"""Steps shared by export and validate: demo defaults, data loading, source and data descriptions."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from edgex.artifacts import sha256_tree
from edgex.data.inputs import InputSet
from edgex.data.providers import DataSpec, load_inputs
from edgex.data.stream import DataStream
from edgex.demo import DemoModel, resolve_demo
from edgex.results import DataInfo, SourceInfo
from edgex.sources import SourceOptions, SourceRef
from edgex.specs import ModelSignature, RunnerInfo
from edgex.transfer import read_npy_header
from edgex.workers import WorkerPool


@dataclass(frozen=True)
class BenchConfig:
    threads: int = 1
    warmup: int = 5
    runs: int = 50  # 0 disables latency measurement


@dataclass(frozen=True)
class ParityConfig:
    validation: DataSpec | None = None
    labels: Path | None = None
    class_output: str | None = None
    threshold_overrides: dict[str, float | None] = field(default_factory=dict)
    bench: BenchConfig = field(default_factory=BenchConfig)
    metrics: tuple[str, ...] = ()  # --metric module:function task metrics (edgex/parity/task.py)
    state: tuple[tuple[str, str], ...] = ()  # --state IN=OUT: validation runs as one sequence (validation.py)
    validation_samples: int | None = None  # --val-samples, kept for data that comes later (the demo's)


def with_data_shapes(options: SourceOptions, data: DataSpec | None) -> SourceOptions:
    """Example shapes from a .npy/.npz data file (read without loading the arrays), for PyTorch factories that
    give no example inputs: `validate factory.py:build art.pte --data val.npz` needs no --input-shape.

    A 0-d array in an .npz has no sample axis, so it can only be a constant input (a sample rate): it becomes a
    --const-input unless one of that name was given."""
    if data is None or not data.spec.lower().endswith((".npy", ".npz")):
        return options
    path = Path(data.spec).expanduser()
    if not path.is_file():
        return options  # reported by the data loader, with its own message
    try:
        headers = _array_headers(path)
        options = _with_data_constants(options, path, [name for name, shape, _ in headers if name and not shape])
    except (OSError, ValueError, zipfile.BadZipFile):
        return options  # reported by the data loader, with its own message
    headers = [header for header in headers if header[1]]
    if options.input_shapes or not headers or any(dtype.kind not in "biuf" for _, _, dtype in headers):
        return options  # non-numeric arrays: the data checks say what is wrong with them
    shapes = tuple((1, *(int(d) for d in shape[1:])) for _, shape, _ in headers)
    return replace(options, data_shapes=shapes, data_dtypes=tuple(str(dtype) for _, _, dtype in headers))


def _with_data_constants(options: SourceOptions, path: Path, names: list[str]) -> SourceOptions:
    import json

    given = {name for name, _ in options.const_inputs}
    names = [name for name in names if name not in given]
    if not names:
        return options
    with np.load(path, allow_pickle=False) as stored:
        values = {name: stored[name] for name in names}
    found = tuple(
        (name, json.dumps(value.item())) for name, value in values.items() if value.dtype.kind in "biuf"
    )
    return replace(options, const_inputs=options.const_inputs + found)


def _array_headers(path: Path) -> list[tuple[str, tuple[int, ...], np.dtype]]:
    """(name, shape, dtype) of each input array in a .npy (name '') or .npz, from the headers alone (the data
    loader reads the arrays later; reading them here too would double the I/O of every export)."""
    def header(stream: Any) -> tuple[tuple[int, ...], np.dtype]:
        shape, _, dtype = read_npy_header(stream)
        return tuple(shape), dtype

    if path.suffix.lower() == ".npy":
        with path.open("rb") as stream:
            return [("", *header(stream))]
    with zipfile.ZipFile(path) as archive:
        members = [name for name in archive.namelist() if name.endswith(".npy") and name != "labels.npy"]
        headers = []
        for name in members:
            with archive.open(name) as member:
                headers.append((name.removesuffix(".npy"), *header(member)))
        return headers


def demo_for(source: str) -> DemoModel | None:
    return resolve_demo(source)


def demo_parity(parity: ParityConfig, demo: DemoModel) -> ParityConfig:
    """The demo's held-out split and labels, unless the user gave validation data of their own."""
    if parity.validation is not None:
        return parity
    return replace(
        parity,
        validation=DataSpec(str(demo.validation), parity.validation_samples),
        labels=demo.labels,
    )


def load_validation(parity: ParityConfig, signature: ModelSignature) -> InputSet | None:
    if parity.validation is None:
        return None
    return load_inputs(parity.validation, signature, "validation", labels_path=parity.labels)


def overlap_warning(calibration: InputSet | None, validation: InputSet | None) -> str | None:
    """Calibrating on validation samples flatters int8 parity: say so."""
    if calibration is None or validation is None:
        return None
    shared = len(calibration.sample_hashes() & validation.sample_hashes())
    if not shared:
        return None
    return (
        f"{shared} of {len(validation)} validation samples also appear in the calibration set: "
        "int8 parity on them is optimistic; use disjoint splits"
    )


def describe_source(ref: SourceRef, info: RunnerInfo | None) -> SourceInfo:
    return SourceInfo(
        spec=ref.spec,
        format=ref.format,
        path=str(ref.path) if ref.path else None,
        sha256=sha256_tree(ref.path) if ref.path and ref.path.exists() else None,
        signature=info.signature if info else None,
        runtime=info.runtime if info else None,
    )


def describe_data(inputs: InputSet | DataStream | None) -> DataInfo | None:
    if inputs is None:
        return None
    return DataInfo(
        origin=inputs.origin, samples=len(inputs), sha256=inputs.fingerprint(), labels=inputs.labels is not None
    )


def collect_versions(pool: WorkerPool, kinds: set[str]) -> dict[str, str]:
    from edgex import __version__

    versions = {"edgex": __version__}
    for kind in sorted(kinds):
        found: dict[str, str] = pool.shared(kind).call(
            "edgex.sources.base:framework_versions", what=f"reading {kind} versions"
        )
        versions.update(found)
    return versions
