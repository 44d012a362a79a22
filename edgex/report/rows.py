"""The one-row-per-artifact summary shared by the terminal table and the Markdown report."""

from __future__ import annotations

from pathlib import Path

from edgex.results import RowResult, RowStatus, RunReport

HEADERS = (
    "",
    "target",
    "mode",
    "artifact",
    "size",
    "top-1 agree",
    "accuracy",
    "cosine",
    "SNR",
    "max |err|",
    "latency ms",
    "note",
)
METRIC_HEADERS = HEADERS[5:11]


def _size(row: RowResult, float_sizes: dict[str, int]) -> str:
    if row.artifact is None:
        return "-"
    text = f"{row.artifact.size_bytes / 1024:.1f} KB"
    baseline = float_sizes.get(row.target)
    if baseline and row.mode != "none":
        text += f" ({row.artifact.size_bytes / baseline:.2f}x)"
    return text


def note(row: RowResult) -> str:
    """The last column: the error, the failed checks, or the row's notes."""
    if row.status is RowStatus.EXPORT_FAILED:
        return row.error or "export failed"
    failed = row.failed_checks
    if failed:
        layers = row.details.get("layer_debug") or {}  # edgex/debugging.py: where a failed int8 row went wrong
        suspects = [layers["summary"]] if "summary" in layers else []
        return "; ".join([*(check.describe() for check in failed), *suspects])
    if row.parity is None:
        return "not validated (no validation data)"
    return ", ".join(row.notes)


def metric_cells(row: RowResult) -> dict[str, str]:
    """The parity columns (by header) of one row: its headline output's metrics and the exported latency."""
    parity = row.parity
    head = parity.headline() if parity else None
    if parity is None or head is None:
        return dict.fromkeys(METRIC_HEADERS, "-")
    accuracy = "-"
    if head.reference_accuracy is not None and head.exported_accuracy is not None:
        accuracy = f"{head.reference_accuracy:.1f} -> {head.exported_accuracy:.1f}%"
    latency = "-"
    if parity.exported_latency is not None:
        ratio = parity.latency_ratio
        latency = f"{parity.exported_latency.median_ms:.3f}" + (f" ({ratio:.2f}x)" if ratio is not None else "")
    return {
        "top-1 agree": f"{head.top1_agreement:.1f}%" if head.top1_agreement is not None else "-",
        "accuracy": accuracy,
        "cosine": f"{head.cosine:.5f}",
        "SNR": f"{head.snr_db:.1f} dB",
        "max |err|": f"{head.max_abs_error:.2e}",
        "latency ms": latency,
    }


def row_cells(row: RowResult, float_sizes: dict[str, int]) -> list[str]:
    cells = [
        row.status.icon,
        row.target,
        row.mode,
        Path(row.artifact.path).name if row.artifact else "-",
        _size(row, float_sizes),
    ]
    return [*cells, *metric_cells(row).values(), note(row)]


def summary_rows(report: RunReport) -> list[list[str]]:
    """Sizes are compared with the float32 artifact of the same target when the run made one."""
    float_sizes = {r.target: r.artifact.size_bytes for r in report.rows if r.mode == "none" and r.artifact}
    return [row_cells(row, float_sizes) for row in report.rows]


def reference_line(report: RunReport) -> str | None:
    parity = next((r.parity for r in report.rows if r.parity is not None), None)
    if parity is None:
        return None
    parts = [f"reference {report.source.spec} on {report.source.runtime}"]
    head = parity.headline()
    if head is not None and head.reference_accuracy is not None:
        parts.append(f"accuracy {head.reference_accuracy:.1f}%")
    if parity.reference_latency is not None:
        latency = parity.reference_latency
        parts.append(
            f"latency median {latency.median_ms:.3f} ms / p90 {latency.p90_ms:.3f} ms ({latency.threads} thread)"
        )
    if parity.reference_memory is not None:
        parts.append(f"peak RSS {parity.reference_memory.peak_rss_mb:.0f} MB")
    parts.append(f"{parity.samples} validation samples")
    return "; ".join(parts)
