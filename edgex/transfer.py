"""Large arrays reach a worker through files, not through its socket (issue 14).

Validation batches: sending a 64-image batch (38 MB) by pickle costs four copies and a blocking socket write per
worker, paid on the critical path of every batch. Here the parent writes the arrays once into the worker's transfer
file (page cache) and sends a small descriptor (SharedArrays); the worker maps the file copy-on-write and gets plain
arrays over the same pages. One call at a time per worker (Worker.submit's rule) lets each call reuse the file.

Calibration sets: spooled to .npy files (NpyWriter) and handed around as FileArrays, which pickle as file names and
read a few rows at a time (NpyRows), so neither the CLI nor the converter holds the set.
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


def read_npy_header(file: Any) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, Fortran order and dtype from an open .npy stream, left at the first byte of the data."""
    version = np.lib.format.read_magic(file)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran_order, dtype = read(file)
    return shape, fortran_order, dtype


class LazyRows:
    """An array-like on disk read a few rows at a time: len(), shape, dtype, slices, row indices and sorted index
    arrays (what converters, hashing and streaming use) give ndarrays; np.asarray reads it whole."""

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.shape, self.dtype, self.ndim = shape, dtype, len(shape)
        self.size = int(np.prod(shape))
        self.nbytes = self.size * dtype.itemsize
        self._row_bytes = int(np.prod(shape[1:])) * dtype.itemsize

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        whole = self[:]
        return whole if dtype is None else whole.astype(dtype)

    def __getitem__(self, key: int | slice | np.ndarray) -> np.ndarray:
        if isinstance(key, int | np.integer):
            index = int(key) + (len(self) if key < 0 else 0)
            if not 0 <= index < len(self):
                raise IndexError(f"row {key} of {len(self)}")
            row: np.ndarray = self._rows(index, index + 1)[0]
            return row
        if isinstance(key, slice) and key.step in (None, 1):
            start, stop, _ = key.indices(len(self))
            return self._rows(start, max(start, stop))
        positions = np.arange(len(self))[key]
        return np.stack([self._rows(int(p), int(p) + 1)[0] for p in positions]) if len(positions) else self._rows(0, 0)

    def _rows(self, start: int, stop: int) -> np.ndarray:
        raise NotImplementedError


class NpyRows(LazyRows):
    """An .npy file read a few rows at a time with plain reads: a calibration loop holds the rows it is feeding,
    and no memory mapping keeps every page it has read counted in its process's RSS."""

    def __init__(self, path: str) -> None:
        self.path = path
        with open(path, "rb") as file:
            shape, fortran_order, dtype = read_npy_header(file)
            self.offset = file.tell()
        if fortran_order or dtype.hasobject or not shape:
            raise ValueError(f"{path}: NpyRows reads C-ordered numeric arrays with a sample axis")
        super().__init__(shape, dtype)

    def _rows(self, start: int, stop: int) -> np.ndarray:
        buffer = bytearray((stop - start) * self._row_bytes)  # writable: torch.from_numpy takes it without a warning
        with open(self.path, "rb") as file:
            file.seek(self.offset + start * self._row_bytes)
            file.readinto(buffer)
        return np.frombuffer(buffer, dtype=self.dtype).reshape((stop - start, *self.shape[1:]))


class NpyWriter:
    """Writes an .npy file a batch of rows at a time, with plain file writes (a mapping would keep the pages)."""

    def __init__(self, path: str, dtype: np.dtype, shape: tuple[int, ...]) -> None:
        self.path, self.shape = path, shape
        self._row_bytes = int(np.prod(shape[1:])) * dtype.itemsize
        header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
        with open(path, "wb") as file:
            np.lib.format.write_array_header_2_0(file, header)
            self._offset = file.tell()
            file.truncate(self._offset + shape[0] * self._row_bytes)

    def write(self, start: int, rows: np.ndarray) -> None:
        with open(self.path, "r+b") as file:
            file.seek(self._offset + start * self._row_bytes)
            file.write(np.ascontiguousarray(rows).reshape(-1).view(np.uint8).data)


class FileArrays(dict[str, Any]):
    """Arrays kept in .npy files, read a few rows at a time (NpyRows) wherever they are: a calibration set crosses
    to a converter worker as file names, and neither side holds more of it than the rows in use."""

    def __init__(self, paths: Mapping[str, str]) -> None:
        super().__init__({name: NpyRows(path) for name, path in paths.items()})
        self.paths = dict(paths)

    def __reduce__(self) -> tuple[type[FileArrays], tuple[dict[str, str]]]:
        return FileArrays, (self.paths,)
