"""Functions the worker tests run inside real worker processes."""

from __future__ import annotations

import os
import signal
import time

from edgex.errors import UsageError
from edgex.workers import Kept


def segfault() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def sleep(seconds: float) -> None:
    time.sleep(seconds)


def raise_usage() -> None:
    raise UsageError("bad shape", hint="fix it")


def divide_by_zero() -> float:
    return 1 / 0


def add(a: int, b: int) -> int:
    return a + b


def keep_counter() -> Kept:
    return Kept({"count": 0}, "counter")


def bump(counter: dict) -> int:
    counter["count"] += 1
    return counter["count"]


def loaded_frameworks() -> list[str]:
    import sys

    return sorted(m for m in ("torch", "tensorflow", "keras") if m in sys.modules)


def describe_arrays(arrays: dict) -> dict:
    """What arrived: each array's type, dtype, shape, writability and a copy of its values."""
    import numpy as np

    return {
        name: (type(array).__name__, array.dtype.str, array.shape, array.flags.writeable, np.array(array))
        for name, array in arrays.items()
    }


def scribble(arrays: dict) -> float:
    """Writes into what it received (as in-place framework ops may): the parent's data must not change."""
    for array in arrays.values():
        array[...] = 0
    return float(sum(array.sum() for array in arrays.values()))


def count_up(total: int) -> int:
    """Reports each step as a converter's calibration loop does."""
    from edgex.workers import report_progress

    for done in range(1, total + 1):
        time.sleep(0.01)
        report_progress(done, total)
    return total
