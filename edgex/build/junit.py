"""JUnit XML for a whole matrix: one <testsuite> per run (build cell), one testcase per row x check.

Same testcases as the per-run writer (edgex/report/junit.py), read from report JSON so cached cells are included;
an optional cell that could not build for a missing tool is <skipped>, not an error.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from edgex.build.runs import Run
from edgex.parity.compare import FAILED_RELATION
from edgex.report.files import write_text_atomic


def _check_name(check: dict) -> str:
    return f"{check['name']}[{check['output']}]" if check["output"] else check["name"]


def _describe(check: dict) -> str:
    relation = FAILED_RELATION[check["comparison"]]
    where = f"[{check['output']}]" if check["output"] else ""
    unit = check["unit"]
    return f"{check['name']}{where} {check['value']:.6g}{unit} {relation} {check['threshold']:g}{unit}"


def _suite(parent: ET.Element, run: Run) -> tuple[int, int, int, int]:
    suite = ET.SubElement(parent, "testsuite", name=run.label)
    tests = failures = errors = skipped = 0
    rows = run.report["rows"] if run.report else []
    if not rows:
        case = ET.SubElement(suite, "testcase", classname=f"edgex.{run.label.replace('/', '.')}", name="export")
        tests += 1
        if run.skipped:
            skipped += 1
            ET.SubElement(case, "skipped", message=f"optional cell: {run.error or 'no artifact'}")
        else:
            errors += 1
            ET.SubElement(case, "error", message=run.error or "no artifact").text = run.error
    for row in rows:
        classname = f"edgex.{run.label.replace('/', '.')}.{row['mode']}"
        case = ET.SubElement(
            suite, "testcase", classname=classname, name="export", time=f"{row.get('export_seconds') or 0:.3f}"
        )
        tests += 1
        if row["status"] == "export_failed":
            if run.skipped:
                skipped += 1
                ET.SubElement(case, "skipped", message=f"optional cell: {row['error']}")
            else:
                errors += 1
                ET.SubElement(case, "error", message=row["error"] or "failed").text = row["error"]
        checks = [*row.get("checks", []), *((row.get("parity") or {}).get("checks", []))]
        for check in checks:
            case = ET.SubElement(suite, "testcase", classname=classname, name=_check_name(check))
            tests += 1
            if not check["passed"]:
                failures += 1
                ET.SubElement(case, "failure", message=_describe(check)).text = _describe(check)
    for key, value in (("tests", tests), ("failures", failures), ("errors", errors), ("skipped", skipped)):
        suite.set(key, str(value))
    if run.report:
        suite.set("time", f"{run.report['seconds']:.3f}")
    return tests, failures, errors, skipped


def junit_matrix(runs: list[Run], name: str) -> str:
    root = ET.Element("testsuites", name=name)
    totals = [0, 0, 0, 0]
    for run in runs:
        totals = [a + b for a, b in zip(totals, _suite(root, run), strict=True)]
    for key, value in zip(("tests", "failures", "errors", "skipped"), totals, strict=True):
        root.set(key, str(value))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit_matrix(runs: list[Run], path: Path, name: str = "edgex build") -> None:
    write_text_atomic(path, junit_matrix(runs, name))
