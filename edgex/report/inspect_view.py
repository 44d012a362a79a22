"""Terminal / JSON view of `edgex inspect`."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from edgex.inspection import Inspection
from edgex.report.serialize import to_jsonable


def _display(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "(none)"
    return "-" if value is None else str(value)


def print_inspection(inspection: Inspection, as_json: bool) -> None:
    """JSON is edgex.inspect()'s dict (numbers as numbers, shapes as lists); the tables are for people."""
    console = Console()
    if as_json:
        console.print_json(json.dumps(to_jsonable(inspection)))
        return
    summary = Table(title=f"{inspection.path} ({inspection.format})", title_justify="left", show_header=False)
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row("size", f"{inspection.size_bytes:,} bytes")
    summary.add_row("sha256", inspection.sha256)
    for key, value in inspection.summary.items():
        summary.add_row(key, _display(value))
    console.print(summary)
    for title, rows in (("inputs", inspection.inputs), ("outputs", inspection.outputs)):
        table = Table(title=title, title_justify="left")
        for column in ("name", "shape", "dtype", "quantization"):
            table.add_column(column)
        for row in rows:
            quantization = row.quantization.describe() if row.quantization else "-"
            table.add_row(row.name, row.describe_shape(), row.dtype, quantization)
        console.print(table)
    ops = Table(title="operators", title_justify="left")
    ops.add_column("operator")
    ops.add_column("count", justify="right")
    for name, count in inspection.op_histogram.items():
        ops.add_row(name, str(count))
    console.print(ops)
    if inspection.embedded:
        embedded = Table(title="embedded metadata", title_justify="left", show_header=False)
        embedded.add_column(style="bold")
        embedded.add_column()
        for key, value in inspection.embedded.items():
            if isinstance(value, dict):  # preprocessing: its numbers; the formula is the same for every artifact
                value = ", ".join(f"{name}={item}" for name, item in value.items() if name != "formula")
            embedded.add_row(key.replace("_", " "), _display(value))
        console.print(embedded)
    for note in inspection.notes:
        console.print(f"note: {note}")
