"""The JSON Schema of edgex.toml, generated from the option spec (edgex/options.py) like the build file's reader.

Shipped as edgex/schemas/edgex.schema.json (`edgex schema` prints it) so editors complete and check the file:
Even Better TOML / taplo read a `#:schema` comment at the top of a TOML file. The reader (edgex/build/config.py)
stays the gate that runs: it checks what a schema cannot (files exist, targets and recipes are known, conflicts)
and names file:line; tests/test_build_schema.py keeps the two in agreement.
"""

from __future__ import annotations

from typing import Any

from edgex.options import BUILD, MODEL, OPTIONS, TARGET, place_options


def _table(place: str, description: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """An object of `place`'s keys; sub-tables (model.thresholds, target.options...) nested the same way."""
    properties = {option.key: option.file_schema() for option in place_options(place)}
    for sub in sorted({p.partition(".")[2] for o in OPTIONS for p in o.places if p.startswith(place + ".")}):
        properties[sub] = _table(f"{place}.{sub}", f"[{place}.{sub}] keys")
    table: dict[str, Any] = {
        "type": "object",
        "description": description,
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        table["required"] = list(required)
    return table


SHIPPED = "edgex.schema.json"  # in the edgex.schemas package


def build_file_schema() -> dict[str, Any]:
    """edgex.toml as JSON Schema (draft 2020-12); `[tool.edgex]` in pyproject.toml holds the same tables."""
    entries = {
        "models": _table(MODEL, "One model: its source, data and parity settings.", required=("source",)),
        "targets": _table(TARGET, "One target entry: a registry target ('edgex targets') and how to build it."),
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "edgex build file (edgex.toml)",
        "description": "Models x targets that `edgex build` exports and validates. Reference: docs/build.md.",
        "type": "object",
        "properties": {
            "build": _table(BUILD, "Build-wide settings."),
            **{
                name: {
                    "type": "object",
                    "description": f"[{name}.NAME] tables",
                    "additionalProperties": entry,
                    "minProperties": 1,
                }
                for name, entry in entries.items()
            },
        },
        "required": ["models", "targets"],
        "additionalProperties": False,
    }
