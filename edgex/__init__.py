"""edgex: convert, quantize and prove parity of trained models for on-device runtimes.

    import edgex
    report = edgex.export("model.keras", to="tflite", quantize="int8", calib="calib/", validate="val.npz")
    assert report.passed, report.exit_code

Importing edgex imports no framework: conversion and parity work run in worker processes.
"""

from typing import Any

from edgex.api import debug, export, inspect, validate
from edgex.errors import ConversionError, EdgexError, ExitCode, InternalError, MissingDependencyError, UsageError

__version__ = "0.1.0"

__all__ = [
    "ConversionError",
    "EdgexError",
    "ExitCode",
    "InternalError",
    "MissingDependencyError",
    "RowResult",
    "RunReport",
    "UsageError",
    "__version__",
    "debug",
    "export",
    "inspect",
    "validate",
]

_LAZY = {"RunReport": "edgex.results", "RowResult": "edgex.results"}  # they import numpy: only when asked for


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'edgex' has no attribute '{name}'")
