"""Runner protocol and the functions every worker offers for runners (load, run, time, memory).

These run inside worker processes: a runner wraps one framework's model behind numpy in, numpy out.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from edgex.parity.performance import MemoryStats
from edgex.specs import RunnerInfo
from edgex.workers import Kept, import_target

if TYPE_CHECKING:
    from edgex.sources import SourceRef


class Runner(Protocol):
    info: RunnerInfo

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run a batch (first axis = samples); returns float/int outputs keyed by output name."""

    def prepare(self, sample: dict[str, np.ndarray]) -> Any:
        """Turn one sample into whatever `invoke` takes, so timing excludes conversion."""

    def invoke(self, prepared: Any) -> Any:
        """One inference, as an app would call it."""


_state: dict[str, float] = {}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def open_runner(ref: SourceRef, threads: int) -> Kept:
    from edgex.sources import get_format

    _state["before_load_mb"] = _peak_rss_mb()
    load: Callable[[SourceRef, int], Runner] = import_target(get_format(ref.format).loader)
    runner = load(ref, threads)
    return Kept(runner, runner.info)


def run(runner: Runner, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    whole = _fed_whole(runner, inputs)
    return _run_per_sample(runner, inputs, whole) if whole else runner.run(inputs)


def _fed_whole(runner: Runner, inputs: dict[str, np.ndarray]) -> set[str]:
    """Inputs whose data hold each sample in the model's full shape (see edgex.data.inputs.fed_whole)."""
    from edgex.data.inputs import fed_whole

    return {spec.name for spec in runner.info.signature.inputs if fed_whole(spec, inputs[spec.name])}


def _run_per_sample(runner: Runner, inputs: dict[str, np.ndarray], whole: set[str]) -> dict[str, np.ndarray]:
    """One call per sample with each input in the model's exact shape; outputs with a leading batch of 1 are
    joined on it, the others (a state batched on another axis) stacked on a new sample axis."""
    from edgex.errors import UsageError

    if not hasattr(runner, "named_outputs"):
        raise UsageError(
            f"inputs {sorted(whole)} are given per sample in the model's full shape, which this model format's "
            "runner cannot feed",
            hint="give those inputs with the sample axis first, as the model's batch axis",
        )
    count = len(next(iter(inputs.values())))
    parts = [runner.named_outputs(runner.invoke(runner.prepare(_sample(inputs, whole, i)))) for i in range(count)]
    return {
        name: np.concatenate(values) if values[0].ndim and values[0].shape[0] == 1 else np.stack(values)
        for name in parts[0]
        for values in [[np.asarray(part[name]) for part in parts]]
    }


def _sample(inputs: dict[str, np.ndarray], whole: set[str], index: int) -> dict[str, np.ndarray]:
    return {name: array[index] if name in whole else array[index : index + 1] for name, array in inputs.items()}


def benchmark(runner: Runner, sample: dict[str, np.ndarray], warmup: int, runs: int) -> list[float]:
    """Milliseconds per inference call for `runs` timed calls after `warmup` untimed ones.

    A model with a static batch larger than 1 gets the sample repeated to fill it (the time is per call).
    """
    whole = _fed_whole(runner, sample)
    batch = getattr(runner, "batch_size", 1) or 1
    if whole:
        sample = _sample(sample, whole, 0)
    elif batch > 1:
        sample = {name: np.repeat(value[:1], batch, axis=0) for name, value in sample.items()}
    prepared = runner.prepare(sample)
    for _ in range(warmup):
        runner.invoke(prepared)
    timings = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        runner.invoke(prepared)
        timings.append((time.perf_counter_ns() - start) / 1e6)
    return timings


def memory() -> MemoryStats:
    return MemoryStats(peak_rss_mb=_peak_rss_mb(), before_load_mb=_state.get("before_load_mb", 0.0))


def framework_versions() -> dict[str, str]:
    """Versions of the frameworks this worker has imported (for reports)."""
    versions = {}
    for module in ("tensorflow", "keras", "ai_edge_litert", "tflite_runtime", "torch", "executorch", "onnxruntime"):
        loaded = sys.modules.get(module)
        if loaded is not None:
            versions[module] = str(getattr(loaded, "__version__", "unknown"))
    if "ai_edge_litert" in versions and versions["ai_edge_litert"] == "unknown":
        from importlib.metadata import version

        versions["ai_edge_litert"] = version("ai-edge-litert")
    return versions


def batched(inputs: dict[str, np.ndarray], batch_size: int) -> Iterator[tuple[int, int, dict[str, np.ndarray]]]:
    """Yield (start, stop, chunk) over the sample axis; the last chunk may be short."""
    count = len(next(iter(inputs.values())))
    for start in range(0, count, batch_size):
        stop = min(start + batch_size, count)
        yield start, stop, {name: array[start:stop] for name, array in inputs.items()}


def concat_outputs(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
