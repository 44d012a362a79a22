"""TensorFlow helpers shared by the Keras and SavedModel runners and the TFLite converter (worker side)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgex.errors import UsageError
from edgex.specs import TensorSpec
from edgex.suggest import did_you_mean
from edgex.workers import short_message

DEFAULT_SIGNATURE = "serving_default"


def configure_threads(threads: int) -> None:
    """Same thread count as the runtime under test; must run before TensorFlow executes its first op."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass  # already initialised in this worker (conversion worker reused): keeps its setting


def dtype_name(dtype: Any) -> str:
    return str(getattr(dtype, "name", dtype))


def dims(shape: Any) -> tuple[int | None, ...]:
    return tuple(None if d is None else int(d) for d in (shape.as_list() if hasattr(shape, "as_list") else shape))


def load_keras(path: Path) -> Any:
    import zipfile

    import keras

    if path.suffix.lower() == ".keras" and not zipfile.is_zipfile(path):
        raise UsageError(
            f"model {path}: not a Keras archive (a .keras file is a zip)", hint="the file is corrupt or truncated"
        )

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - corrupt / foreign files raise many types
        raise UsageError(
            f"model {path}: not a loadable Keras model ({short_message(exc)})",
            hint="check the file, or re-save it with model.save('model.keras')",
        ) from None


def keras_io(model: Any) -> tuple[tuple[TensorSpec, ...], list[str], tuple[TensorSpec, ...]]:
    """(inputs, output names, outputs) of a functional Keras model, outputs in the model's own order."""
    if not getattr(model, "inputs", None):
        raise UsageError(
            "this Keras model has no defined inputs (a subclassed model that was never built)",
            hint="save a functional model, or build it on an input shape before saving",
        )
    inputs = tuple(TensorSpec(t.name, dims(t.shape), dtype_name(t.dtype)) for t in model.inputs)
    structure = model.output
    if isinstance(structure, dict):
        names, tensors = list(structure.keys()), list(structure.values())
    else:
        tensors = list(model.outputs)
        names = list(model.output_names) if len(model.output_names) == len(tensors) else [t.name for t in tensors]
    outputs = tuple(TensorSpec(n, dims(t.shape), dtype_name(t.dtype)) for n, t in zip(names, tensors, strict=True))
    return inputs, names, outputs


def load_saved_model(path: Path) -> Any:
    import tensorflow as tf

    try:
        return tf.saved_model.load(str(path))
    except Exception as exc:  # noqa: BLE001
        raise UsageError(f"SavedModel {path}: cannot be loaded ({short_message(exc)})") from None


def choose_signature(available: list[str], requested: str | None, where: str) -> str:
    """--signature if given, else 'serving_default', else the only signature."""
    if requested:
        if requested not in available:
            raise UsageError(f"{where} has no signature '{requested}'", hint=did_you_mean(requested, available))
        return requested
    if DEFAULT_SIGNATURE in available:
        return DEFAULT_SIGNATURE
    if len(available) == 1:
        return available[0]
    if not available:
        raise UsageError(f"{where} has no serving signatures", hint="export it with a signature (tf.saved_model.save)")
    raise UsageError(
        f"{where} has several signatures and none is '{DEFAULT_SIGNATURE}'",
        hint="pick one with --signature; " + did_you_mean("", available),
    )
