"""`edgex routes`: the format graph, which converters are installed here, and what the common routes are."""

from __future__ import annotations

import json

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


def edge_rows() -> list[dict[str, object]]:
    rows = []
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


def route_rows() -> list[dict[str, object]]:
    rows = []
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
            str(row["converter"]),
            ", ".join(row["from"]),
            str(row["to"]),
            ", ".join(row["modes"]),
            str(note),
        )
    console.print(edges)
    routes = Table(
        title="routes edgex picks (shortest available; force another with --route a>b>c)", title_justify="left"
    )
    for column in ("", "from", "to", "route"):
        routes.add_column(column, overflow="fold")
    for row in route_rows():
        routes.add_row("✅" if row["available"] else "❌", str(row["from"]), str(row["to"]), str(row["route"]))
    console.print(routes)
