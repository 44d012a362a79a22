"""Read a .pte program's flatbuffer with the schema classes that ship inside the executorch wheel (worker side).

The generated classes live under executorch.exir, whose package __init__ imports torch and the whole compiler.
This module registers bare parent packages instead, so reading a .pte needs neither torch nor the compiler.
It runs only inside a dedicated, short-lived worker (see edgex.inspection.pte), never in the CLI process.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import pkgutil
import sys
import types
from collections import Counter
from pathlib import Path
from typing import Any

from edgex.errors import MissingDependencyError, UsageError

FILE_IDENTIFIER = b"ET12"
EXTENDED_MAGIC = b"eh00"
PACKAGE = "executorch.exir._serialize.generated.executorch_flatbuffer"
# ExecuTorch ScalarType codes (executorch/schema/scalar_type.fbs) -> numpy dtype names.
SCALAR_TYPES = {
    0: "uint8",
    1: "int8",
    2: "int16",
    3: "int32",
    4: "int64",
    5: "float16",
    6: "float32",
    7: "float64",
    11: "bool",
    15: "bfloat16",
}


@functools.cache  # once per process: the stub packages it registers hide executorch's real spec afterwards
def _schema() -> Any:
    spec = importlib.util.find_spec("executorch")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            "reading .pte files needs the executorch package", hint="pip install 'edgex[torch]'"
        )
    root = Path(next(iter(spec.submodule_search_locations)))
    for name, folder in (
        ("executorch", root),
        ("executorch.exir", root / "exir"),
        ("executorch.exir._serialize", root / "exir" / "_serialize"),
    ):
        if name not in sys.modules:
            stub = types.ModuleType(name)
            stub.__path__ = [str(folder)]
            sys.modules[name] = stub
    package = importlib.import_module(PACKAGE)
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{PACKAGE}.{info.name}")
        # Generated modules import sibling tables as modules; bind the classes (as executorch itself does).
        for name, value in list(vars(module).items()):
            if isinstance(value, types.ModuleType) and isinstance(getattr(value, name, None), type):
                setattr(module, name, getattr(value, name))
    return package


def read_pte(path: str, data: bytes | None = None) -> dict[str, Any]:
    """Parse `path` (or `data`, its bytes, already read); anything malformed is a UsageError naming the file."""
    data = Path(path).read_bytes() if data is None else data
    if len(data) < 8 or data[4:8] != FILE_IDENTIFIER:
        raise UsageError(f"{path}: not an ExecuTorch program (no '{FILE_IDENTIFIER.decode()}' identifier)")
    fb = _schema()
    try:
        program = fb.Program.Program.GetRootAs(data, 0)
        check_complete(data, [(s.Offset(), s.Size()) for s in _segments(program)])
        methods = [_method(program.ExecutionPlan(i), fb) for i in range(program.ExecutionPlanLength())]
    except TruncatedError as exc:
        raise UsageError(f"{path}: truncated ExecuTorch program ({exc})", hint="copy or export it again") from None
    except Exception as exc:  # noqa: BLE001 - truncated flatbuffers raise assorted errors
        raise UsageError(f"{path}: corrupt ExecuTorch program ({type(exc).__name__}: {exc})") from None
    if not methods:
        raise UsageError(f"{path}: ExecuTorch program with no methods")
    return {
        "schema_version": program.Version(),
        "extended_header": data[8:12] == EXTENDED_MAGIC,
        "segments": program.SegmentsLength(),
        "methods": methods,
        "metadata": _embedded_metadata(program, data, fb),
    }


def _embedded_metadata(program: Any, data: bytes, fb: Any) -> dict[str, Any] | None:
    """The JSON that edgex's constant method returns (edgex.embedding), read from the constant segment."""
    from edgex.embedding import KEY

    plans = [program.ExecutionPlan(i) for i in range(program.ExecutionPlanLength())]
    plan = next((p for p in plans if p.Name().decode() == KEY), None)
    if plan is None or plan.OutputsLength() != 1:
        return None
    value = plan.Values(int(plan.Outputs(0)))
    tensor = fb.Tensor.Tensor()
    tensor.Init(value.Val().Bytes, value.Val().Pos)
    size = int(tensor.Sizes(0)) if tensor.SizesLength() == 1 else 0
    constants = program.ConstantSegment()
    index = tensor.DataBufferIdx()
    if tensor.ScalarType() != 0 or not size or constants is None or index >= constants.OffsetsLength():
        return None
    base = int.from_bytes(data[24:32], "little") if data[8:12] == EXTENDED_MAGIC else 0
    start = base + program.Segments(constants.SegmentIndex()).Offset() + constants.Offsets(index)
    loaded: dict[str, Any] = json.loads(data[start : start + size].decode())
    return {"carrier": f"constant method '{KEY}'", **loaded}


