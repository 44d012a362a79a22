"""Edge TPU settings carried in ExportOptions.target_options, checked once before any slow work starts."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from edgex.edgetpu.ops import KNOWN_RUNTIMES
from edgex.errors import UsageError

DEFAULT_TIMEOUT = 180.0  # the compiler's own default for -t


@dataclass(frozen=True)
class EdgeTPUOptions:
    compiler: str | None = None  # --edgetpu-compiler; else $EDGEX_EDGETPU_COMPILER, else PATH
    min_runtime: int | None = None  # -m; None: the compiler's default (14 for 16.0)
    num_segments: int | None = None  # -n: split for pipelining over several Edge TPUs
    search_delegate: bool = False  # -d: search for the largest graph that maps when an op does not
    delegate_search_step: int | None = None  # -k
    timeout: float = DEFAULT_TIMEOUT  # -t, seconds
    min_tpu_ops: float | None = None  # gate, in percent of ops; None: warn below 100 %

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> EdgeTPUOptions:
        """Validated settings; unknown keys are other targets' business and are ignored."""
        known = {f.name for f in fields(cls)}
        chosen = {key: value for key, value in values.items() if key in known and value is not None}
        if "min_tpu_ops" in chosen:
            chosen["min_tpu_ops"] = parse_percent(chosen["min_tpu_ops"])
        if "timeout" in chosen:
            chosen["timeout"] = float(chosen["timeout"])
        settings = cls(**chosen)
        settings._check()
        return settings

    def to_mapping(self) -> dict[str, Any]:
        return asdict(self)

    def _check(self) -> None:
        if self.min_runtime is not None and self.min_runtime not in KNOWN_RUNTIMES:
            raise UsageError(
                f"--min-runtime {self.min_runtime} is not an Edge TPU runtime version",
                hint=f"choose {KNOWN_RUNTIMES.start} to {KNOWN_RUNTIMES.stop - 1}",
            )
        if self.num_segments is not None and self.num_segments < 1:
            raise UsageError(f"--num-segments {self.num_segments} must be at least 1")
        if self.delegate_search_step is not None:
            if not self.search_delegate:
                raise UsageError("--delegate-search-step needs --search-delegate")
            if self.delegate_search_step < 1:
                raise UsageError(f"--delegate-search-step {self.delegate_search_step} must be at least 1")
        if not math.isfinite(self.timeout) or self.timeout <= 0:
            raise UsageError(f"--edgetpu-timeout {self.timeout:g} must be a positive number of seconds")

    @property
    def compiler_path(self) -> Path | None:
        return Path(self.compiler).expanduser() if self.compiler else None


def parse_percent(value: float | str) -> float:
    """'100%', '87.5' or 90 -> a percentage in [0, 100]."""
    text = str(value).strip().removesuffix("%").strip()
    try:
        percent = float(text)
    except ValueError:
        raise UsageError(f"--min-tpu-ops {value!r} is not a percentage", hint="e.g. --min-tpu-ops 100%") from None
    if not 0.0 <= percent <= 100.0:
        raise UsageError(f"--min-tpu-ops {value!r} is outside 0-100%")
    return percent
