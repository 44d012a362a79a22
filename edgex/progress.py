"""A progress bar with ETA for long passes over data (validation, calibration), on stderr for people only.

Shown when stderr is a terminal, not in CI (the CI variable that GitHub Actions, GitLab and most runners set),
and not when quiet (`--quiet`, or EDGEX_QUIET=1): one function, enabled(), decides.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
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
    def __call__(self, samples: int, total: int | None = None) -> None: ...


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
        yield lambda samples, total=None: None
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
        yield lambda samples, total=None: bar.update(task, advance=samples, total=total)  # None: total unchanged


@contextmanager
def reported(description: str) -> Iterator[Callable[[int, int], None]]:
    """A bar for work in a worker that says how far it got (workers.report_progress): yields update(done, total).
    The bar appears with the first report, so a step that reports nothing (no calibration) shows none."""
    with ExitStack() as stack:
        advance: Advance | None = None
        shown = 0

        def update(done: int, total: int) -> None:
            nonlocal advance, shown
            if advance is None:
                advance = stack.enter_context(progress(description, total))
            advance(done - shown, total)
            shown = done

        yield update
