"""Dataclasses, enums, paths and numpy scalars to plain JSON values."""

from __future__ import annotations

import dataclasses
import math
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np


def to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        result = {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for name in _derived_properties(type(value)):
            result[name] = to_jsonable(getattr(value, name))
        return result
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    return value


# Properties worth having in JSON next to the fields they are computed from.
_DERIVED = {"OutputMetrics": ("top1_drop",), "MemoryStats": ("model_mb",), "ParityResult": ("passed", "latency_ratio")}


def _derived_properties(cls: type) -> tuple[str, ...]:
    return _DERIVED.get(cls.__name__, ())
