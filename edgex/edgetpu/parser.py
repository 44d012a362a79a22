"""Parse what `edgetpu_compiler -s` prints and what it writes to `<stem>_edgetpu.log`.

Format (https://coral.ai/docs/edgetpu/compiler/, and real 15.0/16.0 output quoted in
https://github.com/google-coral/edgetpu/issues/358 and issues/829):

    Edge TPU Compiler version 16.0.384591198
    Started a compilation timeout timer of 180 seconds.

    Model compiled successfully in 394 ms.

    Input model: model_int8.tflite
    Input size: 91.50KiB
    Output model: model_int8_edgetpu.tflite
    Output size: 180.23KiB
    On-chip memory used for caching model parameters: 95.00KiB
    On-chip memory remaining for caching model parameters: 7.81MiB
    Off-chip memory used for streaming uncached model parameters: 0.00B
    Number of Edge TPU subgraphs: 1
    Total number of operations: 8
    Operation log: model_int8_edgetpu.log
    [Model successfully compiled but not all operations are supported by the Edge TPU. ...
    Number of operations that will run on Edge TPU: 6
    Number of operations that will run on CPU: 2]

    Operator                       Count      Status

    CONV_2D                        2          Mapped to Edge TPU
    ...
    Compilation child process completed within timeout period.
    Compilation succeeded!

The operator table pads the name to 31 characters and the count to 11; rows are one per (operator, status) and their
order is not stable. Failures print lines such as "ERROR: Didn't find op for builtin opcode 'CONV_2D' version '6'",
"Model not quantized", "Internal compiler error. Aborting!", "Compilation failed due to large activation tensors in
model." and "Compilation failed!"; the exit code alone does not tell success (check the output file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from edgex.edgetpu.ops import MAPPED

_UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
_SIZE = re.compile(r"([\d.]+)\s*(GiB|MiB|KiB|B)\b")
_ROW = re.compile(r"^(\S+?)\s*(\d+)\s+(\S.*?)\s*$")  # names of 31+ characters run into the count
_HEADER = re.compile(r"^Operator\s+Count\s+Status\s*$")
_VERSION = re.compile(r"Edge TPU Compiler version (\S+)")
_OP_VERSION = re.compile(r"Didn't find op for builtin opcode '([^']+)' version '(\d+)'")
NAME_WIDTH, COUNT_WIDTH = 31, 11

# Failure lines, most specific first: the first that occurs is the headline.
_FAILURES = (
    _OP_VERSION,
    re.compile(r"Model not quantized"),
    re.compile(r"dynamic-sized tensors"),
    re.compile(r"Compilation failed due to large activation tensors in model\."),
    re.compile(r"Internal compiler error\. Aborting!"),
    re.compile(r"timed out", re.IGNORECASE),
    re.compile(r"^Invalid model: "),
    re.compile(r"Model could not be parsed"),
    re.compile(r"^Compilation failed: "),
    re.compile(r"^ERROR: "),
    re.compile(r"Compilation failed!"),
)

_FIELDS: dict[str, str] = {
    "Input model": "input_model",
    "Output model": "output_model",
    "Operation log": "log_name",
}
_SIZES: dict[str, str] = {
    "Input size": "input_bytes",
    "Output size": "output_bytes",
    "On-chip memory used for caching model parameters": "on_chip_used_bytes",
    "On-chip memory remaining for caching model parameters": "on_chip_remaining_bytes",
    "Off-chip memory used for streaming uncached model parameters": "off_chip_bytes",
}
_COUNTS: dict[str, str] = {
    "Number of Edge TPU subgraphs": "subgraphs",
    "Total number of operations": "total_ops",
    "Number of operations that will run on Edge TPU": "reported_tpu_ops",
    "Number of operations that will run on CPU": "reported_cpu_ops",
}


def parse_size(text: str) -> int | None:
    """'7.81MiB' -> bytes (as the compiler rounds it)."""
    match = _SIZE.search(text)
    return round(float(match.group(1)) * _UNITS[match.group(2)]) if match else None


def format_bytes(count: int) -> str:
    """Bytes the way the compiler prints them: 0.00B, 95.00KiB, 7.81MiB."""
    for unit in ("GiB", "MiB", "KiB"):
        if count >= _UNITS[unit]:
            return f"{count / _UNITS[unit]:.2f}{unit}"
    return f"{count:.2f}B"


@dataclass
class OperatorRow:
    op: str
    count: int
    status: str

    @property
    def on_tpu(self) -> bool:
        return self.status == MAPPED


@dataclass
class CompilerReport:
    version: str | None = None
    compile_ms: int | None = None
    input_model: str | None = None
    output_model: str | None = None
    log_name: str | None = None
    input_bytes: int | None = None
    output_bytes: int | None = None
    on_chip_used_bytes: int | None = None
    on_chip_remaining_bytes: int | None = None
    off_chip_bytes: int | None = None
    subgraphs: int | None = None
    total_ops: int | None = None
    reported_tpu_ops: int | None = None  # printed only when some ops stay on the CPU
    reported_cpu_ops: int | None = None
    operators: list[OperatorRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # failure lines, in the order printed
    succeeded_text: bool = False  # "Compilation succeeded!" or "Model compiled successfully" was printed

    @property
    def tpu_ops(self) -> int | None:
        if self.reported_tpu_ops is not None:
            return self.reported_tpu_ops
        return sum(row.count for row in self.operators if row.on_tpu) if self.operators else None

    @property
    def cpu_ops(self) -> int | None:
        if self.reported_cpu_ops is not None:
            return self.reported_cpu_ops
        return sum(row.count for row in self.operators if not row.on_tpu) if self.operators else None

    @property
    def percent_on_tpu(self) -> float | None:
        tpu, cpu = self.tpu_ops, self.cpu_ops
        if tpu is None or cpu is None or tpu + cpu == 0:
            return None
        return 100.0 * tpu / (tpu + cpu)

    @property
    def failure(self) -> str | None:
        """The headline failure message, most specific first; None when nothing failed."""
        for pattern in _FAILURES:
            for line in self.errors:
                match = pattern.search(line)
                if match is not None:
                    return match.group(0) if pattern is _OP_VERSION else line.removeprefix("ERROR: ").strip()
        return None

    def as_dict(self) -> dict[str, Any]:
        body = {key: value for key, value in vars(self).items() if key != "operators"}
        body["operators"] = [vars(row) for row in self.operators]
        body.update(tpu_ops=self.tpu_ops, cpu_ops=self.cpu_ops, percent_on_tpu=self.percent_on_tpu)
        body["failure"] = self.failure
        return body


def parse_operator_table(text: str) -> list[OperatorRow]:
    """Rows of every 'Operator  Count  Status' table in `text` (fixed-width, with a whitespace fallback)."""
    rows: list[OperatorRow] = []
    in_table = False
    for line in text.splitlines():
        if _HEADER.match(line.strip()):
            in_table = True
            continue
        if not in_table or not line.strip():
            continue
        row = _row(line.rstrip())
        if row is None:
            in_table = False
            continue
        rows.append(row)
    return rows


def _row(line: str) -> OperatorRow | None:
    cut = NAME_WIDTH + COUNT_WIDTH
    if len(line) > cut and line[NAME_WIDTH:cut].strip().isdigit() and line[:NAME_WIDTH].strip():
        return OperatorRow(line[:NAME_WIDTH].strip(), int(line[NAME_WIDTH:cut]), line[cut:].strip())
    match = _ROW.match(line.strip())
    return OperatorRow(match.group(1), int(match.group(2)), match.group(3)) if match else None


def parse_output(stdout: str, log: str | None = None) -> CompilerReport:
    """The compiler's stdout (and the operation log, when it wrote one) as one structured report."""
    report = CompilerReport()
    for raw in stdout.splitlines():
        line = raw.strip()
        version = _VERSION.search(line)
        if version and report.version is None:
            report.version = version.group(1)
            continue
        compiled = re.match(r"Model compiled successfully in (\d+) ms", line)
        if compiled:
            report.compile_ms = int(compiled.group(1))
            report.succeeded_text = True
            continue
        if line.startswith("Compilation succeeded"):
            report.succeeded_text = True
            continue
        key, _, value = line.partition(": ")
        if key in _FIELDS:
            setattr(report, _FIELDS[key], value.strip())
        elif key in _SIZES:
            setattr(report, _SIZES[key], parse_size(value))
        elif key in _COUNTS and value.strip().isdigit():
            setattr(report, _COUNTS[key], int(value))
        elif any(pattern.search(line) for pattern in _FAILURES):
            report.errors.append(line)
    report.operators = parse_operator_table(stdout)
    if log:
        if not report.operators:
            report.operators = parse_operator_table(log)
        if report.version is None:
            version = _VERSION.search(log)
            report.version = version.group(1) if version else None
    return report
