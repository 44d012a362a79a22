"""Read what `edgetpu_compiler` put into a model, without hardware: the `edgetpu-custom-op` and its DarwiNN package.

Layout (google-coral/libedgetpu, tflite/custom_op_data.cc and executable/executable.fbs):
- the custom op's options are a FlexBuffer map: "1" format version, "4" the serialized package, "5" execution
  preference, "6" chip ids, "7" further packages;
- a package is a FlatBuffer with file identifier "DWN1": table Package { 0 min_runtime_version: int,
  1 serialized_multi_executable: [ubyte], 2 signature, 3 keypair_version, 4 compiler_version: string,
  5 virtual_chip_id: int, 6 multi_chip_package, 7 model_identifier: string };
- MultiExecutable { 0 serialized_executables: [string] }, each an Executable { 1 name: string, 3 batch_size: int,
  6 parameters: [ubyte], 10 chip: string, 13 type: short (0 stand-alone, 1 parameter caching, 2 execution only),
  16 estimated_cycles_64bit: long }.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import flatbuffers
from flatbuffers import flexbuffers

from edgex.edgetpu.parser import format_bytes
from edgex.inspection import SummaryValue
from edgex.inspection.tflite import TFLiteModel

CUSTOM_OP = "edgetpu-custom-op"
PACKAGE_IDENTIFIER = b"DWN1"
EXECUTABLE_TYPES = {0: "stand-alone", 1: "parameter caching", 2: "execution only"}


class _Table:
    """Field access by index on a FlatBuffer table, for schemas edgex has no generated code for."""

    def __init__(self, buf: bytes, position: int) -> None:
        self._table = flatbuffers.table.Table(buf, position)
        self._buf = buf

    @classmethod
    def root(cls, buf: bytes) -> _Table:
        return cls(buf, flatbuffers.encode.Get(flatbuffers.packer.uoffset, buf, 0))

    def _offset(self, index: int) -> int:
        return int(self._table.Offset(4 + 2 * index))

    def scalar(self, index: int, flags: Any, default: int = 0) -> int:
        offset = self._offset(index)
        return self._table.Get(flags, offset + self._table.Pos) if offset else default

    def string(self, index: int) -> str | None:
        offset = self._offset(index)
        return self._table.String(offset + self._table.Pos).decode(errors="replace") if offset else None

    def byte_vector(self, index: int) -> bytes:  # not `bytes`: it would shadow the type in this class
        offset = self._offset(index)
        if not offset:
            return b""
        start = self._table.Vector(offset)
        return bytes(self._buf[start : start + self._table.VectorLen(offset)])

    def byte_strings(self, index: int) -> list[bytes]:
        offset = self._offset(index)
        if not offset:
            return []
        start = self._table.Vector(offset)
        return [self._table.String(start + 4 * i) for i in range(self._table.VectorLen(offset))]


@dataclass
class Executable:
    name: str | None
    kind: str
    chip: str | None
    batch_size: int
    parameter_bytes: int
    estimated_cycles: int


@dataclass
class DarwinnPackage:
    min_runtime_version: int
    compiler_version: str | None
    model_identifier: str | None
    virtual_chip_id: int
    executables: list[Executable] = field(default_factory=list)


@dataclass
class EdgeTPUOp:
    """One edgetpu-custom-op of a compiled model."""

    index: int
    format_version: int | None
    packages: list[DarwinnPackage]
    problems: list[str] = field(default_factory=list)  # what could not be read


def read_package(buf: bytes) -> DarwinnPackage:
    """A DWN1 package; ValueError when `buf` is something else."""
    if len(buf) < 8 or buf[4:8] != PACKAGE_IDENTIFIER:
        raise ValueError(f"not a DarwiNN package (identifier {bytes(buf[4:8])!r}, expected {PACKAGE_IDENTIFIER!r})")
    package = _Table.root(buf)
    result = DarwinnPackage(
        min_runtime_version=package.scalar(0, flatbuffers.number_types.Int32Flags),
        compiler_version=package.string(4),
        model_identifier=package.string(7),
        virtual_chip_id=package.scalar(5, flatbuffers.number_types.Int32Flags),
    )
    multi = package.byte_vector(1)
    if multi:
        for serialized in _Table.root(multi).byte_strings(0):
            executable = _Table.root(serialized)
            result.executables.append(
                Executable(
                    name=executable.string(1),
                    kind=EXECUTABLE_TYPES.get(executable.scalar(13, flatbuffers.number_types.Int16Flags), "unknown"),
                    chip=executable.string(10),
                    batch_size=executable.scalar(3, flatbuffers.number_types.Int32Flags),
                    parameter_bytes=len(executable.byte_vector(6)),
                    estimated_cycles=executable.scalar(16, flatbuffers.number_types.Int64Flags),
                )
            )
    return result


def read_custom_op(index: int, options: bytes) -> EdgeTPUOp:
    """The FlexBuffer map in an edgetpu-custom-op's options, with every package it carries."""
    op = EdgeTPUOp(index=index, format_version=None, packages=[])
    try:
        entries = flexbuffers.GetRoot(options).AsMap
        keys = {key.AsKey for key in entries.Keys}
        op.format_version = entries["1"].AsInt if "1" in keys else None
        blobs = [entries["4"]] if "4" in keys else []
        if "7" in keys:
            blobs += list(entries["7"].AsVector)
    except Exception as exc:  # noqa: BLE001 - a corrupt FlexBuffer raises assorted errors
        op.problems.append(f"custom options are not a FlexBuffer map ({type(exc).__name__}: {exc})")
        return op
    if not blobs:
        op.problems.append("custom options carry no package (key '4')")
    for blob in blobs:
        raw = blob.AsStringBytes if blob.IsString else blob.AsBlob
        try:
            op.packages.append(read_package(bytes(raw)))
        except Exception as exc:  # noqa: BLE001 - truncated FlatBuffers raise assorted errors
            op.problems.append(str(exc) if isinstance(exc, ValueError) else f"unreadable package ({exc})")
    return op


