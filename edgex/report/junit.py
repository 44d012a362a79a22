"""JUnit XML: one testcase per row x check, so CI dashboards show which metric of which artifact failed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from edgex.report.files import write_text_atomic
from edgex.results import RowStatus, RunReport


def junit_xml(report: RunReport) -> str:
    suite = ET.Element("testsuite", name=f"edgex {report.command} {report.source.spec}")
    tests = failures = errors = 0
    for row in report.rows:
        classname = f"edgex.{row.target}.{row.mode}"
        export_case = ET.SubElement(
            suite, "testcase", classname=classname, name="export", time=f"{row.export_seconds or 0:.3f}"
        )
        tests += 1
        if row.status is RowStatus.EXPORT_FAILED:
            errors += 1
            ET.SubElement(export_case, "error", message=row.error or "failed").text = row.error_details or row.error
            continue
        for check in [*row.checks, *(row.parity.checks if row.parity else [])]:
            name = f"{check.name}[{check.output}]" if check.output else check.name
            case = ET.SubElement(suite, "testcase", classname=classname, name=name)
            tests += 1
            if not check.passed:
                failures += 1
                ET.SubElement(case, "failure", message=check.describe()).text = check.describe()
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("time", f"{report.seconds:.3f}")
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(report: RunReport, path: Path) -> None:
    write_text_atomic(path, junit_xml(report))
