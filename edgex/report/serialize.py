"""Dataclasses, enums, paths and numpy scalars to plain JSON values, and back (reports read from JSON files)."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
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


def from_jsonable(hint: Any, value: Any) -> Any:
    """The inverse of to_jsonable for a type hint: dataclasses, enums, paths, optionals, lists, tuples, dicts.

    Keys that are not init fields (derived properties such as 'passed') are ignored; they are recomputed.
    """
    if value is None:
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        choices = [arg for arg in args if arg is not type(None)]
        return from_jsonable(choices[0], value) if len(choices) == 1 else value  # unions of plain JSON values
    if origin is list:
        return [from_jsonable(args[0], item) for item in value]
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_jsonable(args[0], item) for item in value)
        return tuple(from_jsonable(arg, item) for arg, item in zip(args, value, strict=True))
    if origin is dict:
        return {key: from_jsonable(args[1], item) for key, item in value.items()}
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        hints = typing.get_type_hints(hint)
        known = [f for f in dataclasses.fields(hint) if f.init and f.name in value]
        return hint(**{f.name: from_jsonable(hints[f.name], value[f.name]) for f in known})
    if isinstance(hint, type) and issubclass(hint, Enum | Path):
        return hint(value)
    if hint is float and isinstance(value, int):
        return float(value)
    return value
