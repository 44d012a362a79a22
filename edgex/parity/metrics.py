"""Error statistics between reference and exported outputs (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SNR_CAP_DB = 200.0  # identical outputs (zero error) are reported as 200 dB: JSON has no infinity
# Plot data kept in reports (HTML plots): fixed log-spaced |error| bins, so histograms compare across artifacts,
# and a bounded, reproducible sample of (reference, exported) element pairs for scatter plots.
ERROR_LOG10_LOW = -10.0
ERROR_LOG10_HIGH = 2.0
ERROR_BINS_PER_DECADE = 4
VALUE_SAMPLE_SIZE = 500


@dataclass(frozen=True)
class ErrorHistogram:
    """Counts of |reference - exported| per element in bins [10^(low + i/bins_per_decade), next edge)."""

    log10_low: float
    bins_per_decade: int
    counts: tuple[int, ...]
    zeros: int  # elements with no error at all
    underflow: int  # 0 < error < 10^log10_low
    overflow: int  # error >= the last edge

    def edges(self) -> list[float]:
        return [10.0 ** (self.log10_low + i / self.bins_per_decade) for i in range(len(self.counts) + 1)]


@dataclass(frozen=True)
class ValueSample:
    """Up to VALUE_SAMPLE_SIZE element pairs drawn with a fixed seed from `total` elements (6 significant digits)."""

    reference: tuple[float, ...]
    exported: tuple[float, ...]
    total: int


def error_histogram(difference: np.ndarray) -> ErrorHistogram:
    values = difference.reshape(-1)
    bins = round((ERROR_LOG10_HIGH - ERROR_LOG10_LOW) * ERROR_BINS_PER_DECADE)
    edges = 10.0 ** (ERROR_LOG10_LOW + np.arange(bins + 1) / ERROR_BINS_PER_DECADE)
    nonzero = values[values > 0]
    counts, _ = np.histogram(nonzero, bins=edges)
    return ErrorHistogram(
        log10_low=ERROR_LOG10_LOW,
        bins_per_decade=ERROR_BINS_PER_DECADE,
        counts=tuple(int(c) for c in counts),
        zeros=int(values.size - nonzero.size),
        underflow=int(np.count_nonzero(nonzero < edges[0])),
        overflow=int(np.count_nonzero(nonzero >= edges[-1])),
    )


def value_sample(reference: np.ndarray, exported: np.ndarray, size: int = VALUE_SAMPLE_SIZE) -> ValueSample:
    ref = reference.reshape(-1).astype(np.float64)
    exp = exported.reshape(-1).astype(np.float64)
    chosen = np.arange(ref.size)
    if ref.size > size:
        chosen = np.sort(np.random.default_rng(0).choice(ref.size, size=size, replace=False))
    return ValueSample(
        reference=tuple(float(f"{v:.6g}") for v in ref[chosen]),
        exported=tuple(float(f"{v:.6g}") for v in exp[chosen]),
        total=int(ref.size),
    )


@dataclass(frozen=True)
class OutputMetrics:
    output: str  # reference output name
    exported_output: str
    shape: tuple[int, ...]
    max_abs_error: float
    mean_abs_error: float
    rmse: float
    cosine: float  # mean over samples of the per-sample cosine similarity
    cosine_min: float  # worst sample
    snr_db: float
    classes: int | None = None  # set for classifier-like outputs [N, C]
    class_output: bool = False  # top-k agreement is gated on this output (see compare.class_outputs)
    top1_agreement: float | None = None  # percent of samples with the same argmax
    top5_agreement: float | None = None  # percent whose reference argmax is in the exported top 5 (C > 5)
    reference_accuracy: float | None = None  # percent, with labels
    exported_accuracy: float | None = None
    error_histogram: ErrorHistogram | None = None  # plot data, see ERROR_LOG10_LOW
    value_sample: ValueSample | None = None  # plot data, see VALUE_SAMPLE_SIZE
    kind: str | None = None  # how it is judged: classes, embedding, sequence, values (edgex/parity/embedding.py)
    retrieval_agreement: float | None = None  # embeddings: percent of samples keeping their nearest neighbour
    step_cosine: float | None = None  # sequences: mean cosine of the worst time step
    worst_step: int | None = None

    @property
    def top1_drop(self) -> float | None:
        """Accuracy lost by the export, in percentage points."""
        if self.reference_accuracy is None or self.exported_accuracy is None:
            return None
        return self.reference_accuracy - self.exported_accuracy


def is_classifier_like(shape: tuple[int, ...]) -> bool:
    """[N, C] with C >= 2: scores or probabilities per class."""
    return len(shape) == 2 and shape[1] >= 2


def per_sample_cosine(reference: np.ndarray, exported: np.ndarray) -> np.ndarray:
    ref = reference.reshape(len(reference), -1).astype(np.float64)
    exp = exported.reshape(len(exported), -1).astype(np.float64)
    dot = np.sum(ref * exp, axis=1)
    norms = np.linalg.norm(ref, axis=1) * np.linalg.norm(exp, axis=1)
    both_zero = (np.linalg.norm(ref, axis=1) == 0) & (np.linalg.norm(exp, axis=1) == 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = np.where(norms > 0, dot / np.where(norms > 0, norms, 1.0), 0.0)
    return np.where(both_zero, 1.0, cosine)


def snr_db(reference: np.ndarray, exported: np.ndarray) -> float:
    signal = float(np.sum(reference.astype(np.float64) ** 2))
    noise = float(np.sum((reference.astype(np.float64) - exported.astype(np.float64)) ** 2))
    if noise == 0.0:
        return SNR_CAP_DB
    if signal == 0.0:
        return -SNR_CAP_DB
    return float(np.clip(10.0 * np.log10(signal / noise), -SNR_CAP_DB, SNR_CAP_DB))


def compare_output(
    name: str,
    exported_name: str,
    reference: np.ndarray,
    exported: np.ndarray,
    labels: np.ndarray | None = None,
    class_output: bool = False,
    kind: str | None = None,
) -> OutputMetrics:
    """Error statistics, plus what fits the output's kind when one is given (compare() always gives it): top-k
    for class scores only, retrieval for embeddings, the worst time step for sequences. Without a kind, top-k is
    computed for every [N, C] output."""
    from edgex.parity.embedding import CLASSES, EMBEDDING, SEQUENCE, retrieval_agreement, step_cosine

    reference = np.asarray(reference)
    exported = np.asarray(exported)
    if reference.shape != exported.shape:
        if reference.size == exported.size:  # e.g. [N, 1, C] vs [N, C]
            exported = exported.reshape(reference.shape)
        else:
            raise ValueError(f"output '{name}': reference shape {reference.shape} vs exported {exported.shape}")
    difference = np.abs(reference.astype(np.float64) - exported.astype(np.float64))
    worst_step = step_cosine(reference, exported) if kind == SEQUENCE else None
    cosine = per_sample_cosine(reference, exported)
    classes: int | None = None
    top1_agreement: float | None = None
    top5_agreement: float | None = None
    reference_accuracy: float | None = None
    exported_accuracy: float | None = None
    if is_classifier_like(reference.shape) and kind in (None, CLASSES):
        classes = int(reference.shape[1])
        ref_top1 = reference.argmax(axis=1)
        top1_agreement = 100.0 * float(np.mean(ref_top1 == exported.argmax(axis=1)))
        if classes > 5:
            top5 = np.argsort(-exported, axis=1, kind="stable")[:, :5]
            top5_agreement = 100.0 * float(np.mean(np.any(top5 == ref_top1[:, None], axis=1)))
        if labels is not None:
            reference_accuracy = 100.0 * float(np.mean(ref_top1 == labels))
            exported_accuracy = 100.0 * float(np.mean(exported.argmax(axis=1) == labels))
    return OutputMetrics(
        output=name,
        exported_output=exported_name,
        shape=tuple(int(d) for d in reference.shape),
        max_abs_error=float(difference.max()) if difference.size else 0.0,
        mean_abs_error=float(difference.mean()) if difference.size else 0.0,
        rmse=float(np.sqrt(np.mean(difference**2))) if difference.size else 0.0,
        cosine=float(cosine.mean()),
        cosine_min=float(cosine.min()),
        snr_db=snr_db(reference, exported),
        classes=classes,
        class_output=class_output,
        top1_agreement=top1_agreement,
        top5_agreement=top5_agreement,
        reference_accuracy=reference_accuracy,
        exported_accuracy=exported_accuracy,
        error_histogram=error_histogram(difference),
        value_sample=value_sample(reference, exported),
        kind=kind,
        retrieval_agreement=retrieval_agreement(reference, exported) if kind == EMBEDDING else None,
        step_cosine=worst_step[0] if worst_step else None,
        worst_step=worst_step[1] if worst_step else None,
    )
