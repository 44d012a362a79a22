"""Parity thresholds: defaults come with each quantization recipe (edgex/quantize/recipes.py), overridable per metric.

Defaults gate on scale-free metrics (cosine, SNR, top-1 agreement, accuracy drop). Absolute errors depend on
the output's scale, so they are reported always but gated only when the user sets --max-abs-error or
--max-mean-abs-error.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


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
    min_retrieval_agreement: float | None = None  # percent, embeddings (edgex/parity/embedding.py)

    def with_overrides(self, overrides: dict[str, float | None]) -> Thresholds:
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise KeyError(f"unknown thresholds {sorted(unknown)}")
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def thresholds_for(defaults: Thresholds, overrides: dict[str, float | None] | None = None) -> Thresholds:
    """A recipe's default thresholds with the user's overrides applied."""
    return defaults.with_overrides(overrides or {})
