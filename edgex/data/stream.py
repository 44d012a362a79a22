"""Data as a stream of batches: validation reads a batch, runs it, keeps only running sums (issue 14).

Nothing here holds the whole set: .npy files and uncompressed .npz members are memory-mapped, image folders are
decoded a batch at a time, and `module:function` generators are called again for every pass. Labels (one int per
sample) and the list of files are the only per-sample state kept.
"""

from __future__ import annotations

import hashlib
import queue
import struct
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgex.data.inputs import InputSet, conform
from edgex.errors import UsageError
from edgex.specs import ModelSignature
from edgex.transfer import SHARE_MIN_BYTES, FileArrays, LazyRows, NpyWriter, read_npy_header

DEFAULT_BATCH = 64  # samples per worker call: the reference runners' own chunk, so outputs match a whole-set run
_ZIP_LOCAL_HEADER = 30  # bytes before the member's name in a zip local file header


@dataclass(frozen=True)
class Batch:
    arrays: dict[str, np.ndarray]  # conformed: checked and cast like InputSet arrays
    labels: np.ndarray | None  # the labels of these samples
    start: int  # index of the first sample in the stream


class DataError(UsageError):
    """Bad data met in the middle of a pass (an unreadable image): it fails the run, not one artifact's row."""


def prefetched(batches: Iterator[Batch], depth: int = 2) -> Iterator[Batch]:
    """Read the next batches in a thread while the models run the current one; at most `depth` wait in memory."""
    waiting: queue.Queue[Batch | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: Batch | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False  # the consumer left

    def produce() -> None:
        try:
            for batch in batches:
                if not offer(batch):
                    return
            offer(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            offer(exc)

    reader = threading.Thread(target=produce, name="edgex-prefetch", daemon=True)
    reader.start()
    try:
        while (item := waiting.get()) is not None:
            if isinstance(item, UsageError):
                raise DataError(item.message, hint=item.hint) from None
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


class DataStream:
    """`count` samples of every model input, read in batches; `select` keeps a sorted subset of them."""

    def __init__(
        self,
        count: int,
        origin: str,
        signature: ModelSignature,
        labels: np.ndarray | None = None,
        notes: Iterable[str] = (),
    ) -> None:
        self.count = count
        self.origin = origin
        self.signature = signature
        self.labels = labels
        self.notes = list(notes)
        self._positions: np.ndarray | None = None  # selected sample indices, None: all
        self._digest: str | None = None

    def __len__(self) -> int:
        return self.count if self._positions is None else len(self._positions)

    def select(self, samples: int | None, seed: int = 0) -> DataStream:
        """At most `samples`, drawn as InputSet.subset draws them (same samples, same order, same origin text)."""
        if samples is None or samples >= len(self):
            return self
        chosen = np.sort(np.random.default_rng(seed).choice(len(self), size=samples, replace=False))
        self.origin = f"{self.origin} ({samples} of {len(self)} samples)"
        self._positions = chosen
        self.labels = None if self.labels is None else self.labels[chosen]
        return self

    def batches(self, size: int = DEFAULT_BATCH) -> Iterator[Batch]:
        """Every selected sample once, in order; a complete pass over a one-input model also yields the
        fingerprint (no second pass over the data just to hash it)."""
        names = [spec.name for spec in self.signature.inputs]
        digest = hashlib.sha256(names[0].encode()) if self._digest is None and len(names) == 1 else None
        for batch in self._batches(size):
            if digest is not None:
                digest.update(np.ascontiguousarray(batch.arrays[names[0]]).tobytes())
            yield batch
        if digest is not None:
            self._digest = digest.hexdigest()

    def _batches(self, size: int) -> Iterator[Batch]:
        positions = np.arange(self.count) if self._positions is None else self._positions
        for start in range(0, len(positions), size):
            chosen = positions[start : start + size]
            arrays = conform(self._read(chosen), self.signature, self._where())
            labels = None if self.labels is None else self.labels[start : start + len(chosen)]
            yield Batch(arrays, labels, start)

    def head(self, count: int) -> InputSet:
        """The first `count` samples in memory (latency runs, layer debugging)."""
        parts = []
        taken = 0
        for batch in self.batches(min(count, DEFAULT_BATCH)):
            parts.append(batch)
            taken += len(next(iter(batch.arrays.values())))
            if taken >= count:
                break
        arrays = {name: np.concatenate([p.arrays[name] for p in parts])[:count] for name in parts[0].arrays}
        labels = None if self.labels is None else self.labels[: len(next(iter(arrays.values())))]
        return InputSet(arrays, origin=self.origin, labels=labels, notes=list(self.notes))

    def materialize(self) -> InputSet:
        """Every sample in memory (layer debugging, API callers that want arrays)."""
        return self.head(len(self))

    def spool(self, folder: Path, advance: Callable[[int], None] = lambda samples: None) -> InputSet:
        """Every sample written a batch at a time into .npy files in `folder`: a calibration set of any size costs
        one batch of memory here, and crosses to converter workers as file names read a few rows at a time
        (FileArrays)."""
        folder.mkdir(parents=True, exist_ok=True)
        writers: dict[str, NpyWriter] = {}
        for batch in self.batches():
            for name, array in batch.arrays.items():
                if name not in writers:  # files by position: input names may hold '/' or ':'
                    path = str(folder / f"{len(writers)}.npy")
                    writers[name] = NpyWriter(path, array.dtype, (len(self), *array.shape[1:]))
                wanted = writers[name].shape[1:]
                if array.shape[1:] != wanted:
                    raise DataError(
                        f"{self._where()}: input '{name}' has samples of shape {'x'.join(map(str, array.shape[1:]))} "
                        f"and {'x'.join(map(str, wanted))}",
                        hint="give every sample of an input the same shape",
                    )
                writers[name].write(batch.start, array)
            advance(len(next(iter(batch.arrays.values()))))
        paths = {name: writer.path for name, writer in writers.items()}
        return InputSet(FileArrays(paths), origin=self.origin, labels=self.labels, notes=list(self.notes))

    def fingerprint(self) -> str:
        """InputSet.fingerprint of the same samples, a batch at a time (one pass per input)."""
        if self._digest is None:
            digest = hashlib.sha256()
            for name in sorted(spec.name for spec in self.signature.inputs):
                digest.update(name.encode())
                for batch in self._batches(DEFAULT_BATCH):
                    digest.update(np.ascontiguousarray(batch.arrays[name]).tobytes())
            self._digest = digest.hexdigest()
        return self._digest

    def _where(self) -> str:
        return self.origin

    def _read(self, positions: np.ndarray) -> dict[str, np.ndarray]:
        raise NotImplementedError


class ArrayStream(DataStream):
    """Arrays keyed by input name: in memory, or memory-mapped so a batch reads only its own rows."""

    def __init__(
        self,
        arrays: Mapping[str, np.ndarray],
        origin: str,
        signature: ModelSignature,
        labels: np.ndarray | None = None,
        notes: Iterable[str] = (),
    ) -> None:
        counts = {len(array) if np.ndim(array) else 0 for array in arrays.values()}
        super().__init__(max(counts, default=0), origin, signature, labels, notes)
        self.arrays = dict(arrays)
        self.where = origin
        # names, shapes, counts before any model runs; values batch by batch (array files: check_up_front)
        conform({n: a[:1] if np.ndim(a) else a for n, a in self.arrays.items()}, signature, origin)
        if len(counts) != 1:
            raise UsageError(f"{origin}: inputs have different sample counts {sorted(counts)}")

    @classmethod
    def of(cls, inputs: InputSet, signature: ModelSignature) -> ArrayStream:
        return cls(inputs.arrays, inputs.origin, signature, inputs.labels, inputs.notes)

    def _where(self) -> str:
        return self.where

    def _read(self, positions: np.ndarray) -> dict[str, np.ndarray]:
        first, last = int(positions[0]), int(positions[-1])
        window = slice(first, last + 1) if last - first + 1 == len(positions) else positions
        return {name: np.asarray(array[window]) for name, array in self.arrays.items()}


class GeneratorStream(DataStream):
    """A `module:function` that yields samples (arrays or dicts by input name); called again for every pass.

    One pass counts and checks every sample before any model runs, so bad data fails the run up front.
    """

    def __init__(self, spec: str, function: Callable[[], Iterable[Any]], signature: ModelSignature, purpose: str):
        super().__init__(0, spec, signature)
        self.function = function
        self.purpose = purpose
        self.count = sum(1 for _ in self._samples())
        if not self.count:
            raise UsageError(f"{purpose} data '{spec}' yielded no samples")

    def _where(self) -> str:
        return f"{self.purpose} data '{self.origin}'"

    def _samples(self) -> Iterator[dict[str, np.ndarray]]:
        names = [spec.name for spec in self.signature.inputs]
        try:
            for item in self.function():
                sample = item if isinstance(item, dict) else {names[0]: item} if len(names) == 1 else None
                if sample is None:
                    raise UsageError(f"{self._where()} must yield dicts keyed by input name {names}")
                if set(sample) != set(names):
                    raise UsageError(f"{self._where()} yielded keys {sorted(sample)}, expected {names}")
                arrays = {}
                for name in names:
                    value = np.asarray(sample[name])
                    arrays[name] = value if value.ndim == len(self.signature.input(name).shape) else value[None]
                conform(arrays, self.signature, self._where())
                yield arrays
        except UsageError:
            raise
        except Exception as exc:  # noqa: BLE001 - user code
            raise UsageError(f"{self._where()} raised {type(exc).__name__}: {exc}") from None

    def _batches(self, size: int) -> Iterator[Batch]:
        wanted = None if self._positions is None else set(self._positions.tolist())
        pending: list[dict[str, np.ndarray]] = []
        emitted = 0
        for index, sample in enumerate(self._samples()):
            if wanted is not None and index not in wanted:
                continue
            pending.append(sample)
            if len(pending) == size:
                yield self._batch(pending, emitted)
                emitted += len(pending)
                pending = []
        if pending:
            yield self._batch(pending, emitted)

    def _batch(self, samples: list[dict[str, np.ndarray]], start: int) -> Batch:
        arrays = {name: np.concatenate([s[name] for s in samples]) for name in samples[0]}
        labels = None if self.labels is None else self.labels[start : start + len(samples)]
        return Batch(conform(arrays, self.signature, self._where()), labels, start)


def open_npy(path: Path) -> np.ndarray:
    """A .npy file memory-mapped read-only: batches page in their rows only."""
    mapped: np.ndarray = np.load(path, mmap_mode="r", allow_pickle=False)
    return mapped


def open_npz(path: Path) -> dict[str, np.ndarray]:
    """Every member of an .npz: memory-mapped when stored uncompressed (np.savez); large compressed members
    (np.savez_compressed) decompressed a batch at a time as passes read them; small ones read once."""
    arrays: dict[str, Any] = {}
    with zipfile.ZipFile(path) as archive, np.load(path, allow_pickle=False) as stored:
        members = {info.filename: info for info in archive.infolist()}
        for key in stored.files:
            info = members.get(f"{key}.npy")
            lazy: Any = None
            if info is not None:
                lazy = _mapped_member(path, info)
                lazy = CompressedMember.open(path, info) if lazy is None else lazy
            arrays[key] = lazy if lazy is not None else stored[key]
    return arrays


class CompressedMember(LazyRows):
    """The rows of a compressed .npz member, inflated front to back as a pass asks for them: np.load would inflate
    the whole array. Reading backwards starts the member again (zipfile's seek); one pass reads it once."""

    def __init__(self, path: Path, member: str, data_offset: int, shape: tuple[int, ...], dtype: np.dtype) -> None:
        super().__init__(shape, dtype)
        self.path, self.member, self.data_offset = path, member, data_offset
        self._file: Any = None
        self._lock = threading.Lock()  # the prefetch thread and the caller never read at once, but be sure

    @classmethod
    def open(cls, path: Path, info: zipfile.ZipInfo) -> CompressedMember | None:
        """None where reading it whole is as good: small, 0-d, Fortran-ordered or object members."""
        if info.file_size < SHARE_MIN_BYTES:
            return None
        with zipfile.ZipFile(path) as archive, archive.open(info) as file:
            shape, fortran_order, dtype = read_npy_header(file)
            offset = file.tell()
        if fortran_order or dtype.hasobject or not shape or 0 in shape:
            return None
        return cls(path, info.filename, offset, shape, dtype)

    def _rows(self, start: int, stop: int) -> np.ndarray:
        wanted = (stop - start) * self._row_bytes
        with self._lock:
            try:
                if self._file is None:
                    self._file = zipfile.ZipFile(self.path).open(self.member)  # noqa: SIM115 - open while in use
                self._file.seek(self.data_offset + start * self._row_bytes)
                data = self._file.read(wanted)
                if len(data) != wanted:
                    raise EOFError(f"{len(data)} of {wanted} bytes")
            except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:  # found only once a pass reaches it
                self._file = None
                raise UsageError(
                    f"{self.path}: array '{self.member.removesuffix('.npy')}' is damaged ({exc})",
                    hint="save the data again (np.savez_compressed)",
                ) from None
        return np.frombuffer(data, dtype=self.dtype).reshape((stop - start, *self.shape[1:]))


def _mapped_member(path: Path, info: zipfile.ZipInfo) -> np.ndarray | None:
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    with path.open("rb") as file:
        file.seek(info.header_offset)
        header = file.read(_ZIP_LOCAL_HEADER)
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        file.seek(info.header_offset + _ZIP_LOCAL_HEADER + name_length + extra_length)
        shape, fortran_order, dtype = read_npy_header(file)
        if dtype.hasobject:
            return None  # np.load refuses it with a clear message
        offset = file.tell()
    if not shape or 0 in shape:
        return None
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran_order else "C")
