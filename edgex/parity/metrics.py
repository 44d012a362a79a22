"""Error statistics between reference and exported outputs (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SNR_CAP_DB = 200.0  # identical outputs (zero error) are reported as 200 dB: JSON has no infinity


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
) -> OutputMetrics:
    reference = np.asarray(reference)
    exported = np.asarray(exported)
    if reference.shape != exported.shape:
        if reference.size == exported.size:  # e.g. [N, 1, C] vs [N, C]
            exported = exported.reshape(reference.shape)
        else:
            raise ValueError(f"output '{name}': reference shape {reference.shape} vs exported {exported.shape}")
    difference = np.abs(reference.astype(np.float64) - exported.astype(np.float64))
    cosine = per_sample_cosine(reference, exported)
    metrics = dict(
        output=name,
        exported_output=exported_name,
        shape=tuple(int(d) for d in reference.shape),
        max_abs_error=float(difference.max()) if difference.size else 0.0,
        mean_abs_error=float(difference.mean()) if difference.size else 0.0,
        rmse=float(np.sqrt(np.mean(difference**2))) if difference.size else 0.0,
        cosine=float(cosine.mean()),
        cosine_min=float(cosine.min()),
        snr_db=snr_db(reference, exported),
        class_output=class_output,
    )
    if is_classifier_like(reference.shape):
        classes = int(reference.shape[1])
        ref_top1 = reference.argmax(axis=1)
        metrics.update(classes=classes, top1_agreement=100.0 * float(np.mean(ref_top1 == exported.argmax(axis=1))))
        if classes > 5:
            top5 = np.argsort(-exported, axis=1, kind="stable")[:, :5]
            metrics["top5_agreement"] = 100.0 * float(np.mean(np.any(top5 == ref_top1[:, None], axis=1)))
        if labels is not None:
            metrics["reference_accuracy"] = 100.0 * float(np.mean(ref_top1 == labels))
            metrics["exported_accuracy"] = 100.0 * float(np.mean(exported.argmax(axis=1) == labels))
    return OutputMetrics(**metrics)
