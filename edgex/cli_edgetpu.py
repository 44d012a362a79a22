"""`edgex edgetpu check` and `ops` (click only: no framework is imported). The Edge TPU options of
`edgex export` are records of the option spec, edgex/options.py."""

from __future__ import annotations

import json
from pathlib import Path

import click

from edgex.cli_options import accept_debug


@click.group("edgetpu")
@accept_debug
def edgetpu_group() -> None:
    """Coral Edge TPU tools (work without the compiler)."""


@edgetpu_group.command("check")
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "--min-runtime",
    type=click.IntRange(10, 14),
    default=14,
    show_default=True,
    help="Edge TPU runtime version to predict for (compiler -m).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--strict", is_flag=True, help="Exit 1 when any op would run on the CPU or compilation would fail.")
@accept_debug
def check(model: Path, min_runtime: int, as_json: bool, strict: bool) -> int:
    """Predict, op by op, what edgetpu_compiler will map for MODEL (an int8 .tflite), and why not.

    \b
    edgex edgetpu check dist/model_int8.tflite --strict
    """
    from rich.console import Console
    from rich.table import Table

    from edgex.edgetpu.preflight import check_model
    from edgex.errors import UsageError

    if not model.is_file():
        raise UsageError(f"{model}: no such file")
    result = check_model(model, min_runtime)
    console = Console()
    if as_json:
        console.print_json(json.dumps(result.as_dict()))
    else:
        section = result.section()
        table = Table(title=f"{model}: {section.title}", title_justify="left")
        for header in section.headers:
            table.add_column(header, overflow="fold")
        for cells in section.rows:
            table.add_row(*cells, style="green" if cells[2] == "Edge TPU" else "yellow")
        console.print(table)
        for note in section.notes:
            console.print(note)
    return 1 if strict and result.falls_back else 0


@edgetpu_group.command("ops")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@accept_debug
def supported_ops(as_json: bool) -> int:
    """List the operators the Edge TPU maps, from which runtime, and their documented limitations."""
    from rich.console import Console
    from rich.table import Table

    from edgex.edgetpu.ops import MAX_PARSER_VERSION, RULES

    rows = [
        {
            "op": name,
            "coral_name": rule.doc_name,
            "min_runtime": rule.min_runtime or None,
            "compiler_16_parses_up_to_version": MAX_PARSER_VERSION.get(name),
            "limitation": rule.limitation,
        }
        for name, rule in sorted(RULES.items())
    ]
    console = Console()
    if as_json:
        console.print_json(json.dumps(rows))
        return 0
    table = Table(title="Edge TPU supported operations (https://coral.ai/docs/edgetpu/models-intro/)")
    for header in ("TFLite op", "runtime", "max version", "limitation"):
        table.add_column(header, overflow="fold")
    for name, rule in sorted(RULES.items()):
        runtime = f"{rule.min_runtime}+" if rule.min_runtime else "all"
        table.add_row(name, runtime, str(MAX_PARSER_VERSION.get(name)), rule.limitation or "-")
    console.print(table)
    return 0
