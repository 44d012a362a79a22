"""`edgex routes`: the format graph, which converters are installed here, and what the common routes are."""

from __future__ import annotations

import json
from typing import TypedDict

from rich.console import Console
from rich.table import Table

from edgex.exporters import all_converters
from edgex.registry import get_registry
from edgex.routes import all_routes, graph_formats


def shown_formats() -> tuple[list[str], list[str]]:
    """Formats people start from (all but deploy-only ones) x the formats targets ship, from the registry."""
    registry = get_registry()
    sources = [f.name for f in registry.formats.values() if not f.deploy_only]
    targets = list(dict.fromkeys(t.format for t in registry.targets.values()))
    return sources, targets


# Functional syntax: "from" is a keyword. The rows are also the `edgex routes --json` output.
EdgeRow = TypedDict(
    "EdgeRow",
    {
        "converter": str,
        "from": list[str],
        "to": str,
        "modes": list[str],
        "available": bool,
        "missing": list[str],
        "install": str | None,
        "description": str,
    },
)
RouteRow = TypedDict("RouteRow", {"from": str, "to": str, "route": str, "available": bool})


def edge_rows() -> list[EdgeRow]:
    rows: list[EdgeRow] = []
    for converter in all_converters().values():
        missing = converter.missing()
        rows.append(
            {
                "converter": converter.name,
                "from": list(converter.sources),
                "to": converter.produces,
                "modes": list(converter.recipes),
                "available": not missing,
                "missing": missing,
                "install": converter.hint() if missing else None,
                "description": converter.description,
            }
        )
    return rows


def route_rows() -> list[RouteRow]:
    rows: list[RouteRow] = []
    shown_sources, shown_targets = shown_formats()
    for source in shown_sources:
        for target in shown_targets:
            routes = all_routes(source, target)
            if not routes or source == target:
                continue
            chosen = next((r for r in routes if not r.missing), routes[0])
            rows.append({"from": source, "to": target, "route": chosen.describe(), "available": not chosen.missing})
    return rows


def print_routes(as_json: bool) -> None:
    console = Console()
    if as_json:
        console.print_json(
            json.dumps({"formats": sorted(graph_formats()), "converters": edge_rows(), "routes": route_rows()})
        )
        return
    edges = Table(title="converters (edges of the format graph)", title_justify="left")
    for column in ("", "converter", "from", "to", "modes", "notes"):
        edges.add_column(column, overflow="fold")
    for row in edge_rows():
        note = f"missing {', '.join(row['missing'])}: {row['install']}" if row["missing"] else row["description"]
        edges.add_row(
            "✅" if row["available"] else "❌",
            row["converter"],
            ", ".join(row["from"]),
            row["to"],
            ", ".join(row["modes"]),
            note,
        )
    console.print(edges)
    routes = Table(
        title="routes edgex picks (shortest available; force another with --route a>b>c)", title_justify="left"
    )
    for column in ("", "from", "to", "route"):
        routes.add_column(column, overflow="fold")
    for route in route_rows():
        routes.add_row("✅" if route["available"] else "❌", route["from"], route["to"], route["route"])
    console.print(routes)
