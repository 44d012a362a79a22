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
    reference64 = reference.astype(np.float64)
    return _snr_db_from_sums(float(np.sum(reference64**2)), float(np.sum((reference64 - exported) ** 2)))


class OutputAccumulator:
    """OutputMetrics of one output pair from batches fed in sample order, holding only running sums.

    `count` (samples in the whole set) fixes which elements the value sample draws before the first batch.
    The result equals a single pass over all samples (sums in float64; per-sample values summed in order).
    """

    def __init__(self, name: str, exported_name: str, count: int) -> None:
        self.name = name
        self.exported_name = exported_name
        self.count = count
        self.samples = 0
        self.sample_shape: tuple[int, ...] | None = None
        self.max_abs_error = 0.0
        self.abs_error_sum = 0.0
        self.squared_error_sum = 0.0
        self.signal = 0.0
        self.cosine_sum = 0.0
        self.cosine_min = np.inf
        self.top1_same = 0
        self.top5_hits = 0
        self.reference_correct = 0
        self.exported_correct = 0
        self.probability_like = True  # every row non-negative and summing to 1 (see compare.class_outputs)
        self.histogram = np.zeros(round((ERROR_LOG10_HIGH - ERROR_LOG10_LOW) * ERROR_BINS_PER_DECADE), np.int64)
        self.zeros = self.underflow = self.overflow = 0
        self._chosen = np.zeros(0, np.int64)  # flat element indices of the value sample
        self._sampled: list[tuple[np.ndarray, np.ndarray]] = []
        self.normalized = True  # every row of a [N, D] output has unit norm: an embedding, not class scores
        self._retrieval: list[tuple[np.ndarray, np.ndarray]] = []  # first RETRIEVAL_MAX_SAMPLES rows of [N, D]
        self._retrieval_rows = 0
        self._step_cosine_sum: np.ndarray | None = None  # [T] per-step cosine summed over samples of [N, T, ...]

    def add(self, reference: np.ndarray, exported: np.ndarray, labels: np.ndarray | None = None) -> None:
        reference = np.asarray(reference)
        exported = np.asarray(exported)
        if reference.shape != exported.shape:
            if reference.size == exported.size:  # e.g. [N, 1, C] vs [N, C]
                exported = exported.reshape(reference.shape)
            else:
                raise ValueError(
                    f"output '{self.name}': reference shape {reference.shape} vs exported {exported.shape}"
                )
        if self.sample_shape is None:
            self.sample_shape = tuple(int(d) for d in reference.shape[1:])
            total = self.count * int(np.prod(self.sample_shape, dtype=np.int64))
            if total > VALUE_SAMPLE_SIZE:
                self._chosen = np.sort(np.random.default_rng(0).choice(total, size=VALUE_SAMPLE_SIZE, replace=False))
            else:
                self._chosen = np.arange(total)
        ref64 = reference.astype(np.float64)
        difference = np.abs(ref64 - exported.astype(np.float64))
        if difference.size:
            self.max_abs_error = max(self.max_abs_error, float(difference.max()))
        self.abs_error_sum += float(difference.sum())
        self.squared_error_sum += float(np.sum(difference**2))
        self.signal += float(np.sum(ref64**2))
        cosine = per_sample_cosine(reference, exported)
        self.cosine_sum += float(cosine.sum())
        self.cosine_min = min(self.cosine_min, float(cosine.min())) if cosine.size else self.cosine_min
        self._add_histogram(difference)
        self._add_value_sample(ref64, exported)
        self._add_kind_statistics(reference, exported)
        if is_classifier_like(reference.shape):
            rows = ref64
            self.probability_like = self.probability_like and bool(
                np.all(rows >= -1e-6) and np.allclose(rows.sum(axis=1), 1.0, atol=1e-3)
            )
            ref_top1 = reference.argmax(axis=1)
            exported_top1 = exported.argmax(axis=1)
            self.top1_same += int(np.count_nonzero(ref_top1 == exported_top1))
            if reference.shape[1] > 5:
                top5 = np.argsort(-exported, axis=1, kind="stable")[:, :5]
                self.top5_hits += int(np.count_nonzero(np.any(top5 == ref_top1[:, None], axis=1)))
            if labels is not None:
                self.reference_correct += int(np.count_nonzero(ref_top1 == labels))
                self.exported_correct += int(np.count_nonzero(exported_top1 == labels))
        self.samples += len(reference)

    def _add_kind_statistics(self, reference: np.ndarray, exported: np.ndarray) -> None:
        """What embeddings (unit rows, neighbours) and sequences (per-step cosine) are judged by, bounded in N."""
        from edgex.parity.embedding import RETRIEVAL_MAX_ELEMENTS, RETRIEVAL_MAX_SAMPLES, is_normalized, step_cosines

        if reference.ndim == 2:
            self.normalized = self.normalized and is_normalized(reference)
            rows = min(RETRIEVAL_MAX_SAMPLES, RETRIEVAL_MAX_ELEMENTS // max(1, reference.shape[1]))
            room = rows - self._retrieval_rows
            if room > 0 and reference.shape[1] >= 2:
                kept = (reference[:room].astype(np.float32), exported[:room].astype(np.float32))
                self._retrieval.append(kept)
                self._retrieval_rows += len(reference[:room])
        elif reference.ndim >= 3 and reference.shape[1] >= 2:
            sums = step_cosines(reference, exported).sum(axis=1)
            self._step_cosine_sum = sums if self._step_cosine_sum is None else self._step_cosine_sum + sums

    def _add_histogram(self, difference: np.ndarray) -> None:
        values = difference.reshape(-1)
        edges = 10.0 ** (ERROR_LOG10_LOW + np.arange(len(self.histogram) + 1) / ERROR_BINS_PER_DECADE)
        nonzero = values[values > 0]
        counts, _ = np.histogram(nonzero, bins=edges)
        self.histogram += counts
        self.zeros += int(values.size - nonzero.size)
        self.underflow += int(np.count_nonzero(nonzero < edges[0]))
        self.overflow += int(np.count_nonzero(nonzero >= edges[-1]))

    def _add_value_sample(self, reference: np.ndarray, exported: np.ndarray) -> None:
        per_sample = int(np.prod(self.sample_shape or (), dtype=np.int64))
        first = self.samples * per_sample
        low, high = np.searchsorted(self._chosen, [first, first + reference.size])
        local = self._chosen[low:high] - first
        self._sampled.append((reference.reshape(-1)[local], exported.reshape(-1)[local].astype(np.float64)))

    def result(self, class_output: bool = False, labelled: bool = False, kind: str | None = None) -> OutputMetrics:
        """`labelled`: this output is the one the labels apply to (accuracy is reported for it alone). `kind`
        (edgex/parity/embedding.py) decides the kind-specific figures; without one, top-k for every [N, C]."""
        from edgex.parity.embedding import CLASSES, EMBEDDING, SEQUENCE, retrieval_agreement

        shape = (self.samples, *(self.sample_shape or ()))
        elements = self.samples * int(np.prod(self.sample_shape or (), dtype=np.int64))
        classifier = is_classifier_like(shape) and kind in (None, CLASSES)
        retrieval = None
        if kind == EMBEDDING and self._retrieval:
            retrieval = retrieval_agreement(
                np.concatenate([r for r, _ in self._retrieval]), np.concatenate([e for _, e in self._retrieval])
            )
        worst_step: int | None = None
        worst_step_cosine: float | None = None
        if kind == SEQUENCE and self._step_cosine_sum is not None:
            worst_step = int(self._step_cosine_sum.argmin())
            worst_step_cosine = float(self._step_cosine_sum[worst_step] / self.samples)
        classes = int(shape[1]) if classifier else None
        top1 = 100.0 * self.top1_same / self.samples if classifier else None
        top5 = 100.0 * self.top5_hits / self.samples if classifier and (classes or 0) > 5 else None
        accuracy = labelled and classifier
        reference_values = np.concatenate([r for r, _ in self._sampled]) if self._sampled else np.zeros(0)
        exported_values = np.concatenate([e for _, e in self._sampled]) if self._sampled else np.zeros(0)
        return OutputMetrics(
            output=self.name,
            exported_output=self.exported_name,
            shape=shape,
            max_abs_error=self.max_abs_error,
            mean_abs_error=self.abs_error_sum / elements if elements else 0.0,
            rmse=float(np.sqrt(self.squared_error_sum / elements)) if elements else 0.0,
            cosine=self.cosine_sum / self.samples,
            cosine_min=self.cosine_min,
            snr_db=_snr_db_from_sums(self.signal, self.squared_error_sum),
            classes=classes,
            class_output=class_output,
            top1_agreement=top1,
            top5_agreement=top5,
            reference_accuracy=100.0 * self.reference_correct / self.samples if accuracy else None,
            exported_accuracy=100.0 * self.exported_correct / self.samples if accuracy else None,
            error_histogram=ErrorHistogram(
                log10_low=ERROR_LOG10_LOW,
                bins_per_decade=ERROR_BINS_PER_DECADE,
                counts=tuple(int(c) for c in self.histogram),
                zeros=self.zeros,
                underflow=self.underflow,
                overflow=self.overflow,
            ),
            value_sample=ValueSample(
                reference=tuple(float(f"{v:.6g}") for v in reference_values),
                exported=tuple(float(f"{v:.6g}") for v in exported_values),
                total=elements,
            ),
            kind=kind,
            retrieval_agreement=retrieval,
            step_cosine=worst_step_cosine,
            worst_step=worst_step,
        )


def _snr_db_from_sums(signal: float, noise: float) -> float:
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
    """All samples at once: one batch through the accumulator. With a kind (compare() always gives one): top-k for
    class scores only, retrieval for embeddings, the worst time step for sequences; without, top-k for every
    [N, C] output."""
    accumulator = OutputAccumulator(name, exported_name, len(reference))
    accumulator.add(reference, exported, labels)
    return accumulator.result(class_output, labelled=labels is not None, kind=kind)
