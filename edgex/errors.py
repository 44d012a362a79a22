"""Error types and exit codes.

User errors (bad input, failed conversion, missing dependency) carry a one-line message and a hint and are shown
without a traceback; anything else is an internal error (a bug in edgex) and says so.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    PARITY_FAILED = 1
    USAGE = 2
    CONVERSION_FAILED = 3
    MISSING_DEPENDENCY = 4
    INTERNAL = 70


class EdgexError(Exception):
    """An error the user can act on: `message` says what and where, `hint` how to fix it."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, hint: str | None = None, details: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details  # e.g. a worker's traceback, shown with --debug only

    def __reduce__(self) -> tuple[type[EdgexError], tuple[str, str | None, str | None]]:
        # keep hint/details when crossing a process boundary
        return (type(self), (self.message, self.hint, self.details))

    def one_line(self) -> str:
        text = self.message.rstrip(".")
        if self.hint:
            text += f"; {self.hint}"
        return " ".join(text.split())


class UsageError(EdgexError):
    """Bad input: missing or corrupt file, wrong shapes, unknown target, unwritable folder."""

    exit_code = ExitCode.USAGE


class ConversionError(EdgexError):
    """The converter (or the runtime loading its output) failed."""

    exit_code = ExitCode.CONVERSION_FAILED


class MissingDependencyError(EdgexError):
    """An optional Python package or an external tool is not installed."""

    exit_code = ExitCode.MISSING_DEPENDENCY


class InternalError(EdgexError):
    """A bug in edgex: reported as such, with the traceback under --debug."""

    exit_code = ExitCode.INTERNAL


class Terminated(BaseException):
    """SIGTERM reached the CLI: unwinds like Ctrl-C (workers are ended on the way out), exit 143."""


def require_module(module: str, extra: str, purpose: str) -> None:
    """Fail with exit 4 and the pip extra to install when an optional framework is absent."""
    import importlib.util

    if importlib.util.find_spec(module.split(".")[0]) is None:
        raise MissingDependencyError(
            f"{purpose} needs the Python package '{module.split('.')[0]}', which is not installed",
            hint=f"pip install 'edgex[{extra}]'",
        )
