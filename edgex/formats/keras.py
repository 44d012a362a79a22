"""Keras models (.keras, .h5): reference runner (compiled predict step for data sets, eager for latency)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgex.formats import Format
from edgex.registry import Registry
from edgex.sources import SourceRef
from edgex.sources.base import batched, concat_outputs
from edgex.specs import ModelSignature, RunnerInfo

SUFFIXES = (".keras", ".h5", ".hdf5")


def _detect(spec: str) -> bool:
    return Path(spec).suffix.lower() in SUFFIXES



def register(registry: Registry) -> None:
    registry.add_format(
        Format(
            name="keras",
            description="Keras model file (.keras, .h5)",
            worker="tf",
            loader="edgex.formats.keras:load",
            extra="tf",
            module="tensorflow",
            detect=_detect,
            extension=".keras",
            distributions=("tensorflow", "keras"),
        )
    )


class KerasRunner:
    chunk_size = 64  # samples per call when running a whole data set

    def __init__(self, model: Any) -> None:
        import keras
        import tensorflow as tf

        from edgex.sources.tf_common import keras_io

        self.model = model
        inputs, self.output_names, outputs = keras_io(model)
        self.info = RunnerInfo(
            ModelSignature(inputs, outputs), runtime=f"keras {keras.__version__} eager (tensorflow {tf.__version__})"
        )

    def _structure(self, arrays: dict[str, Any]) -> Any:
        import keras

        return keras.tree.map_structure(lambda tensor: arrays[tensor.name], self.model.input)

    def _as_dict(self, result: Any) -> dict[str, np.ndarray]:
        if isinstance(result, dict):
            return {name: np.asarray(value) for name, value in result.items()}
        values = result if isinstance(result, list | tuple) else [result]
        return {name: np.asarray(value) for name, value in zip(self.output_names, values, strict=True)}

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Keras' compiled predict step: eager calls keep every activation alive (MobileNetV2 at 64 samples:
        6.5 GB against 1.8 GB) and run slower, for the same outputs."""
        parts = [
            self._as_dict(self.model.predict_on_batch(self._structure(chunk)))
            for _, _, chunk in batched(inputs, self.chunk_size)
        ]
        return concat_outputs(parts)

    def prepare(self, sample: dict[str, np.ndarray]) -> Any:
        import tensorflow as tf

        return self._structure({name: tf.constant(value) for name, value in sample.items()})

    def invoke(self, prepared: Any) -> Any:
        return self.model(prepared, training=False)


def load(ref: SourceRef, threads: int) -> KerasRunner:
    from edgex.sources.tf_common import configure_threads, load_keras

    configure_threads(threads)
    return KerasRunner(load_keras(ref.file))
