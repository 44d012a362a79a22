"""Train the bundled demo model: a small CNN on scikit-learn's digits (8x8 grey images, 10 classes).

The dataset ships inside scikit-learn, so this runs offline. Seeds are fixed and TensorFlow's op determinism
is on, so re-running gives the same splits and (on the same machine and stack) the same weights.

Writes into the package's demo folder (edgex/demo/digits/), so `edgex export demo` finds it:
  digits.keras             the trained Keras model (input ``image`` [N,8,8,1] float32 in [0,1], output softmax)
  digits_calib.npz         200 training images for calibration (key ``image``)
  digits_val.npz           held-out images, never seen in training or calibration (key ``image``)
  digits_val_labels.npy    their labels
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

SEED = 0
VAL_FRACTION = 0.2
CALIB_SAMPLES = 200
DEMO_DIR = Path(__file__).resolve().parents[2] / "edgex" / "demo" / "digits"


def load_splits() -> dict[str, np.ndarray]:
    """Deterministic train / calibration / validation split of the digits set."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images.astype(np.float32) / 16.0)[..., None]  # [N, 8, 8, 1], pixel 0..16 -> 0..1
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(SEED).permutation(len(images))
    n_val = int(len(images) * VAL_FRACTION)
    val_idx, train_idx = order[:n_val], order[n_val:]
    return {
        "train_x": images[train_idx],
        "train_y": labels[train_idx],
        "calib_x": images[train_idx[:CALIB_SAMPLES]],
        "val_x": images[val_idx],
        "val_y": labels[val_idx],
    }


def build_model():
    import keras

    inputs = keras.Input(shape=(8, 8, 1), name="image")
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(64, activation="relu", name="fc")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="digits_cnn")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEMO_DIR)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    splits = load_splits()
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(splits["train_x"], splits["train_y"], epochs=args.epochs, batch_size=32, shuffle=True, verbose=0)
    _, val_acc = model.evaluate(splits["val_x"], splits["val_y"], verbose=0)

    args.out.mkdir(parents=True, exist_ok=True)
    inference_model = build_model()  # same architecture without optimizer state: a smaller file to ship
    inference_model.set_weights(model.get_weights())
    inference_model.save(args.out / "digits.keras")
    np.savez(args.out / "digits_calib.npz", image=splits["calib_x"])
    np.savez(args.out / "digits_val.npz", image=splits["val_x"])
    np.save(args.out / "digits_val_labels.npy", splits["val_y"])
    print(f"held-out accuracy {val_acc:.4f} on {len(splits['val_y'])} images; wrote {args.out}")


if __name__ == "__main__":
    main()
