"""Artifacts are never half-written, never overwritten by accident, and never written outside the output folder.

A converter writes into a temporary name in the destination folder; only a finished file is renamed into place
(an atomic rename on the same filesystem), and an existing artifact is replaced only with --force. Temporary names
carry the creating process id, so a run sweeps what dead runs (even SIGKILLed ones) left behind and nothing of a
live one.
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
LEGACY_TEMP_PREFIXES = (".edgex-route-",)  # written by edgex before temp names carried a process id


def temp_prefix(what: str = "") -> str:
    """Prefix of a temporary file or folder this process creates in an output folder."""
    return f"{TEMP_PREFIX}{os.getpid()}-{what}"


def inside(folder: Path, relative: str | Path, what: str = "path") -> Path:
    """`folder / relative`, refused (exit 2) unless it stays inside `folder` once resolved.

    The last component is not followed: replacing or deleting a symlink acts on the link, inside the folder.
    """
    candidate = Path(folder) / relative
    base = Path(folder).resolve()
    last_is_a_link_name = candidate.name not in ("", ".", "..")
    real = candidate.parent.resolve() / candidate.name if last_is_a_link_name else candidate.resolve()
    if real == base or not real.is_relative_to(base):
        raise UsageError(
            f"{what} '{relative}' would be written outside the output folder {folder}",
            hint="use a plain file name (no '/', '..' or absolute path)",
        )
    return candidate


def remove_inside(folder: Path, relative: str) -> bool:
    """Delete a file named by untrusted data (a cache file) only if it lies inside `folder`; False if refused."""
    try:
        path = inside(folder, relative)
    except UsageError:
        return False
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
    return True


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def _owner_alive(name: str) -> bool:
    pid_text = name[len(TEMP_PREFIX) :].split("-", 1)[0] if name.startswith(TEMP_PREFIX) else ""
    return pid_text.isdigit() and pid_alive(int(pid_text))


def sweep_temps(folder: Path) -> list[str]:
    """Remove temporary files and folders that dead edgex processes left in `folder`; returns their names."""
    swept = []
    with contextlib.suppress(OSError):
        for entry in Path(folder).iterdir():
            name = entry.name
            if not name.startswith((TEMP_PREFIX, *LEGACY_TEMP_PREFIXES)) or _owner_alive(name):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            swept.append(name)
    return swept


def prepare_output_dir(folder: Path) -> Path:
    """Create the output folder and prove it is writable before any slow conversion starts."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        sweep_temps(folder)
        handle, probe = tempfile.mkstemp(prefix=temp_prefix(), dir=folder)
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
    handle, temp_name = tempfile.mkstemp(prefix=temp_prefix(), suffix=final_path.suffix, dir=final_path.parent)
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
    temp_path = Path(tempfile.mkdtemp(prefix=temp_prefix(), dir=final_path.parent))
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
