"""Reports as the HTML and JUnit writers read them: a flat list of runs, from edgex.report/1 files (one export or
validate) or an edgex.build/1 file (one run per matrix cell), read back into RunReport objects."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgex.errors import UsageError
from edgex.results import RunReport

RUN_SCHEMA = "edgex.report/1"
BUILD_SCHEMA = "edgex.build/1"


@dataclass(frozen=True)
class Run:
    label: str  # 'demo/tflite-int8' for a build cell, 'export digits.keras' for a single run
    report: RunReport | None  # None when the cell could not run
    error: str | None = None
    exit_code: int = 0
    skipped: bool = False  # an optional build cell that failed only for a missing tool


def run_of(report: RunReport) -> Run:
    """One export or validate run, as the multi-run writers take it."""
    return Run(f"{report.command} {Path(report.source.spec).name}", report, exit_code=int(report.exit_code))


def runs_of(document: dict[str, Any], origin: str) -> list[Run]:
    schema = document.get("schema")
    try:
        if schema == RUN_SCHEMA:
            return [run_of(RunReport.from_dict(document))]
        if schema == BUILD_SCHEMA:
            return [
                Run(
                    cell["id"],
                    RunReport.from_dict(cell["report"]) if cell["report"] is not None else None,
                    cell["error"],
                    cell["exit_code"],
                    skipped=not cell["counted"],
                )
                for cell in document["cells"]
            ]
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{origin}: a damaged {schema} report ({type(exc).__name__}: {exc})") from None
    raise UsageError(
        f"{origin}: not an edgex report (schema {schema!r})",
        hint=f"give --report-json files ({RUN_SCHEMA}) or edgex-build.json ({BUILD_SCHEMA})",
    )


def load_runs(paths: list[Path]) -> list[Run]:
    runs: list[Run] = []
    for path in paths:
        runs += runs_of(read_document(path), str(path))
    return runs


def read_document(path: Path) -> dict[str, Any]:
    """A JSON report or manifest; any problem reading it is bad input, in one line."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: unreadable ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise UsageError(f"{path}: not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise UsageError(f"{path}: not an edgex report")
    return document
