"""Every artifact runs before it is reported: loaded and invoked once in its runtime, in that runtime's worker.

A converter can write a file its runtime then refuses (LiteRT's embedding lookup with a non-zero zero point, an
op the runtime lacks). Such a file is removed from the output folder (kept under --keep-failed) and its row says
why, naming the failing op when the runtime does. With validation data the parity run is that invocation; without
it, `check_runs` feeds the artifact one sample of zeros.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from edgex.errors import ConversionError
from edgex.sources import SourceRef
from edgex.sources.remote import RemoteRunner
from edgex.workers import WorkerPool

# LiteRT: "Node number 1 (EMBEDDING_LOOKUP) failed to prepare"; ExecuTorch: "Missing operator: ... aten::foo".
_FAILING_OP = (
    re.compile(r"\(([A-Z][A-Z0-9_]+)\) failed to (?:prepare|invoke)"),
    re.compile(r"[Mm]issing operator:?\s*\[?\d*\]?\s*([\w:.]+)"),
)


def failing_op(message: str) -> str | None:
    """The op a runtime's error names, if it names one."""
    for pattern in _FAILING_OP:
        found = pattern.search(message)
        if found:
            return found.group(1)
    return None


def check_runs(pool: WorkerPool, artifact: SourceRef, threads: int, timeout: float) -> None:
    """Load the artifact and invoke it once on zeros (dynamic dimensions as 1); ConversionError if it cannot.
    Runs in the pool's shared worker of the runtime's kind: no process start per artifact (a crash replaces it)."""
    runner = RemoteRunner(pool, artifact, threads=threads, load_failure=ConversionError, shared=True)
    try:
        info = runner.load()
        feed = {
            spec.name: np.zeros(tuple(1 if d is None else d for d in spec.shape), dtype=spec.dtype)
            for spec in info.signature.inputs
        }
        runner.run(feed, timeout=timeout)
    finally:
        runner.close()


def unrunnable(path: Path, error: ConversionError, keep: bool) -> tuple[ConversionError, dict[str, Any]]:
    """The row's error for an artifact its runtime cannot run, and the facts for its details; removes the file
    unless `keep`."""
    if not keep:
        path.unlink(missing_ok=True)
    op = failing_op(error.message)
    fate = "kept (--keep-failed)" if keep else "removed"
    where = f" at op {op}" if op else ""
    found = ConversionError(
        f"{path.name} was written but does not run{where}; {fate}: {error.message}",
        hint="try another --quantize recipe or route; --keep-failed keeps such files for inspection",
    )
    found.details = error.details
    return found, {"file": path.name, "failing_op": op, "kept": keep, "error": error.message}
