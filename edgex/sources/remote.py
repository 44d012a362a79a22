"""Parent-side handle on a runner living in a worker process: the uniform reference-runner interface."""

from __future__ import annotations

import numpy as np

from edgex.errors import EdgexError, UsageError
from edgex.parity.performance import MemoryStats
from edgex.sources import SourceRef, ensure_loadable
from edgex.specs import RunnerInfo
from edgex.workers import Handle, Pending, Worker, WorkerPool

_BASE = "edgex.sources.base"


class RemoteRunner:
    """Loads `ref` in its own worker so that its timing and memory are its own.

    With `shared=True` it borrows the pool's shared worker of its kind instead (no extra framework import) for
    when only the signature is needed; `close()` then drops the model but keeps the worker.
    """

    def __init__(
        self,
        pool: WorkerPool,
        ref: SourceRef,
        *,
        threads: int,
        load_failure: type[EdgexError] = UsageError,
        shared: bool = False,
    ) -> None:
        source_format = ensure_loadable(ref)
        self.ref = ref
        self.shared = shared
        self.worker: Worker = pool.shared(source_format.worker) if shared else pool.dedicated(source_format.worker)
        self._threads = threads
        self._load_failure = load_failure
        self._handle: Handle | None = None

    def load(self) -> RunnerInfo:
        if self._handle is None:
            handle: Handle = self.worker.call(
                f"{_BASE}:open_runner",
                self.ref,
                self._threads,
                what=f"loading {self.ref.spec}",
                failure=self._load_failure,
            )
            self._handle = handle
        info: RunnerInfo = self._handle.summary  # what open_runner kept: the runner's RunnerInfo
        return info

    @property
    def info(self) -> RunnerInfo:
        return self.load()

    def run(self, inputs: dict[str, np.ndarray], timeout: float | None = None) -> dict[str, np.ndarray]:
        outputs: dict[str, np.ndarray] = self.worker.call(
            f"{_BASE}:run",
            self._loaded(),
            inputs,
            what=f"running {self.ref.spec}",
            failure=self._load_failure,
            timeout=timeout,
        )
        return outputs

    def submit_run(self, inputs: dict[str, np.ndarray]) -> Pending:
        """run() without waiting: collect with .result() (reference and artifact workers run side by side)."""
        return self.worker.submit(
            f"{_BASE}:run", self._loaded(), inputs, what=f"running {self.ref.spec}", failure=self._load_failure
        )

    def benchmark(self, sample: dict[str, np.ndarray], warmup: int, runs: int) -> list[float]:
        timings: list[float] = self.worker.call(
            f"{_BASE}:benchmark",
            self._loaded(),
            sample,
            warmup,
            runs,
            what=f"timing {self.ref.spec}",
            failure=self._load_failure,
        )
        return timings

    def memory(self) -> MemoryStats:
        stats: MemoryStats = self.worker.call(f"{_BASE}:memory", what="reading memory use")
        return stats

    def versions(self) -> dict[str, str]:
        versions: dict[str, str] = self.worker.call(f"{_BASE}:framework_versions", what="reading framework versions")
        return versions

    def close(self) -> None:
        if not self.shared:
            self.worker.close()
        elif self._handle is not None:
            self.worker.release(self._handle)
            self._handle = None

    def _loaded(self) -> Handle:
        self.load()
        assert self._handle is not None  # load() set it
        return self._handle
