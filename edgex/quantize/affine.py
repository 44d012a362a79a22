"""Affine (scale, zero-point) quantization of I/O tensors, in numpy: real = (q - zero_point) * scale."""

from __future__ import annotations

import numpy as np

from edgex.specs import QuantParams


def quantize(values: np.ndarray, params: QuantParams, dtype: str) -> np.ndarray:
    info = np.iinfo(np.dtype(dtype))
    scaled = np.round(values.astype(np.float64) / params.scale) + params.zero_point
    return np.clip(scaled, info.min, info.max).astype(dtype)


def dequantize(values: np.ndarray, params: QuantParams) -> np.ndarray:
    return ((values.astype(np.float64) - params.zero_point) * params.scale).astype(np.float32)
