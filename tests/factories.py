"""Small real models for tests, built inside TensorFlow worker processes (never in pytest's own process)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _multi_io_samples(count: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Inputs clustered around six class centres (separable, like a real dataset); regression = two sums."""
    rng = np.random.default_rng(seed)
    classes = rng.integers(0, 6, size=count)
    centres = (classes[:, None] + 0.5) / 6.0
    a = (centres + rng.normal(0, 0.02, (count, 4))).astype(np.float32)
    b = (centres + rng.normal(0, 0.02, (count, 3))).astype(np.float32)
    return a, b, np.stack([a.sum(axis=1), b.sum(axis=1)], axis=1), classes


def multi_io_keras(path: str, outputs: str = "dict") -> None:
    """Two inputs (a: 4 values, b: 3 values), two outputs (zeta: regression, alpha: 6-class softmax), trained
    briefly so the classifier is decisive like a real one (an untrained softmax is near-uniform)."""
    import keras

    keras.utils.set_random_seed(1)
    a = keras.Input((4,), name="a")
    b = keras.Input((3,), name="b")
    hidden = keras.layers.Concatenate()(
        [keras.layers.Dense(16, activation="relu")(a), keras.layers.Dense(16, activation="relu")(b)]
    )
    zeta = keras.layers.Dense(2, name="zeta")(hidden)
    alpha = keras.layers.Dense(6, activation="softmax", name="alpha")(hidden)
    model = keras.Model({"a": a, "b": b}, {"zeta": zeta, "alpha": alpha})
    train_a, train_b, regression, classes = _multi_io_samples(2000, seed=5)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3), loss={"zeta": "mse", "alpha": "sparse_categorical_crossentropy"}
    )
    model.fit({"a": train_a, "b": train_b}, {"zeta": regression, "alpha": classes}, epochs=40, batch_size=64, verbose=0)
    if outputs == "list":
        model = keras.Model([a, b], [zeta, alpha])  # same layers and weights, list-structured I/O
    model.save(path)


def multi_io_data(folder: str, count: int = 120) -> None:
    for name, seed in (("calib", 11), ("val", 12)):
        a, b, _, _ = _multi_io_samples(count, seed)
        np.savez(Path(folder) / f"mio_{name}.npz", a=a, b=b)


def perturbed_copy(source: str, target: str, noise: float) -> None:
    """The demo model with Gaussian noise added to every weight: what 'the weights changed after export' looks like."""
    import keras

    model = keras.models.load_model(source, compile=False)
    rng = np.random.default_rng(7)
    model.set_weights([w + rng.normal(0.0, noise, w.shape).astype(w.dtype) for w in model.get_weights()])
    model.save(target)


def h5_copy(source: str, target: str) -> None:
    import keras

    keras.models.load_model(source, compile=False).save(target)


def savedmodel_from_keras(source: str, target: str) -> None:
    import keras

    keras.models.load_model(source, compile=False).export(target, format="tf_saved_model")


def savedmodel_two_signatures(target: str) -> None:
    """No 'serving_default': the user must pick 'double' or 'square' with --signature."""
    import tensorflow as tf

    class Two(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 5], tf.float32, name="x")])
        def double(self, x):
            return {"y": x * 2.0}

        @tf.function(input_signature=[tf.TensorSpec([None, 5], tf.float32, name="x")])
        def square(self, x):
            return {"y": x * x}

    module = Two()
    tf.saved_model.save(module, target, signatures={"double": module.double, "square": module.square})


def savedmodel_unconvertible(target: str) -> None:
    """MatrixInverse has no TFLite builtin kernel: conversion without Flex ops must fail."""
    import tensorflow as tf

    class Inverse(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 3, 3], tf.float32, name="m")])
        def serve(self, m):
            return {"inverse": tf.linalg.inv(m)}

    module = Inverse()
    tf.saved_model.save(module, target, signatures={"serving_default": module.serve})


def run_tflite_with_fallback(model_path: str, inputs: dict) -> tuple[str, dict]:
    """Block ai_edge_litert in this worker to prove the tf.lite fallback runs the same model."""
    import sys

    sys.modules["ai_edge_litert"] = None
    sys.modules["ai_edge_litert.interpreter"] = None
    from edgex.formats.tflite import TFLiteRunner

    runner = TFLiteRunner(Path(model_path), threads=1, signature_key=None)
    return runner.info.runtime, runner.run(inputs)


def savedmodel_captured_constants(target: str) -> None:
    """A SavedModel whose signature captures constant tensors (as audio models capture filter banks) and returns
    two outputs in non-alphabetical order."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    bank = tf.constant(rng.normal(0, 0.5, (16, 6)).astype(np.float32))
    window = tf.constant(np.hanning(16).astype(np.float32))

    class Frontend(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 16], tf.float32, name="audio")])
        def serve(self, audio: tf.Tensor) -> dict[str, tf.Tensor]:
            energy = tf.matmul(audio * window, bank)
            return {"onset": tf.nn.sigmoid(energy), "contour": tf.nn.softmax(energy * 2.0)}

    module = Frontend()
    tf.saved_model.save(module, target, signatures={"serving_default": module.serve})
