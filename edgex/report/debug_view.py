"""Terminal view of `edgex debug`: the layer table in execution order, suspects highlighted, then the verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from edgex.debugging import DebugReport


def print_debug(report: DebugReport, stderr: bool = False) -> None:
    """`stderr`: the JSON report went to stdout (`--report-json -`)."""
    console = Console(stderr=stderr)
    if not console.is_terminal:
        console = Console(stderr=stderr, width=max(console.width, 160))
    table = Table(title=f"edgex debug: {report.artifact} vs {report.source} ({report.samples} samples)",
                  title_justify="left")
    for header in ("#", "layer", "kind", "SNR dB", "cosine", "max |err|", "adds dB", "clipped", ""):
        table.add_column(header, justify="right" if header not in ("layer", "kind", "") else "left")
    rank = {name: index + 1 for index, name in enumerate(report.suspects)}
    for index, layer in enumerate(report.layers):
        mark = f"suspect #{rank[layer.name]}" if layer.name in rank else ""
        cells = [str(index), layer.name, layer.kind, f"{layer.snr_db:.1f}", f"{layer.cosine:.4f}",
                 f"{layer.max_abs_error:.3g}", f"{layer.added_db:.1f}",
                 "-" if layer.clipped is None else f"{layer.clipped:.1%}", mark]
        table.add_row(*map(Text, cells), style="red" if mark else None)
    console.print(table)
    for note in report.notes:
        console.print(f"[dim]note: {escape(note)}[/dim]")
    if report.suspects:
        console.print(f"suspects (worst first): {escape(', '.join(report.suspects))}")
    else:
        console.print("no layer stands out: the error grows gradually through the model")
