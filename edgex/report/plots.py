"""Matplotlib figures for the HTML report, as PNG bytes. matplotlib is imported here only, on the Agg backend,
when a page is written: the CLI never pays for it otherwise.

Inputs are the plot data kept in the JSON reports: the fixed-bin |error| histogram and the (reference, exported)
value sample of each output (edgex/parity/metrics.py), and each run's raw latency timings.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

MAX_COLUMNS = 4


@dataclass(frozen=True)
class Series:
    """One artifact (or reference) in a plot."""

    label: str
    values: Any  # whatever the plot needs: an ErrorHistogram, a ValueSample, timings, a number


def _pyplot() -> Any:
    from edgex.errors import require_module

    require_module("matplotlib", "report", "writing the HTML report")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    return pyplot


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    _pyplot().close(figure)
    return buffer.getvalue()


def error_histogram(output: str, series: list[Series]) -> bytes:
    """|reference - exported| per element, one step line per artifact, on fixed log-spaced bins."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 3.6))
    for item in series:
        histogram = item.values  # an ErrorHistogram
        total = sum(histogram.counts) + histogram.zeros + histogram.underflow + histogram.overflow
        shares = [100.0 * count / total for count in histogram.counts] if total else list(histogram.counts)
        label = f"{item.label} ({histogram.zeros} exact)" if histogram.zeros else item.label
        axes.stairs(shares, histogram.edges(), label=label, linewidth=1.6)
    axes.set_xscale("log")
    axes.set_xlabel(f"|reference - exported| of '{output}' (per element)")
    axes.set_ylabel("% of elements")
    axes.set_title(f"error histogram: {output}")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    return _png(figure)


def scatter(series: list[Series]) -> bytes:
    """Reference vs exported values of each artifact's headline output (a sample of elements), with y = x."""
    plt = _pyplot()
    columns = min(MAX_COLUMNS, len(series))
    rows = (len(series) + columns - 1) // columns
    figure, grid = plt.subplots(rows, columns, figsize=(3.4 * columns, 3.2 * rows), squeeze=False, layout="constrained")
    for axes in grid.flat[len(series) :]:
        axes.set_visible(False)
    for axes, item in zip(grid.flat, series, strict=False):
        sample = item.values  # a ValueSample
        reference, exported = sample.reference, sample.exported
        low, high = min(*reference, *exported), max(*reference, *exported)
        axes.plot([low, high], [low, high], color="grey", linewidth=0.8, linestyle="--")
        axes.scatter(reference, exported, s=6, alpha=0.6)
        axes.set_title(item.label, fontsize=8)
        axes.set_xlabel("reference", fontsize=8)
        axes.set_ylabel("exported", fontsize=8)
        axes.tick_params(labelsize=7)
    figure.suptitle(f"reference vs exported ({len(series[0].values.reference)}-element samples)", fontsize=10)
    return _png(figure)


def latency_boxes(series: list[Series]) -> bytes:
    """Per-run latency of every artifact and its reference, one box each (ms, all timed runs)."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(max(6.0, 1.1 * len(series)), 3.8))
    axes.boxplot([item.values for item in series], tick_labels=[item.label for item in series], showfliers=True)
    values = [v for item in series for v in item.values]
    if values and min(values) > 0 and max(values) / min(values) > 20:
        axes.set_yscale("log")
    axes.set_ylabel("ms per inference")
    axes.set_title("latency (every timed run)")
    axes.tick_params(axis="x", labelrotation=30, labelsize=8)
    axes.grid(alpha=0.3, axis="y")
    return _png(figure)


def size_bars(series: list[Series]) -> bytes:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 0.45 * len(series) + 1.2))
    labels = [item.label for item in series]
    sizes = [item.values / 1024 for item in series]
    bars = axes.barh(labels, sizes, color="#4c72b0")
    axes.bar_label(bars, labels=[f"{size:.1f} KB" for size in sizes], fontsize=8, padding=3)
    axes.invert_yaxis()
    axes.set_xlabel("artifact size (KB)")
    axes.set_title("size")
    axes.margins(x=0.15)
    return _png(figure)


def error_by_depth(series: list[Series]) -> bytes:
    """SNR of each layer's output in execution order (`edgex debug`'s layers), suspects marked: where int8 breaks."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(9, 3.6))
    for item in series:
        layers, suspects = item.values
        snr = [layer["snr_db"] for layer in layers]
        axes.plot(range(len(snr)), snr, marker=".", label=item.label)
        for index, layer in enumerate(layers):
            if layer["name"] in suspects:
                axes.annotate(layer["name"], (index, snr[index]), fontsize=7, color="#c44e52",
                              xytext=(3, -10), textcoords="offset points")
                axes.plot(index, snr[index], "o", color="#c44e52")
    axes.set_xlabel("layer (execution order)")
    axes.set_ylabel("SNR vs float (dB)")
    axes.set_title("int8 error by depth")
    axes.legend(fontsize=7)
    return _png(figure)


def accuracy_vs_size(series: list[Series], metric: str, references: list[tuple[str, float]]) -> bytes:
    """`series` values are (size bytes, metric %); `references` are (label, reference accuracy %) lines."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 4))
    for item in series:
        size, value = item.values
        axes.scatter([size / 1024], [value], s=40)
        axes.annotate(item.label, (size / 1024, value), fontsize=8, textcoords="offset points", xytext=(5, 4))
    styles = ("--", ":", "-.")
    for index, (label, value) in enumerate(references):
        axes.axhline(value, color="grey", linestyle=styles[index % 3], linewidth=0.9, label=f"{label}: {value:.1f}%")
    if references:
        axes.legend(title="reference", fontsize=8, title_fontsize=8, loc="lower right")
    sizes = [item.values[0] for item in series]
    if max(sizes) / max(min(sizes), 1) > 10:  # log only when sizes span an order of magnitude
        axes.set_xscale("log")
    axes.margins(x=0.25, y=0.2)
    axes.set_xlabel("artifact size (KB)")
    axes.set_ylabel(f"{metric} (%)")
    axes.set_title(f"{metric} vs size")
    axes.grid(alpha=0.3)
    return _png(figure)