class TruncatedError(ValueError):
    """The file ends before what its own header or segment table says it holds."""


def _segments(program: Any) -> list[Any]:
    return [program.Segments(i) for i in range(program.SegmentsLength())]


def check_complete(data: bytes, segments: list[tuple[int, int]]) -> None:
    """A cut .pte still starts with a readable flatbuffer; its extended header and segment table (weights and
    delegate blobs live in segments after the flatbuffer) say how long the file must be."""
    if data[8:12] != EXTENDED_MAGIC or len(data) < 32:
        return
    program_size = int.from_bytes(data[16:24], "little")
    base = int.from_bytes(data[24:32], "little")
    header_length = int.from_bytes(data[12:16], "little")
    data_size = int.from_bytes(data[32:40], "little") if header_length > 24 and len(data) >= 40 else 0
    needed = max(
        [program_size, base + data_size if base else 0]
        + [base + offset + size for offset, size in segments if base]
    )
    if needed > len(data):
        raise TruncatedError(f"{len(data)} of {needed} bytes")


def _tensor(plan: Any, index: int, fb: Any) -> dict[str, Any]:
    value = plan.Values(index)
    if value.ValType() != fb.KernelTypes.KernelTypes.Tensor:
        return {"kind": f"value type {value.ValType()}"}
    tensor = fb.Tensor.Tensor()
    tensor.Init(value.Val().Bytes, value.Val().Pos)
    sizes = tensor.SizesAsNumpy()
    return {
        "shape": [] if isinstance(sizes, int) else [int(s) for s in sizes],
        "dtype": SCALAR_TYPES.get(tensor.ScalarType(), str(tensor.ScalarType())),
    }


def _method(plan: Any, fb: Any) -> dict[str, Any]:
    operators = []
    for i in range(plan.OperatorsLength()):
        op = plan.Operators(i)
        overload = (op.Overload() or b"").decode()
        operators.append(op.Name().decode() + (f".{overload}" if overload else ""))
    kernel_calls: Counter[str] = Counter()
    delegate_calls: Counter[str] = Counter()
    delegates = [plan.Delegates(i).Id().decode() for i in range(plan.DelegatesLength())]
    for c in range(plan.ChainsLength()):
        chain = plan.Chains(c)
        for i in range(chain.InstructionsLength()):
            instruction = chain.Instructions(i)
            kind = instruction.InstrArgsType()
            table = instruction.InstrArgs()
            if kind == fb.InstructionArguments.InstructionArguments.KernelCall:
                call = fb.KernelCall.KernelCall()
                call.Init(table.Bytes, table.Pos)
                kernel_calls[operators[call.OpIndex()]] += 1
            elif kind == fb.InstructionArguments.InstructionArguments.DelegateCall:
                call = fb.DelegateCall.DelegateCall()
                call.Init(table.Bytes, table.Pos)
                delegate_calls[delegates[call.DelegateIndex()]] += 1
    return {
        "name": plan.Name().decode(),
        "inputs": [_tensor(plan, int(i), fb) for i in _ints(plan.InputsAsNumpy())],
        "outputs": [_tensor(plan, int(i), fb) for i in _ints(plan.OutputsAsNumpy())],
        "delegates": delegates,
        "delegate_calls": dict(delegate_calls),
        "kernel_calls": dict(kernel_calls),
        "values": plan.ValuesLength(),
    }


def _ints(value: Any) -> Any:
    return [] if isinstance(value, int) else value
