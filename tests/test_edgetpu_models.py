"""Small real Keras models for the Edge TPU tests, built inside TensorFlow workers (`in_worker`), never in pytest.

No tests here: each function saves `<name>.keras` and `<name>_calib.npz` (input 'image', 8x8x1 in [0, 1]) so the
tests export them with `edgex export ... --to edgetpu` like a user would.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CALIB_SAMPLES = 64


def _calibration(folder: Path, name: str) -> None:
    rng = np.random.default_rng(3)
    np.savez(folder / f"{name}_calib.npz", image=rng.random((CALIB_SAMPLES, 8, 8, 1), dtype=np.float32))


def build_all(folder: str) -> list[str]:
    """Every model the pre-flight tests need, in one worker (one TensorFlow import)."""
    import keras

    keras.utils.set_random_seed(5)
    target = Path(folder)
    models = {}

    image = keras.Input((8, 8, 1), name="image")
    # LEAKY_RELU is not in the Edge TPU's supported operations: early, right after the first convolution.
    x = keras.layers.Conv2D(8, 3, padding="same")(image)
    x = keras.layers.LeakyReLU(negative_slope=0.1)(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    models["leaky_early"] = keras.Model(image, keras.layers.Dense(10, activation="softmax")(x))

    image = keras.Input((8, 8, 1), name="image")
    # GATHER (a column pick) is not supported either: late, after three mappable layers.
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(image)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(16, activation="relu")(x)
    x = keras.ops.take(x, np.array([9, 2, 14, 5, 0, 11]), axis=1)
    models["gather_late"] = keras.Model(image, keras.layers.Dense(4, activation="softmax")(x))

    image = keras.Input((8, 8, 1), name="image")
    # A grouped convolution converts to CONV_2D version 6, which compiler 16.0 cannot parse.
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(image)
    x = keras.layers.Conv2D(8, 3, padding="same", groups=2, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    models["grouped"] = keras.Model(image, keras.layers.Dense(4, activation="softmax")(x))

    image = keras.Input((8, 8, 1), name="image")
    # Only supported ops and no reshape: exported with --batch-size 2 its 4-D activations break the rank rule.
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(image)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    models["conv_pool"] = keras.Model(image, keras.layers.Dense(4, activation="softmax")(x))

    for name, model in models.items():
        model.save(target / f"{name}.keras")
        _calibration(target, name)
    return sorted(models)
