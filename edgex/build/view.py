"""The build in the terminal: a progress line per running cell (stderr), a line per finished cell, then one table
row per artifact row with ✅ passed · ✗ parity failed · ❌ export failed, and the verdict."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from edgex.build.runner import BuildResult, CellResult
from edgex.report.rows import metric_cells, note
from edgex.report.table import verdict_line
from edgex.results import ICON_STYLES, STATUS_ICONS, RowResult, RowStatus, RunReport

HEADERS = (
    "",
    "cell",
    "mode",
    "artifact",
    "size",
    "top-1 agree",
    "accuracy",
    "cosine",
    "max |err|",
    "latency ms",
    "build",
    "note",
)


class BuildProgress:
    """Spinners for the cells being built; rich draws them only on a terminal, the finished lines always print."""

    def __init__(self, console: Console, cells: list[str]) -> None:
        self.console = console
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[cell]}"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.tasks: dict[str, TaskID] = {}
        self.cells = cells

    def __enter__(self) -> BuildProgress:
        self.progress.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.progress.__exit__(exc_type, exc, traceback)

    def event(self, cell: str, message: str) -> None:
        if cell not in self.tasks:
            self.tasks[cell] = self.progress.add_task(message, cell=cell, total=None)
        elif message == "finished":
            self.progress.remove_task(self.tasks.pop(cell))
        else:
            self.progress.update(self.tasks[cell], description=message)

    def done(self, result: CellResult) -> None:
        icon = STATUS_ICONS[result.status]
        if result.up_to_date:
            how = "up to date"
        else:
            how = f"built in {result.outcome.seconds:.1f} s ({result.rebuilt_because})"
        extra = f": {_cell_error(result)}" if result.status == "export_failed" else ""
        self.console.print(f"{icon} {result.cell.id} {how}{extra}", style=ICON_STYLES[icon], highlight=False)


def _cell_error(result: CellResult) -> str:
    if result.outcome.error:
        return result.outcome.error
    return next((row["error"] for row in result.rows if row.get("error")), "export failed")


def row_cells(result: CellResult, row: RowResult) -> list[str]:
    """One table row for one report row: the export table's cells (edgex/report/rows.py) plus the build's."""
    metrics = metric_cells(row)
    cells = [
        row.status.icon,
        result.cell.id,
        row.mode,
        Path(row.artifact.path).name if row.artifact else "-",
        f"{row.artifact.size_bytes / 1024:.1f} KB" if row.artifact else "-",
        *(metrics[key] for key in ("top-1 agree", "accuracy", "cosine", "max |err|", "latency ms")),
        "up to date" if result.up_to_date else f"built {result.outcome.seconds:.1f} s",
    ]
    text = note(row)
    if result.forgiven and row.status is RowStatus.EXPORT_FAILED:
        text = f"optional, not counted: {text}"
    cells.append(text)
    return cells


def render(build: BuildResult, console: Console, written: list[Path]) -> None:
    table = Table(title=f"edgex build: {build.config.path}", title_justify="left")
    for header in HEADERS:
        table.add_column(header, overflow="fold", no_wrap=header in ("", "mode", "size"))
    for result in build.cells:
        if result.outcome.error is not None:
            cells = (
                [STATUS_ICONS["export_failed"], result.cell.id]
                + ["-"] * 8
                + [f"failed {result.outcome.seconds:.1f} s", result.outcome.error]
            )
            table.add_row(*cells, style=ICON_STYLES["❌"])
            continue
        report = RunReport.from_dict(result.outcome.report) if result.outcome.report else None
        for row in report.rows if report else []:
            cells = row_cells(result, row)
            table.add_row(*cells, style=ICON_STYLES[cells[0]])
    console.print(table)
    measured = [(r.cell.id, r.outcome.determinism) for r in build.cells if r.outcome.determinism]
    if measured:
        same = [cell_id for cell_id, determinism in measured if determinism["identical"]]
        differ = build.non_deterministic()
        console.print(
            f"determinism (same inputs exported twice, sha256 compared): identical: {', '.join(same) or 'none'}; "
            f"differ: {', '.join(differ) or 'none'}",
            highlight=False,
        )
    built = sum(1 for r in build.cells if not r.up_to_date)
    forgiven = [r.cell.id for r in build.cells if r.forgiven]
    summary = f"{len(build.cells)} cells: {built} built, {len(build.cells) - built} up to date"
    if forgiven:
        summary += f"; optional cells not counted (missing tool): {', '.join(forgiven)}"
    console.print(summary, highlight=False)
    for path in written:
        console.print(f"[dim]wrote {path}[/dim]", highlight=False)
    console.print(verdict_line(build.verdict, int(build.exit_code), build.seconds))


def failed_rows(build: BuildResult) -> list[tuple[str, RowResult]]:
    """(cell id, row) of every counted row that failed, a cell that could not run as one export-failed row."""
    failed = []
    for result in build.cells:
        if result.forgiven:
            continue
        if result.outcome.error is not None:
            failed.append((result.cell.id, RowResult("-", "", RowStatus.EXPORT_FAILED, error=result.outcome.error)))
            continue
        report = RunReport.from_dict(result.outcome.report) if result.outcome.report else None
        failed += [(result.cell.id, row) for row in (report.rows if report else []) if row.status.icon != "✅"]
    return failed
