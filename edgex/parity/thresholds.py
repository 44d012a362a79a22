"""Parity thresholds: defaults per quantization mode, overridable per metric.

Defaults gate on scale-free metrics (cosine, SNR, top-1 agreement, accuracy drop). Absolute errors depend on
the output's scale, so they are reported always but gated only when the user sets --max-abs-error or
--max-mean-abs-error.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from edgex.quantize.modes import QuantMode


@dataclass(frozen=True)
class Thresholds:
    max_abs_error: float | None = None
    max_mean_abs_error: float | None = None
    min_cosine: float | None = None
    min_snr_db: float | None = None
    min_top1_agreement: float | None = None  # percent
    min_top5_agreement: float | None = None  # percent
    max_top1_drop: float | None = None  # accuracy percentage points, needs labels
    max_latency_ratio: float | None = None  # exported median / reference median

    def with_overrides(self, overrides: dict[str, float | None]) -> Thresholds:
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise KeyError(f"unknown thresholds {sorted(unknown)}")
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


DEFAULTS: dict[QuantMode, Thresholds] = {
    QuantMode.NONE: Thresholds(min_cosine=0.9999, min_snr_db=60.0, min_top1_agreement=99.5, max_top1_drop=0.5),
    QuantMode.FP16: Thresholds(min_cosine=0.999, min_snr_db=40.0, min_top1_agreement=99.0, max_top1_drop=0.5),
    QuantMode.DYNAMIC: Thresholds(min_cosine=0.995, min_snr_db=25.0, min_top1_agreement=98.0, max_top1_drop=1.0),
    QuantMode.INT8: Thresholds(min_cosine=0.99, min_snr_db=15.0, min_top1_agreement=97.0, max_top1_drop=2.0),
    QuantMode.INT16X8: Thresholds(min_cosine=0.999, min_snr_db=30.0, min_top1_agreement=98.0, max_top1_drop=1.0),
}


def thresholds_for(mode: QuantMode, overrides: dict[str, float | None] | None = None) -> Thresholds:
    return DEFAULTS[mode].with_overrides(overrides or {})
