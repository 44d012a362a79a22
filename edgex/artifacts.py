"""Artifacts are never half-written and never overwritten by accident.

A converter writes into a temporary name in the destination folder; only a finished file is renamed into place
(an atomic rename on the same filesystem), and an existing artifact is replaced only with --force.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from edgex.errors import UsageError

TEMP_PREFIX = ".edgex-tmp-"


def prepare_output_dir(folder: Path) -> Path:
    """Create the output folder and prove it is writable before any slow conversion starts."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(
            f"output folder {folder} is not writable ({exc.strerror or exc})",
            hint="choose another folder with --out or fix its permissions",
        ) from None
    return folder


def refuse_overwrite(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise UsageError(f"{path} already exists", hint="pass --force to overwrite it or choose another --out")


@contextlib.contextmanager
def staged_file(final_path: Path, force: bool) -> Iterator[Path]:
    """Yield a temporary path beside `final_path`; rename it into place only if the block succeeds."""
    refuse_overwrite(final_path, force)
    handle, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=final_path.suffix, dir=final_path.parent)
    os.close(handle)
    temp_path = Path(temp_name)
    try:
        yield temp_path
        if not temp_path.exists() or temp_path.stat().st_size == 0:
            raise UsageError(f"the converter produced no output for {final_path.name}")
        os.chmod(temp_path, default_file_mode(0o666))  # mkstemp makes 0600; artifacts are shared files
        os.replace(temp_path, final_path)
    finally:
        temp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def staged_dir(final_path: Path, force: bool) -> Iterator[Path]:
    """Like staged_file, for tools that write a folder of outputs."""
    refuse_overwrite(final_path, force)
    temp_path = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=final_path.parent))
    try:
        yield temp_path
        if final_path.exists():
            shutil.rmtree(final_path) if final_path.is_dir() else final_path.unlink()
        os.chmod(temp_path, default_file_mode(0o777))
        os.replace(temp_path, final_path)
    finally:
        shutil.rmtree(temp_path, ignore_errors=True)


def default_file_mode(base: int) -> int:
    """`base` masked by the process umask, as open() would create the file."""
    mask = os.umask(0)
    os.umask(mask)
    return base & ~mask


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_tree(path: Path) -> str:
    """sha256 of a file, or of a folder's files (names and bytes) in sorted order."""
    if path.is_file():
        return sha256_file(path)
    digest = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(item.relative_to(path)).encode())
        digest.update(sha256_file(item).encode())
    return digest.hexdigest()


def size_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
