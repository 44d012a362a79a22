"""`edgex report diff BASE.json HEAD.json`: what a change did to each artifact, as a Markdown table for a PR comment.

Rows are matched by (model, target, mode): the model is the source's file name in an export/validate report and
the cell id (model/target entry) in edgex-build.json, so two entries of one model on one target stay apart. A row
regresses when its size, latency or parity moved past the thresholds, or when it stopped passing.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgex.report.runs import Run
from edgex.results import RowResult, RowStatus

PASSING = (RowStatus.PASSED.value, RowStatus.EXPORTED.value)


@dataclass(frozen=True)
class DiffThresholds:
    """How far a row may move before it counts as a regression; None: not gated."""

    max_size_increase: float | None = 5.0  # percent of the base artifact's size
    max_latency_increase: float | None = 25.0  # percent of the base median latency (noisy on shared CI runners)
    max_agreement_drop: float | None = 1.0  # percentage points of top-1 agreement with the source model
    max_snr_drop: float | None = 3.0  # dB of output SNR against the source model


@dataclass(frozen=True)
class RowFigures:
    """The figures of one row that a diff compares."""

    status: str
    size_bytes: int | None = None
    latency_ms: float | None = None
    top1_agreement: float | None = None
    snr_db: float | None = None

    @classmethod
    def of(cls, row: RowResult) -> RowFigures:
        parity = row.parity
        head = parity.headline() if parity is not None else None
        latency = parity.exported_latency if parity is not None else None
        return cls(
            status=row.status.value,
            size_bytes=row.artifact.size_bytes if row.artifact is not None else None,
            latency_ms=latency.median_ms if latency is not None else None,
            top1_agreement=head.top1_agreement if head is not None else None,
            snr_db=head.snr_db if head is not None else None,
        )


@dataclass(frozen=True)
class RowDiff:
    key: tuple[str, str, str]  # model, target, mode
    base: RowFigures | None  # None: added by HEAD
    head: RowFigures | None  # None: removed in HEAD
    regressions: tuple[str, ...] = ()

    @property
    def change(self) -> str:
        if self.base is None:
            return "added"
        if self.head is None:
            return "removed"
        return "regressed" if self.regressions else "ok"


def _rows(runs: list[Run]) -> dict[tuple[str, str, str], RowFigures]:
    rows: dict[tuple[str, str, str], RowFigures] = {}
    for run in runs:
        if run.report is None:  # a build cell that could not run: one row for the whole cell
            rows[(run.label, "-", "-")] = RowFigures(status=RowStatus.EXPORT_FAILED.value)
            continue
        model = run.label.removeprefix(f"{run.report.command} ")  # a build cell's id, else the source's file name
        for row in run.report.rows:
            rows[(model, row.target, row.mode)] = RowFigures.of(row)
    return rows


def _percent(base: float | None, head: float | None) -> float | None:
    if base is None or head is None or base == 0:
        return None
    return (head - base) / base * 100.0


def _regressions(base: RowFigures, head: RowFigures, limits: DiffThresholds) -> tuple[str, ...]:
    found = []
    if base.status in PASSING and head.status not in PASSING:
        found.append(f"status {base.status} -> {head.status}")
    size = _percent(base.size_bytes, head.size_bytes)
    if size is not None and limits.max_size_increase is not None and size > limits.max_size_increase:
        found.append(f"size +{size:.1f}% > {limits.max_size_increase:g}%")
    latency = _percent(base.latency_ms, head.latency_ms)
    if latency is not None and limits.max_latency_increase is not None and latency > limits.max_latency_increase:
        found.append(f"latency +{latency:.1f}% > {limits.max_latency_increase:g}%")
    if base.top1_agreement is not None and head.top1_agreement is not None and limits.max_agreement_drop is not None:
        drop = base.top1_agreement - head.top1_agreement
        if drop > limits.max_agreement_drop:
            found.append(f"top-1 agreement -{drop:.1f} pts > {limits.max_agreement_drop:g}")
    if base.snr_db is not None and head.snr_db is not None and limits.max_snr_drop is not None:
        drop = base.snr_db - head.snr_db
        if drop > limits.max_snr_drop:
            found.append(f"SNR -{drop:.1f} dB > {limits.max_snr_drop:g} dB")
    return tuple(found)


def diff_runs(base: list[Run], head: list[Run], limits: DiffThresholds) -> list[RowDiff]:
    """Every row of either side, HEAD's order first, then rows only BASE has."""
    base_rows, head_rows = _rows(base), _rows(head)
    diffs = []
    for key, figures in head_rows.items():
        before = base_rows.get(key)
        if before is None:
            failing = () if figures.status in PASSING else (f"new row {figures.status}",)
            diffs.append(RowDiff(key, None, figures, failing))
        else:
            diffs.append(RowDiff(key, before, figures, _regressions(before, figures, limits)))
    diffs += [RowDiff(key, figures, None) for key, figures in base_rows.items() if key not in head_rows]
    return diffs


GLYPHS = {"ok": "✅", "regressed": "❌", "added": "➕", "removed": "➖"}


# The compared figures as table columns: (RowFigures field, decimals, delta in percent (else in the figure's unit)).
COLUMNS = (("size_bytes", 1, True), ("latency_ms", 3, True), ("top1_agreement", 1, False), ("snr_db", 1, False))


def _cell(base: float | None, head: float | None, digits: int, relative: bool) -> str:
    """'base → head (delta)': size and latency deltas in percent, parity deltas in the figure's own unit."""
    if base is None and head is None:
        return "-"
    if base is None or head is None:
        return f"{head if head is not None else base:.{digits}f}"
    if relative:
        delta = _percent(base, head)
        change = f"{delta:+.1f}%" if delta is not None else "n/a"
    else:
        change = f"{head - base:+.{digits}f}"
    return f"{base:.{digits}f} → {head:.{digits}f} ({change})"


def _figure(figures: RowFigures | None, name: str) -> float | None:
    value = getattr(figures, name) if figures is not None else None
    return None if value is None else float(value) / (1024 if name == "size_bytes" else 1)  # sizes in KB


def markdown(diffs: list[RowDiff], base_name: str, head_name: str) -> str:
    """The PR-comment table: one line per row, base → head with the delta, the reason a row regressed."""
    regressed = sum(1 for diff in diffs if diff.regressions)
    verdict = f"❌ {regressed} of {len(diffs)} rows regressed" if regressed else f"✅ {len(diffs)} rows, no regression"
    lines = [
        f"### edgex report diff: {verdict}",
        "",
        f"base `{base_name}` → head `{head_name}`",
        "",
        "| | model | target | mode | size KB | latency ms | top-1 agree % | SNR dB | status | regression |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for diff in diffs:
        base, head = diff.base, diff.head
        glyph = GLYPHS["regressed"] if diff.regressions else GLYPHS[diff.change]
        status = " → ".join(dict.fromkeys(f.status for f in (base, head) if f is not None))
        cells = [
            glyph,
            *diff.key,
            *(
                _cell(_figure(base, name), _figure(head, name), digits, relative)
                for name, digits, relative in COLUMNS
            ),
            status,
            "; ".join(diff.regressions) or diff.change,
        ]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"