def edgetpu_inspection(model: TFLiteModel) -> tuple[dict[str, SummaryValue], list[str]]:
    """Summary rows and notes for `edgex inspect` of a compiled model; ({}, []) for any other model."""
    custom = [read_custom_op(op.index, op.custom_options) for op in model.ops if op.name == CUSTOM_OP]
    if not custom:
        return {}, []
    packages = [package for op in custom for package in op.packages]
    executables = [executable for package in packages for executable in package.executables]
    first, last = custom[0].index, custom[-1].index
    before = [f"#{op.index} {op.name} v{op.version}" for op in model.ops if op.index < first]
    inside = [
        f"#{op.index} {op.name} v{op.version}" for op in model.ops if first < op.index < last and op.name != CUSTOM_OP
    ]
    after = [f"#{op.index} {op.name} v{op.version}" for op in model.ops if op.index > last]
    kinds = ", ".join(sorted({e.kind for e in executables})) or "-"
    summary: dict[str, SummaryValue] = {
        "edge tpu": f"compiled: {len(custom)} {CUSTOM_OP} of {len(model.ops)} operators",
        "darwinn min runtime": ", ".join(sorted({str(p.min_runtime_version) for p in packages})) or None,
        "darwinn compiler": ", ".join(sorted({p.compiler_version or "-" for p in packages})) or None,
        "edge tpu executables": f"{len(executables)} ({kinds})",
        "edge tpu parameters": format_bytes(sum(e.parameter_bytes for e in executables)),
        "cpu ops before": ", ".join(before) or "(none)",
        "cpu ops after": ", ".join(after) or "(none)",
    }
    notes = [f"{CUSTOM_OP} #{op.index}: {problem}" for op in custom for problem in op.problems]
    if inside:
        notes.append(f"CPU ops between Edge TPU subgraphs: {', '.join(inside)}")
    if before or after:
        notes.append("operators outside edgetpu-custom-op run on the CPU (the compiler could not map them)")
    return summary, notes
