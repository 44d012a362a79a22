"""A small classifier with ONE planted quantization-hostile layer, the same weights in Keras and PyTorch.

`hostile` has a weight outlier: every output channel reads input 0 (a dead unit of `dense_in`, always 0) with a
weight of OUTLIER. The float model never notices (0 x OUTLIER = 0), but int8 weight quantization scales each
channel to OUTLIER / 127, which rounds every ordinary weight of the layer to zero: full int8 loses the layer,
keeping `hostile` in float restores it. The layers are named alike on both sides (Keras layer names, nn.Module
attribute paths) so `edgex debug` should name `hostile` first on TFLite and on ExecuTorch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

INPUTS, HIDDEN, CLASSES = 16, 32, 4
OUTLIER = 400.0
LAYERS = ("dense_in", "hostile", "mixer", "head")


def weights(seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Layer name -> (kernel [in, out], bias), deterministic for a seed."""
    rng = np.random.default_rng(seed)

    def dense(fan_in: int, fan_out: int) -> tuple[np.ndarray, np.ndarray]:
        kernel = rng.normal(0.0, 1.5 / np.sqrt(fan_in), (fan_in, fan_out)).astype(np.float32)
        return kernel, rng.normal(0.0, 0.1, fan_out).astype(np.float32)

    layers = {
        "dense_in": dense(INPUTS, HIDDEN),
        "hostile": dense(HIDDEN, HIDDEN),
        "mixer": dense(HIDDEN, HIDDEN),
        "head": dense(HIDDEN, CLASSES),
    }
    kernel, bias = layers["dense_in"]
    kernel[:, 0], bias[0] = 0.0, -1.0  # unit 0 is dead after ReLU: always exactly 0
    layers["hostile"][0][0, :] = OUTLIER  # ...and `hostile` weighs it by OUTLIER in every output channel
    return layers


def samples(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 1.0, (count, INPUTS)).astype(np.float32)


def write_data(folder: Path, calibration: int = 200, validation: int = 300) -> tuple[Path, Path]:
    """Disjoint calibration and validation sets as .npy files."""
    folder.mkdir(parents=True, exist_ok=True)
    calib, val = folder / "planted_calib.npy", folder / "planted_val.npy"
    np.save(calib, samples(calibration, seed=1))
    np.save(val, samples(validation, seed=2))
    return calib, val


def save_keras(path: str) -> None:
    """The Keras model, saved to `path` (.keras). Runs in a TensorFlow worker."""
    import keras

    inputs = keras.Input((INPUTS,), name="features")
    x = inputs
    for name in LAYERS:
        x = keras.layers.Dense(CLASSES if name == "head" else HIDDEN, activation=None if name == "head" else "relu",
                               name=name)(x)
    model = keras.Model(inputs, x, name="planted")
    for name, (kernel, bias) in weights().items():
        model.get_layer(name).set_weights([kernel, bias])
    model.save(path)


def build() -> tuple[Any, tuple[Any, ...]]:
    """The PyTorch model (a factory for `edgex export benchmarks/models/planted.py:build`)."""
    import torch

    class Planted(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.dense_in = torch.nn.Linear(INPUTS, HIDDEN)
            self.hostile = torch.nn.Linear(HIDDEN, HIDDEN)
            self.mixer = torch.nn.Linear(HIDDEN, HIDDEN)
            self.head = torch.nn.Linear(HIDDEN, CLASSES)

        def forward(self, features: torch.Tensor) -> torch.Tensor:
            x = torch.relu(self.dense_in(features))
            x = torch.relu(self.hostile(x))
            x = torch.relu(self.mixer(x))
            return self.head(x)

    model = Planted()
    with torch.no_grad():
        for name, (kernel, bias) in weights().items():
            layer = getattr(model, name)
            layer.weight.copy_(torch.from_numpy(kernel.T.copy()))
            layer.bias.copy_(torch.from_numpy(bias))
    return model.eval(), (torch.zeros(1, INPUTS),)
