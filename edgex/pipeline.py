"""Steps shared by export and validate: demo defaults, data loading, source and data descriptions."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from edgex.artifacts import sha256_tree
from edgex.data.inputs import InputSet
from edgex.data.providers import DataSpec, load_inputs
from edgex.demo import DemoModel, resolve_demo
from edgex.results import DataInfo, SourceInfo
from edgex.sources import SourceOptions, SourceRef
from edgex.specs import ModelSignature, RunnerInfo
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


def with_data_shapes(options: SourceOptions, data: DataSpec | None) -> SourceOptions:
    """Example shapes from a .npy/.npz data file (read without loading the arrays), for PyTorch factories that
    give no example inputs: `validate factory.py:build art.pte --data val.npz` needs no --input-shape."""
    if data is None or options.input_shapes or not data.spec.lower().endswith((".npy", ".npz")):
        return options
    path = Path(data.spec).expanduser()
    if not path.is_file():
        return options  # reported by the data loader, with its own message
    try:
        loaded = np.load(path, mmap_mode="r", allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            arrays = [loaded]
        else:
            with loaded:
                arrays = [loaded[name] for name in loaded.files if name != "labels"]
    except (OSError, ValueError):
        return options  # reported by the data loader, with its own message
    if not arrays or any(array.ndim == 0 for array in arrays):
        return options
    shapes = tuple((1, *(int(d) for d in array.shape[1:])) for array in arrays)
    return replace(options, data_shapes=shapes, data_dtypes=tuple(str(array.dtype) for array in arrays))


def demo_for(source: str) -> DemoModel | None:
    return resolve_demo(source)


def demo_parity(parity: ParityConfig, demo: DemoModel) -> ParityConfig:
    """The demo's held-out split and labels, unless the user gave validation data of their own."""
    if parity.validation is not None:
        return parity
    return ParityConfig(
        validation=DataSpec(str(demo.validation)),
        labels=demo.labels,
        class_output=parity.class_output,
        threshold_overrides=parity.threshold_overrides,
        bench=parity.bench,
        metrics=parity.metrics,
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


def describe_data(inputs: InputSet | None) -> DataInfo | None:
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
