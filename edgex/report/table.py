"""Terminal table (rich): one row per artifact with ✅ passed, ✗ parity failed, ❌ export failed."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from edgex.report.rows import HEADERS, reference_line, summary_rows
from edgex.results import ICON_STYLES, RunReport


def render(report: RunReport, console: Console) -> None:
    table = Table(title=f"edgex {report.command}: {report.source.spec}", title_justify="left", show_lines=False)
    for header in HEADERS:
        table.add_column(header, overflow="fold", no_wrap=header in ("", "mode", "size"))
    for cells in summary_rows(report):
        table.add_row(*map(Text, cells), style=ICON_STYLES.get(cells[0]))  # text, not markup: '[output_0]'
    console.print(table)
    for row in report.rows:
        for section in (s for s in row.sections if s.terminal):
            extra = Table(title=f"{row.target} {row.mode}: {section.title}", title_justify="left")
            for header in section.headers:
                extra.add_column(header, overflow="fold")
            for cells in section.rows:
                extra.add_row(*map(Text, cells))
            console.print(extra)
            for note in section.notes:
                console.print(f"[dim]{escape(note)}[/dim]")
    line = reference_line(report)
    if line:
        console.print(f"[dim]{escape(line)}[/dim]")
    for note in report.notes:
        console.print(f"[dim]note: {escape(note)}[/dim]")
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    console.print(verdict_line(report.verdict, int(report.exit_code), report.seconds))


def verdict_line(verdict: str, exit_code: int, seconds: float) -> str:
    """The last line of every run (rich markup): PASS/FAIL, the exit code, the time; all `--quiet` keeps."""
    colour = "green" if verdict == "pass" else "red"
    return f"[{colour}]{verdict.upper()}[/{colour}] exit {exit_code} in {seconds:.1f} s"
