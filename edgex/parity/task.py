"""Task metrics: the user's own comparison of reference and exported outputs (`--metric module:function`).

Cosine and SNR say the numbers moved; a task metric says whether the task still works (IoU of decoded boxes,
F1 of decoded events). The function receives the reference outputs and the exported outputs (numpy, keyed by
the reference's output names, same order of samples) and the labels (or None), and returns named numbers:

    def box_iou(reference, exported, labels):
        iou = mean_iou(decode(reference["boxes"]), decode(exported["boxes"]))
        return {"iou": {"value": iou, "min": 0.9}, "boxes": len(reference["boxes"])}

A plain number is reported; {"value": v, "min": m} or {"value": v, "max": m} is also gated, like the built-in
metrics (a failed one fails the row, exit 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgex.errors import UsageError
from edgex.parity.compare import Check

MetricFunction = Callable[[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray | None], Mapping[str, Any]]


@dataclass(frozen=True)
class TaskMetric:
    spec: str  # 'module:function' or 'file.py:function', as given
    function: MetricFunction


def load_task_metrics(specs: tuple[str, ...]) -> list[TaskMetric]:
    """Import every --metric function now, before any conversion, so a typo fails fast."""
    from edgex.pyspec import load_object

    metrics = []
    for spec in specs:
        function = load_object(spec, "--metric")
        if not callable(function):
            raise UsageError(f"--metric '{spec}' is not a function", hint="def metric(reference, exported, labels)")
        metrics.append(TaskMetric(spec, function))
    return metrics


def task_checks(
    metrics: list[TaskMetric],
    reference: dict[str, np.ndarray],
    exported: dict[str, np.ndarray],
    labels: np.ndarray | None,
) -> tuple[dict[str, float], list[Check]]:
    """Every metric's values (by name) and the gates of those that carry a threshold."""
    values: dict[str, float] = {}
    checks: list[Check] = []
    for metric in metrics:
        try:
            returned = metric.function(reference, exported, labels)
        except Exception as exc:  # noqa: BLE001 - user code: one line naming it
            raise UsageError(f"--metric '{metric.spec}' raised {type(exc).__name__}: {exc}") from None
        if not isinstance(returned, Mapping):
            raise UsageError(
                f"--metric '{metric.spec}' returned {type(returned).__name__}, not a dict of named numbers",
                hint="return {'name': value} or {'name': {'value': v, 'min': m}}",
            )
        for name, item in returned.items():
            value, check = _one(metric.spec, str(name), item)
            values[str(name)] = value
            if check is not None:
                checks.append(check)
    return values, checks


def _number(spec: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise UsageError(f"--metric '{spec}': '{name}' is {type(value).__name__}, not a number")
    if not math.isfinite(float(value)):
        raise UsageError(f"--metric '{spec}': '{name}' is {value}, not a finite number")
    return float(value)


def _one(spec: str, name: str, item: Any) -> tuple[float, Check | None]:
    if not isinstance(item, Mapping):
        return _number(spec, name, item), None
    unknown = set(item) - {"value", "min", "max"}
    if "value" not in item or unknown or ("min" in item) == ("max" in item):
        raise UsageError(
            f"--metric '{spec}': '{name}' must be a number or {{'value': v, 'min': m}} / {{'value': v, 'max': m}}"
        )
    value = _number(spec, name, item["value"])
    comparison, limit = (">=", item["min"]) if "min" in item else ("<=", item["max"])
    threshold = _number(spec, f"{name} {'min' if comparison == '>=' else 'max'}", limit)
    passed = value >= threshold if comparison == ">=" else value <= threshold
    return value, Check(name, None, value, threshold, comparison, passed)
