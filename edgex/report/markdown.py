"""Markdown report: the summary table plus per-artifact checks, for PR comments and job summaries."""

from __future__ import annotations

from pathlib import Path

from edgex.report.files import write_text_atomic
from edgex.report.rows import HEADERS, reference_line, summary_rows
from edgex.results import RunReport


def _table(headers: tuple[str, ...] | list[str], rows: list[list[str]]) -> list[str]:
    escape = [[cell.replace("|", "\\|") for cell in row] for row in rows]
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)] + [
        "| " + " | ".join(r) + " |" for r in escape
    ]


def markdown(report: RunReport) -> str:
    lines = [f"# edgex {report.command}: `{report.source.spec}`", ""]
    lines += [f"Verdict: **{report.verdict.upper()}** (exit {int(report.exit_code)}), {report.seconds:.1f} s", ""]
    lines += _table(HEADERS, summary_rows(report))
    line = reference_line(report)
    if line:
        lines += ["", line]
    for row in report.rows:
        for section in row.sections:
            lines += ["", f"## {row.target} {row.mode}: {section.title}", ""]
            lines += _table(section.headers, section.rows) + [f"\n{note}" for note in section.notes]
        if row.parity is None:
            continue
        lines += ["", f"## {row.target} {row.mode}: checks", ""]
        lines += _table(
            ["check", "output", "value", "threshold", "result"],
            [
                [
                    c.name,
                    c.output or "-",
                    f"{c.value:.6g}{c.unit}",
                    f"{c.comparison} {c.threshold:g}{c.unit}",
                    "ok" if c.passed else "FAILED",
                ]
                for c in row.parity.checks
            ],
        )
    if report.warnings or report.notes:
        lines += ["", "## Notes and warnings", ""] + [f"- warning: {w}" for w in report.warnings]
        lines += [f"- {n}" for n in report.notes]
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(report.versions.items()))]
    return "\n".join(lines) + "\n"


def write_markdown(report: RunReport, path: Path) -> None:
    write_text_atomic(path, markdown(report))
