"""Layer-by-layer comparison of a quantized model with its float source: the numbers and the suspects.

The worker side (edgex/quantize/layers_tf.py, layers_torch.py) runs both models on the same samples and hands
back each layer's float and quantized output in execution order; this module, numpy only, turns them into
per-layer SNR / cosine / max error and the error each layer adds, and names the suspects: the layers where the
error jumps (the SNR falls below everything seen before it by more than JUMP_DB), worst first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgex.parity.metrics import per_sample_cosine, snr_db

INT8_CEILING_DB = 50.0  # about the best SNR 8 bits give (6.02 x 8 + 1.76): the first layer is measured against it
JUMP_DB = 3.0  # a layer is a suspect when it loses at least this much SNR against all the layers before it...
HEALTHY_DB = 30.0  # ...and ends below this (an int8 layer at 30-45 dB is doing as well as 8 bits allow)
SUMMARY_SUSPECTS = 3  # how many suspects a failed row's note names
CLIPPING_WARN = 0.01  # share of a layer's float outputs beyond its calibrated int8 range that is worth a warning


@dataclass
class LayerResult:
    """One layer's output, quantized vs float, over all samples."""

    name: str  # the source model's layer name (Keras) or module path (nn.Module)
    kind: str  # the layer's class (Dense, Linear, ...)
    snr_db: float
    cosine: float
    max_abs_error: float
    added_db: float  # SNR lost at this layer against the best of the layers before it: the error it adds
    clipped: float | None = None  # share of float outputs outside the layer's calibrated int8 range (None: float)


def measure(
    name: str,
    kind: str,
    reference: np.ndarray,
    quantized: np.ndarray,
    value_range: tuple[float, float] | None = None,
) -> LayerResult:
    """Metrics of one layer output; `added_db` is filled in by `with_added_error`. `value_range` is what the
    quantized tensor can represent (its calibrated range): float values beyond it are clipped."""
    reference = reference.astype(np.float64)
    quantized = quantized.astype(np.float64).reshape(reference.shape)
    return LayerResult(
        name=name,
        kind=kind,
        snr_db=snr_db(reference, quantized),
        cosine=float(np.mean(per_sample_cosine(reference, quantized))),
        max_abs_error=float(np.max(np.abs(reference - quantized))) if reference.size else 0.0,
        added_db=0.0,
        clipped=_clipped(reference, value_range),
    )


def _clipped(reference: np.ndarray, value_range: tuple[float, float] | None) -> float | None:
    if value_range is None or not reference.size:
        return None
    low, high = value_range
    return float(np.mean((reference < low) | (reference > high)))


def quantized_range(scale: float, zero_point: int, low: int = -128, high: int = 127) -> tuple[float, float]:
    """The float range an affine int tensor represents (with half a step of rounding slack)."""
    return (low - zero_point - 0.5) * scale, (high - zero_point + 0.5) * scale


def clipping_warning(layers: list[LayerResult]) -> str | None:
    """Layers whose calibrated ranges clip the float outputs on these samples: unrepresentative calibration."""
    clipped = [layer for layer in layers if layer.clipped is not None and layer.clipped >= CLIPPING_WARN]
    if not clipped:
        return None
    worst = sorted(clipped, key=lambda layer: -(layer.clipped or 0.0))[:SUMMARY_SUSPECTS]
    listed = ", ".join(f"{layer.name} {layer.clipped:.1%}" for layer in worst)
    return (
        f"activation ranges clip on these samples ({listed} of values beyond the calibrated range): "
        "the calibration data do not cover them; calibrate on more, or more representative, samples"
    )


def with_added_error(layers: list[LayerResult]) -> list[LayerResult]:
    """The error each layer adds: how far its SNR falls below the lowest SNR of the layers before it (the first
    layer: below what 8 bits allow)."""
    lowest = INT8_CEILING_DB
    for layer in layers:
        layer.added_db = max(0.0, lowest - layer.snr_db)
        lowest = min(lowest, layer.snr_db)
    return layers


def suspects(layers: list[LayerResult]) -> list[str]:
    """Layers where the error jumps, worst first (ties: execution order)."""
    jumps = [layer for layer in layers if layer.added_db >= JUMP_DB and layer.snr_db < HEALTHY_DB]
    return [layer.name for layer in sorted(jumps, key=lambda layer: -layer.added_db)]


def sensitivity_order(layers: list[LayerResult]) -> list[str]:
    """Every layer, most sensitive first: the suspects, then the rest by how much error they add."""
    ranked = sorted(layers, key=lambda layer: (-layer.added_db, layer.snr_db))
    return [layer.name for layer in ranked]


def summary(layers: list[LayerResult]) -> str:
    """One line for a failed row's notes."""
    named = suspects(layers)[:SUMMARY_SUSPECTS]
    clipping = clipping_warning(layers)
    if not named:
        line = "layer debug: no layer stands out (the error grows gradually); see 'edgex debug'"
    else:
        by_name = {layer.name: layer for layer in layers}
        parts = [f"{name} (SNR {by_name[name].snr_db:.1f} dB, -{by_name[name].added_db:.1f} dB)" for name in named]
        line = "int8 error jumps at: " + ", ".join(parts) + "; try -q auto to keep them in float"
    return f"{line}; {clipping}" if clipping else line
