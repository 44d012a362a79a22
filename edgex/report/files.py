"""Report files are written atomically too (a CI job must never read half a report)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from edgex.artifacts import default_file_mode
from edgex.errors import UsageError


def write_text_atomic(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=".edgex-tmp-", dir=path.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temp, default_file_mode(0o666))
        os.replace(temp, path)
    except OSError as exc:
        raise UsageError(f"cannot write report {path} ({exc.strerror or exc})") from None
