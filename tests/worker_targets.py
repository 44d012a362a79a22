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
