"""JSON report with a versioned schema (edgex.report/1): what was run, on what, with which versions, and the result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edgex.report.serialize import to_jsonable
from edgex.results import RunReport

SCHEMA = "edgex.report/1"


def report_dict(report: RunReport) -> dict[str, Any]:
    body = to_jsonable(report)
    for row in body["rows"]:
        row.pop("error_details", None)  # tracebacks belong in --debug output, not in CI artifacts
    return {"schema": SCHEMA, "verdict": report.verdict, "exit_code": int(report.exit_code), **body}


def write_json(report: RunReport, path: Path) -> None:
    from edgex.report.files import write_text_atomic

    write_text_atomic(path, json.dumps(report_dict(report), indent=2) + "\n")
