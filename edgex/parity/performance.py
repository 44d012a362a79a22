"""Latency and memory figures of one runner."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LatencyStats:
    median_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    min_ms: float
    runs: int
    threads: int
    timings_ms: tuple[float, ...] = ()  # every timed run (plot data for box plots), rounded to 0.1 us

    @classmethod
    def from_timings(cls, timings_ms: list[float], threads: int) -> LatencyStats:
        values = np.asarray(timings_ms, dtype=np.float64)
        return cls(
            median_ms=float(np.median(values)),
            p90_ms=float(np.percentile(values, 90)),
            p99_ms=float(np.percentile(values, 99)),
            mean_ms=float(values.mean()),
            min_ms=float(values.min()),
            runs=len(values),
            threads=threads,
            timings_ms=tuple(round(float(v), 4) for v in values),
        )


@dataclass(frozen=True)
class MemoryStats:
    """Peak resident memory of a worker that loaded only this model."""

    peak_rss_mb: float
    before_load_mb: float  # interpreter + framework imports, before the model was loaded

    @property
    def model_mb(self) -> float:
        return max(0.0, self.peak_rss_mb - self.before_load_mb)
