"""A progress bar with ETA for long passes over data (validation), on stderr for people only.

Shown when stderr is a terminal, not in CI (the CI variable that GitHub Actions, GitLab and most runners set),
and not when quiet (`--quiet`, or EDGEX_QUIET=1): one function, enabled(), decides.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rich.console import Console

QUIET_VARIABLE = "EDGEX_QUIET"


def enabled() -> bool:
    from edgex.cli_output import Verbosity, verbosity

    if os.environ.get(QUIET_VARIABLE, "") not in ("", "0") or os.environ.get("CI", "") not in ("", "0", "false"):
        return False
    return verbosity() is not Verbosity.QUIET and sys.stderr.isatty()


class Advance(Protocol):
    def __call__(self, samples: int) -> None: ...


@cache
def stderr_console() -> Console:
    """The one console on stderr: the CLI's spinner and this bar share it, so rich nests them instead of both
    redrawing the same lines."""
    from rich.console import Console

    return Console(stderr=True)


@contextmanager
def progress(description: str, total: int | None) -> Iterator[Advance]:
    """Yields advance(samples); a no-op unless enabled(). Transient: the bar is gone once the pass is done."""
    if not enabled():
        yield lambda samples: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr_console(), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda samples: bar.advance(task, samples)
