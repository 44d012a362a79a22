"""`edgex targets`: the registry as a table, with what this environment can build (no framework imported)."""

from __future__ import annotations

import importlib.util
import json
from typing import TypedDict

from rich.console import Console
from rich.table import Table

from edgex.routes import all_routes, graph_formats
from edgex.sources import all_formats
from edgex.targets import all_targets


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module.split(".")[0]) is not None


# Functional syntax: "from" is a keyword. The rows are also the `edgex targets --json` output.
TargetRow = TypedDict(
    "TargetRow",
    {
        "name": str,
        "aliases": list[str],
        "format": str,
        "extension": str,
        "modes": list[str],
        "default_mode": str,
        "from": list[str],
        "available": bool,
        "missing": list[str],
        "validation_runtime": bool,
        "runtime": str,
        "description": str,
        "constraints": list[str],
    },
)


def target_rows() -> list[TargetRow]:
    """One row per target; 'from' lists every source format with a route (direct or through other formats)."""
    formats = all_formats()
    rows: list[TargetRow] = []
    for target in all_targets().values():
        routes = [
            r
            for source in sorted(graph_formats())
            if source != target.format
            for r in all_routes(source, target.format)
        ]
        runtime_format = formats.get(target.format)
        rows.append(
            {
                "name": target.name,
                "aliases": list(target.aliases),
                "format": target.format,
                "extension": target.extension,
                "modes": list(target.recipes),
                "default_mode": target.default_recipe,
                "from": sorted({r.formats[0] for r in routes}),
                "available": any(not r.missing for r in routes),
                "missing": sorted({hop.hint() for r in routes for hop, _ in r.missing}),
                "validation_runtime": bool(runtime_format and _installed(runtime_format.module)),
                "runtime": target.runtime,
                "description": target.description,
                "constraints": list(target.constraints),
            }
        )
    return rows


def print_targets(as_json: bool) -> None:
    rows = target_rows()
    console = Console()
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table(title="edgex targets", title_justify="left")
    for column in ("", "target", "modes (default first)", "from", "runs on", "notes"):
        table.add_column(column, overflow="fold")
    for row in rows:
        modes = [row["default_mode"]] + [m for m in row["modes"] if m != row["default_mode"]]
        notes = "; ".join(row["constraints"])
        if row["missing"]:
            notes = f"install {', '.join(row['missing'])}; " + notes
        name = row["name"] + (f" ({', '.join(row['aliases'])})" if row["aliases"] else "")
        table.add_row(
            "✅" if row["available"] else "❌",
            name,
            ", ".join(modes),
            ", ".join(row["from"]),
            row["runtime"],
            notes,
        )
    console.print(table)
