"""Large arrays reach a worker through a file both processes map, not through its socket (issue 14).

Sending a 64-image batch (38 MB) by pickle costs four copies and a blocking socket write per worker, paid on the
critical path of every validation batch. Here the parent writes the arrays once into the worker's transfer file
(page cache) and sends a small descriptor; the worker maps the file copy-on-write and gets plain arrays over the
same pages. One call at a time per worker (Worker.submit's rule) is what lets each call reuse the file.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SHARE_MIN_BYTES = 1 << 20  # smaller payloads go by pickle: a file round trip is not worth it
_ALIGN = 64  # bytes: each array starts on a cache line (and any dtype's alignment)


@dataclass(frozen=True)
class SharedArrays:
    """Where each array of a dict lies in a transfer file: what crosses the socket instead of the data."""

    path: str
    size: int  # bytes of the file this call uses
    fields: tuple[tuple[str, int, tuple[int, ...], str], ...]  # name, offset, shape, dtype

    def open(self) -> dict[str, np.ndarray]:
        """The arrays, mapped copy-on-write: writable (torch.from_numpy wants that), the file never changes."""
        with open(self.path, "rb") as file:
            mapped = mmap.mmap(file.fileno(), self.size, access=mmap.ACCESS_COPY)
        return {
            name: np.frombuffer(mapped, dtype=np.dtype(dtype), count=int(np.prod(shape)), offset=offset).reshape(shape)
            for name, offset, shape, dtype in self.fields
        }


class TransferFile:
    """One worker's transfer file, rewritten by every call that carries large arrays."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: Any = None

    def share(self, arrays: Mapping[str, np.ndarray]) -> SharedArrays:
        if self._file is None:
            self._file = open(self.path, "w+b")  # noqa: SIM115 - kept open for the worker's life, closed by close()
        fields = []
        offset = end = 0
        for name, array in arrays.items():
            offset = -(-end // _ALIGN) * _ALIGN
            contiguous = array if array.flags.c_contiguous else array.copy(order="C")  # keeps 0-d arrays 0-d
            fields.append((name, offset, contiguous.shape, contiguous.dtype.str))
            os.pwrite(self._file.fileno(), contiguous.reshape(-1).view(np.uint8).data, offset)
            end = offset + contiguous.nbytes
        return SharedArrays(str(self.path), end, tuple(fields))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self.path.unlink(missing_ok=True)


def worth_sharing(value: Any) -> bool:
    """A dict of plain numeric arrays, large enough that a file beats the socket."""
    if not isinstance(value, dict) or not value:
        return False
    if not all(isinstance(array, np.ndarray) and array.size and not array.dtype.hasobject for array in value.values()):
        return False
    return bool(sum(array.nbytes for array in value.values()) >= SHARE_MIN_BYTES)


class FileArrays(dict[str, np.ndarray]):
    """Arrays kept in .npy files and memory-mapped wherever they are unpickled: a calibration set crosses to a
    converter worker as file names, and only the samples a converter is reading are in memory (page cache)."""

    def __init__(self, paths: Mapping[str, str]) -> None:
        super().__init__({name: np.load(path, mmap_mode="c", allow_pickle=False) for name, path in paths.items()})
        self.paths = dict(paths)

    def __reduce__(self) -> tuple[type[FileArrays], tuple[dict[str, str]]]:
        return FileArrays, (self.paths,)
