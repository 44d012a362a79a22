"""JUnit XML: one testcase per row x check, so CI dashboards show which metric of which artifact failed.

One writer for every report: a single export/validate run is one <testsuite>; a build matrix or `edgex report`
over several JSON files is <testsuites> with one suite per run (cell). An optional build cell that could not
build for a missing tool is <skipped>, not an error.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from edgex.report.files import write_text_atomic
from edgex.report.runs import Run
from edgex.results import RowStatus, RunReport

COUNTS = ("tests", "failures", "errors", "skipped")


def _suite(
    name: str, report: RunReport | None, label: str | None, *, skipped: bool = False, error: str | None = None
) -> tuple[ET.Element, Counter[str]]:
    """A <testsuite> for one run and its counts. Testcases are named edgex.<label or row target>.<mode>."""
    suite = ET.Element("testsuite", name=name)
    counts: Counter[str] = Counter()
    rows = report.rows if report is not None else []
    if not rows:  # the run (build cell) could not start
        case = ET.SubElement(suite, "testcase", classname=f"edgex.{label}", name="export")
        counts["tests"] += 1
        if skipped:
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", message=f"optional cell: {error or 'no artifact'}")
        else:
            counts["errors"] += 1
            ET.SubElement(case, "error", message=error or "no artifact").text = error
    for row in rows:
        classname = f"edgex.{label or row.target}.{row.mode}"
        case = ET.SubElement(
            suite, "testcase", classname=classname, name="export", time=f"{row.export_seconds or 0:.3f}"
        )
        counts["tests"] += 1
        if row.status is RowStatus.EXPORT_FAILED:
            if skipped:
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=f"optional cell: {row.error}")
            else:
                counts["errors"] += 1
                ET.SubElement(case, "error", message=row.error or "failed").text = row.error_details or row.error
        for check in [*row.checks, *(row.parity.checks if row.parity else [])]:
            name = f"{check.name}[{check.output}]" if check.output else check.name
            case = ET.SubElement(suite, "testcase", classname=classname, name=name)
            counts["tests"] += 1
            if not check.passed:
                counts["failures"] += 1
                ET.SubElement(case, "failure", message=check.describe()).text = check.describe()
    for key in COUNTS:
        if key != "skipped" or counts[key]:
            suite.set(key, str(counts[key]))
    if report is not None:
        suite.set("time", f"{report.seconds:.3f}")
    return suite, counts


def junit_xml(report: RunReport) -> str:
    """One export or validate run: a single <testsuite>."""
    suite, _ = _suite(f"edgex {report.command} {report.source.spec}", report, None)
    return _text(suite)


def junit_runs(runs: list[Run], name: str) -> str:
    """Several runs (a build matrix, or `edgex report` over several JSON reports): one <testsuite> each."""
    root = ET.Element("testsuites", name=name)
    totals: Counter[str] = Counter()
    for run in runs:
        suite, counts = _suite(
            run.label, run.report, run.label.replace("/", "."), skipped=run.skipped, error=run.error
        )
        suite.set("skipped", str(counts["skipped"]))
        root.append(suite)
        totals.update(counts)
    for key in COUNTS:
        root.set(key, str(totals[key]))
    return _text(root)


def _text(element: ET.Element) -> str:
    ET.indent(element)
    return ET.tostring(element, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(report: RunReport, path: Path) -> None:
    write_text_atomic(path, junit_xml(report))


def write_junit_runs(runs: list[Run], path: Path, name: str = "edgex build") -> None:
    write_text_atomic(path, junit_runs(runs, name))
