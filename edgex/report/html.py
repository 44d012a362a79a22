"""Self-contained HTML report: the summary table, per-artifact checks and matplotlib plots inlined as base64 PNGs,
so the page can be attached to a CI run or mailed as one file.

Plots: per-output error histograms, reference-vs-exported scatter, latency box plots, size bars, int8 error by
depth for failed rows that carry a layer comparison, and accuracy
(or top-1 agreement) vs size. Every number in the table carries its raw JSON value in data-value.
This module builds the view (cells, figures, checks); templates/report.html.j2 lays it out, through Jinja2 with
autoescape on, so a model path, a cell id or an error message can never inject markup.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edgex.parity.compare import Check
from edgex.parity.metrics import OutputMetrics
from edgex.report import plots
from edgex.report.files import write_text_atomic
from edgex.report.runs import Run, run_of
from edgex.results import RowResult, RunReport

STATUS_TEXT = {"passed": "passed", "exported": "exported", "parity_failed": "parity failed", "export_failed": "failed"}


@dataclass(frozen=True)
class Cell:
    """One table cell as the template draws it: its text, and the raw JSON value behind a number (data-value)."""

    text: str
    key: str | None = None
    value: str | None = None
    css: str = ""
    badge: str | None = None  # a status badge's CSS class


@dataclass(frozen=True)
class Figure:
    kind: str
    png: str  # base64
    caption: str


def _headline(row: RowResult) -> OutputMetrics | None:
    return row.parity.headline() if row.parity else None


def _artifact_rows(runs: list[Run]) -> list[tuple[str, Run, RowResult]]:
    """(plot label, run, row) for every row that produced an artifact."""
    found = []
    for run in runs:
        for row in run.report.rows if run.report else []:
            if row.artifact:
                name = Path(row.artifact.path).name
                found.append((f"{run.label}\n{name}" if len(runs) > 1 else name, run, row))
    return found


HEADERS = (
    "run",
    "status",
    "target",
    "mode",
    "artifact",
    "size KB",
    "top-1 agree %",
    "accuracy %",
    "cosine",
    "SNR dB",
    "max |err|",
    "latency ms",
)


def _summary_rows(runs: list[Run]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for run in runs:
        if not run.report or not run.report.rows:
            status = "skipped" if run.skipped else "export_failed"
            rows.append({"failed_run": True, "run": run.label, "status": status, "error": run.error or "no report"})
            continue
        for row in run.report.rows:
            head = _headline(row)
            latency = row.parity.exported_latency if row.parity else None
            status = "skipped" if run.skipped and row.status == "export_failed" else row.status.value
            label = "optional: " + STATUS_TEXT[row.status] if status == "skipped" else STATUS_TEXT[row.status]
            cells = [
                Cell(run.label, css="text"),
                Cell(label, css="text", badge=status),
                Cell(row.target, css="text"),
                Cell(row.mode, css="text"),
                Cell(Path(row.artifact.path).name if row.artifact else "-", css="text"),
                _number(row.artifact.size_bytes if row.artifact else None, "size_bytes", lambda v: f"{v / 1024:.1f}"),
                _number(head.top1_agreement if head else None, "top1_agreement", lambda v: f"{v:.1f}"),
                _accuracy(head),
                _number(head.cosine if head else None, "cosine", lambda v: f"{v:.5f}"),
                _number(head.snr_db if head else None, "snr_db", lambda v: f"{v:.1f}"),
                _number(head.max_abs_error if head else None, "max_abs_error", lambda v: f"{v:.2e}"),
                _number(latency.median_ms if latency else None, "median_ms", lambda v: f"{v:.3f}"),
            ]
            rows.append({"failed_run": False, "run": run.label, "mode": row.mode, "cells": cells})
    return rows


def _number(value: float | None, key: str, fmt: Callable[[float], str]) -> Cell:
    return Cell("-") if value is None else Cell(fmt(value), key, repr(value))


def _accuracy(head: OutputMetrics | None) -> Cell:
    reference, exported = (head.reference_accuracy, head.exported_accuracy) if head else (None, None)
    if reference is None or exported is None:
        return Cell("-")
    return Cell(f"{reference:.1f} -> {exported:.1f}", "exported_accuracy", repr(exported))


def _checks(runs: list[Run]) -> list[dict[str, Any]]:
    groups = []
    for run in runs:
        for row in run.report.rows if run.report else []:
            checks = [*row.checks, *(row.parity.checks if row.parity else [])]
            failed = sum(1 for c in checks if not c.passed)
            groups.append(
                {
                    "summary": f"{run.label} {row.target} {row.mode}: {len(checks) - failed}/{len(checks)} checks "
                    "passed",
                    "failed": failed > 0,
                    "notes": [*([row.error] if row.error else []), *row.notes],
                    "checks": [_check_cells(check) for check in checks],
                }
            )
    return groups


def _check_cells(check: Check) -> dict[str, Any]:
    return {
        "name": Cell(check.name, css="text"),
        "output": Cell(check.output or "-", css="text"),
        "value": Cell(f"{check.value:.6g}{check.unit}", "value", repr(check.value)),
        "threshold": Cell(f"{check.comparison} {check.threshold:g}{check.unit}"),
        "passed": check.passed,
    }


def _figure(kind: str, png: bytes, caption: str) -> Figure:
    return Figure(kind, base64.b64encode(png).decode("ascii"), caption)


def _plots(runs: list[Run]) -> list[Figure]:
    rows = _artifact_rows(runs)
    figures: list[Figure] = []
    histograms: dict[str, list[plots.Series]] = {}
    samples: list[plots.Series] = []
    for label, _run, row in rows:
        for output in row.parity.outputs if row.parity else []:
            if output.error_histogram:
                histograms.setdefault(output.output, []).append(plots.Series(label, output.error_histogram))
        head = _headline(row)
        if head and head.value_sample:
            samples.append(plots.Series(label, head.value_sample))
    for output_name, series in histograms.items():
        figures.append(
            _figure(
                "error-histogram",
                plots.error_histogram(output_name, series),
                f"Error histogram of output '{output_name}': share of elements per |error| bin",
            )
        )
    if samples:
        figures.append(_figure("scatter", plots.scatter(samples), "Reference vs exported values (sampled elements)"))
    latency: list[plots.Series] = []
    for run in runs:
        run_rows = [(label, row) for label, r, row in rows if r is run]
        reference = next((row.parity.reference_latency for _, row in run_rows if row.parity), None)
        if reference and reference.timings_ms:
            latency.append(plots.Series(f"{run.label}\nreference", list(reference.timings_ms)))
        for label, row in run_rows:
            exported = row.parity.exported_latency if row.parity else None
            if exported and exported.timings_ms:
                latency.append(plots.Series(label, list(exported.timings_ms)))
    if latency:
        figures.append(_figure("latency", plots.latency_boxes(latency), "Latency per artifact and reference (ms)"))
    sizes = [plots.Series(label, row.artifact.size_bytes) for label, _, row in rows if row.artifact]
    if sizes:
        figures.append(_figure("size", plots.size_bars(sizes), "Artifact sizes"))
    figures += _accuracy_figure(rows)
    depth = [
        plots.Series(label, (row.details["layer_debug"]["layers"], row.details["layer_debug"].get("suspects", [])))
        for label, _, row in rows
        if isinstance(row.details.get("layer_debug"), dict) and row.details["layer_debug"].get("layers")
    ]
    if depth:
        figures.append(_figure("depth", plots.error_by_depth(depth), "int8 error by depth (failed rows' layers)"))
    return figures


def _accuracy_figure(rows: list[tuple[str, Run, RowResult]]) -> list[Figure]:
    """Accuracy against labels when every artifact has it, else top-1 agreement with the reference."""
    heads = [(label, run, row, head) for label, run, row in rows if (head := _headline(row)) is not None]
    if not heads:
        return []
    with_labels = all(head.exported_accuracy is not None for *_, head in heads)
    key, metric = ("exported_accuracy", "accuracy") if with_labels else ("top1_agreement", "top-1 agreement")
    series = [
        plots.Series(label, (row.artifact.size_bytes, getattr(head, key)))
        for label, _, row, head in heads
        if row.artifact and getattr(head, key) is not None
    ]
    if not series:
        return []
    references: dict[str, float] = {}
    if with_labels:
        for _label, run, _row, head in heads:
            if run.report is not None and head.reference_accuracy is not None:
                references.setdefault(Path(run.report.source.spec).name, head.reference_accuracy)
    png = plots.accuracy_vs_size(series, metric, sorted(references.items()))
    return [_figure("accuracy-vs-size", png, f"{metric.capitalize()} vs artifact size")]


def html_report(runs: list[Run], title: str) -> str:
    """The page, rendered by Jinja2 with autoescape from templates/report.html.j2 (shipped as package data)."""
    from edgex.errors import require_module

    require_module("jinja2", "report", "writing the HTML report")
    import jinja2

    failed = [run for run in runs if not run.skipped and run.exit_code != 0]
    versions: dict[str, str] = {}
    for run in runs:
        versions.update(run.report.versions if run.report else {})
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("edgex.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return environment.get_template("report.html.j2").render(
        title=title,
        verdict="fail" if failed else "pass",
        runs=runs,
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        edgex_version=versions.get("edgex", ""),
        headers=HEADERS,
        rows=_summary_rows(runs),
        figures=_plots(runs),
        checks=_checks(runs),
        versions=", ".join(f"{k} {v}" for k, v in sorted(versions.items())),
    )


def write_html_runs(runs: list[Run], path: Path, title: str) -> None:
    write_text_atomic(path, html_report(runs, title))


def write_html(report: RunReport, path: Path) -> None:
    """--report-html of export and validate."""
    write_html_runs([run_of(report)], path, f"edgex {report.command}: {report.source.spec}")
