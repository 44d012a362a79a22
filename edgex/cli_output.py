"""Where the commands' output goes: --quiet / -v, `-` as stdout for a report, failed rows' reasons on stderr.

`--quiet` and `-v/--verbose` are accepted before the command (`edgex --quiet export ...`) and after it
(`edgex export ... --quiet`); both spellings land in the root context's `meta`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import IntEnum
from typing import Any

import click
from rich.console import Console

from edgex.report.files import STDOUT
from edgex.results import RowResult, RowStatus

_KEY = "edgex.verbosity"


class Verbosity(IntEnum):
    QUIET = 0  # errors and the final one-line verdict
    NORMAL = 1  # progress spinner, the table, notes and warnings
    VERBOSE = 2  # plus one line per step (conversion, validation, ...), without framework logs


def _remember(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        chosen = Verbosity.QUIET if param.name == "quiet" else Verbosity.VERBOSE
        meta = ctx.find_root().meta
        if meta.get(_KEY, chosen) != chosen:
            raise click.UsageError("--quiet and --verbose exclude each other", ctx)
        meta[_KEY] = chosen


def verbosity_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """--quiet and -v/--verbose, on the group and on each command that prints results."""
    quiet = click.option("--quiet", is_flag=True, expose_value=False, callback=_remember,
                         help="Print only errors and the final verdict line.")
    verbose = click.option("--verbose", "-v", is_flag=True, expose_value=False, callback=_remember,
                           help="Print a line per step as well.")
    return quiet(verbose(function))


def verbosity() -> Verbosity:
    context = click.get_current_context(silent=True)
    return Verbosity(context.find_root().meta.get(_KEY, Verbosity.NORMAL)) if context else Verbosity.NORMAL


def to_stdout(paths: Iterable[Any]) -> bool:
    """A report goes to stdout (`-`): the table and verdict then go to stderr, so stdout stays one document."""
    return any(path is not None and str(path) == STDOUT for path in paths)


def results_console(stderr: bool) -> Console:
    """The console of the table and verdict; in CI logs (no terminal) wide enough not to fold the table."""
    console = Console(stderr=stderr)
    if not console.is_terminal:
        console = Console(stderr=stderr, width=max(console.width, 200))
    return console


def echo_failures(rows: Iterable[tuple[str, RowResult]], reason: Callable[[RowResult], str]) -> None:
    """One line per failed row on stderr (label, status, reason), so a log grep or a wrapper sees why."""
    for label, row in rows:
        if row.status in (RowStatus.PARITY_FAILED, RowStatus.EXPORT_FAILED):
            what = "parity failed" if row.status is RowStatus.PARITY_FAILED else "export failed"
            where = f"{label} {row.mode}".strip()
            click.echo(f"edgex: {row.status.icon} {where}: {what}: {reason(row)}", err=True)
