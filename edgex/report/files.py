"""Report files are written atomically too (a CI job must never read half a report)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from edgex.artifacts import default_file_mode, temp_prefix
from edgex.errors import UsageError

STDOUT = "-"  # a report path that means standard output


def write_text_atomic(path: Path, text: str) -> None:
    if str(path) == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    temp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=temp_prefix(), dir=path.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temp, default_file_mode(0o666))
        os.replace(temp, path)
        temp = None
    except OSError as exc:
        raise UsageError(f"cannot write report {path} ({exc.strerror or exc})") from None
    finally:
        if temp is not None:  # a failed write (a folder in the way, a full disk) leaves nothing behind
            Path(temp).unlink(missing_ok=True)


def check_report_paths(paths: dict[str, Path | None]) -> None:
    """Check every report path (option name -> path) at once, before any model loads; `-` (stdout) takes one."""
    on_stdout = [option for option, path in paths.items() if path is not None and str(path) == STDOUT]
    if len(on_stdout) > 1:
        raise UsageError(f"{' and '.join(on_stdout)} both write to stdout ('-')", hint="give all but one a file path")
    for option, path in paths.items():
        if path is not None and str(path) != STDOUT:
            check_report_path(Path(path), option)


def check_report_path(path: Path, option: str) -> None:
    """Refuse a report path that cannot be written, before any model loads (exit 2, one line)."""
    if path.is_dir():
        raise UsageError(f"{option} {path} is a folder", hint="give a file path")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:  # the writer creates missing folders
        folder = folder.parent
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: {folder} is a file, not a folder", hint="choose another path")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: folder {folder} is not writable", hint="choose another path")
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{option} {path}: file is not writable", hint="choose another path or fix its permissions")
