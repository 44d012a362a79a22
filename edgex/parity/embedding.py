"""Parity for outputs that are not class scores (numpy only): embeddings and sequences.

Top-k agreement means nothing on a 384-d sentence embedding; what its users need is that neighbours stay
neighbours. An embedding [N, D] is judged by per-sample cosine (mean and worst) and SNR like any output, plus
a retrieval check: for how many validation samples the nearest other sample (by cosine) is the same in the
exported outputs as in the reference's. A sequence [N, T, ...] (frame posteriors, RNN states) is also judged
per time step: the worst step's mean cosine, so one drifting step is not averaged away by the others.
"""

from __future__ import annotations

import numpy as np

CLASSES, EMBEDDING, SEQUENCE, VALUES = "classes", "embedding", "sequence", "values"
RETRIEVAL_MAX_SAMPLES = 2000  # the similarity matrix is N x N
RETRIEVAL_MAX_ELEMENTS = 1_000_000  # rows kept while streaming, per side: fewer than 2000 for outputs over 500-d
NORMALIZED_TOLERANCE = 1e-3


def output_kind(shape: tuple[int, ...], is_class_output: bool) -> str:
    """How an output of this shape is judged: class scores (top-k), an embedding [N, D], a sequence [N, T, ...],
    else values."""
    if is_class_output:
        return CLASSES
    if len(shape) == 2 and shape[1] >= 2:
        return EMBEDDING
    if len(shape) >= 3 and shape[1] >= 2:
        return SEQUENCE
    return VALUES


def is_normalized(value: np.ndarray) -> bool:
    """Rows of unit L2 norm: what sentence and speaker encoders return, never class scores."""
    if value.ndim != 2 or len(value) == 0:
        return False
    norms = np.linalg.norm(value.astype(np.float64), axis=1)
    return bool(np.all(np.abs(norms - 1.0) < NORMALIZED_TOLERANCE))


def _nearest_other(embeddings: np.ndarray) -> np.ndarray:
    rows = embeddings.reshape(len(embeddings), -1).astype(np.float64)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    unit = rows / np.where(norms > 0, norms, 1.0)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    nearest: np.ndarray = similarity.argmax(axis=1)
    return nearest


def retrieval_agreement(reference: np.ndarray, exported: np.ndarray) -> float | None:
    """Percent of samples whose nearest other sample (cosine) is the same in both; None below 3 samples."""
    count = min(len(reference), RETRIEVAL_MAX_SAMPLES)
    if count < 3:
        return None
    same = _nearest_other(reference[:count]) == _nearest_other(exported[:count])
    return 100.0 * float(np.mean(same))


def step_cosine(reference: np.ndarray, exported: np.ndarray) -> tuple[float, int]:
    """The worst time step (axis 1) by mean per-sample cosine: (its mean cosine, its index)."""
    per_step = step_cosines(reference, exported).mean(axis=1)
    worst = int(per_step.argmin())
    return float(per_step[worst]), worst


def step_cosines(reference: np.ndarray, exported: np.ndarray) -> np.ndarray:
    """Cosine per time step (axis 1) and sample: [T, N] (summed over batches by the streaming accumulator)."""
    steps = reference.shape[1]
    ref = np.moveaxis(reference, 1, 0).reshape(steps, len(reference), -1).astype(np.float64)
    exp = np.moveaxis(exported, 1, 0).reshape(steps, len(exported), -1).astype(np.float64)
    dot = np.sum(ref * exp, axis=2)
    ref_norm, exp_norm = np.linalg.norm(ref, axis=2), np.linalg.norm(exp, axis=2)
    norms = ref_norm * exp_norm
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = np.where(norms > 0, dot / np.where(norms > 0, norms, 1.0), 0.0)
    both_zero: np.ndarray = np.where((ref_norm == 0) & (exp_norm == 0), 1.0, cosine)
    return both_zero
