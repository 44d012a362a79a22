"""Reports as the HTML and JUnit writers read them: a flat list of runs, from edgex.report/1 files (one export or
validate) or an edgex.build/1 file (one run per matrix cell)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgex.errors import UsageError

RUN_SCHEMA = "edgex.report/1"
BUILD_SCHEMA = "edgex.build/1"


@dataclass(frozen=True)
class Run:
    label: str  # 'demo/tflite-int8' for a build cell, 'export digits.keras' for a single run
    report: dict[str, Any] | None  # edgex.report/1; None when the cell could not run
    error: str | None = None
    exit_code: int = 0
    skipped: bool = False  # an optional build cell that failed only for a missing tool


def headline_output(row: dict[str, Any]) -> dict[str, Any] | None:
    """The output a report row is summarised by: its class output, else its first output (JSON report rows)."""
    outputs = row["parity"]["outputs"] if row.get("parity") else []
    return next((o for o in outputs if o.get("class_output")), outputs[0] if outputs else None)


def runs_of(document: dict[str, Any], origin: str) -> list[Run]:
    schema = document.get("schema")
    if schema == RUN_SCHEMA:
        spec = Path(document["source"]["spec"]).name
        return [Run(f"{document['command']} {spec}", document, exit_code=document["exit_code"])]
    if schema == BUILD_SCHEMA:
        return [
            Run(cell["id"], cell["report"], cell["error"], cell["exit_code"], skipped=not cell["counted"])
            for cell in document["cells"]
        ]
    raise UsageError(
        f"{origin}: not an edgex report (schema {schema!r})",
        hint=f"give --report-json files ({RUN_SCHEMA}) or edgex-build.json ({BUILD_SCHEMA})",
    )


def load_runs(paths: list[Path]) -> list[Run]:
    runs: list[Run] = []
    for path in paths:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(f"{path}: unreadable ({exc.strerror or exc})") from None
        except ValueError as exc:
            raise UsageError(f"{path}: not JSON ({exc})") from None
        if not isinstance(document, dict):
            raise UsageError(f"{path}: not an edgex report")
        runs += runs_of(document, str(path))
    return runs
