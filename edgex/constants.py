"""Constant inputs: model inputs fed the same value on every call (`--const-input sr=16000`, or a 0-d data array).

The reference runner feeds the constant on every call and reports a signature without that input, so data,
parity and artifacts see the model the converters produce: they fold the constant into the graph (ONNX repair
pass `fold-constant-inputs`, a wrapper module for PyTorch), and the artifact lacks the input.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from edgex.errors import UsageError


def check_names(const_inputs: Sequence[tuple[str, str]], inputs: Sequence[str], where: str) -> None:
    """Every constant names an input of the model: a typo would otherwise leave the input unfed."""
    unknown = [name for name, _ in const_inputs if name not in inputs]
    if unknown:
        raise UsageError(
            f"--const-input {unknown[0]}: model {where} has no input named '{unknown[0]}'; "
            f"its inputs: {', '.join(inputs) or 'none'}",
            hint="name one of those inputs, e.g. --const-input NAME=VALUE",
        )


def constant_array(name: str, text: str, dtype: str, rank: int | None, where: str) -> np.ndarray:
    """The value as the input's dtype, with the input's rank checked where the model declares one."""
    value = np.asarray(json.loads(text)).astype(dtype)
    if rank is not None and value.ndim != rank:
        raise UsageError(
            f"--const-input {name}={text}: model {where} declares '{name}' with {rank} dimension(s), "
            f"the value has {value.ndim}",
            hint="give a number for a scalar input, a JSON array for a tensor",
        )
    return value


def python_value(name: str, text: str, type_name: str) -> Any:
    """A TorchScript/PyTorch argument declared int, float or bool gets that Python type, not a tensor."""
    value = json.loads(text)
    converters: dict[str, Any] = {"int": int, "float": float, "bool": bool}
    if isinstance(value, list) or type_name not in converters:
        raise UsageError(f"--const-input {name}={text}: the model's argument '{name}' is a {type_name}")
    return converters[type_name](value)
