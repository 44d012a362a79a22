"""TensorFlow SavedModel folders: reference runner through one serving signature."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgex.formats import Format
from edgex.registry import Registry
from edgex.sources import SourceRef
from edgex.sources.base import batched, concat_outputs
from edgex.specs import ModelSignature, RunnerInfo, TensorSpec


def _detect(spec: str) -> bool:
    path = Path(spec)
    return path.is_dir() and any((path / name).exists() for name in ("saved_model.pb", "saved_model.pbtxt"))



def register(registry: Registry) -> None:
    registry.add_format(
        Format(
            name="savedmodel",
            description="TensorFlow SavedModel folder (serving signature; --signature to pick another)",
            worker="tf",
            loader="edgex.formats.savedmodel:load",
            extra="tf",
            module="tensorflow",
            detect=_detect,
            distributions=("tensorflow",),
        )
    )


class SavedModelRunner:
    chunk_size = 64  # samples per call when running a whole data set

    def __init__(self, loaded: Any, key: str) -> None:
        import tensorflow as tf

        from edgex.sources.tf_common import dims, dtype_name

        self._loaded = loaded  # keeps the function's variables alive
        self.function = loaded.signatures[key]
        self.signature_key = key
        _, keyword_specs = self.function.structured_input_signature
        inputs = tuple(TensorSpec(n, dims(s.shape), dtype_name(s.dtype)) for n, s in sorted(keyword_specs.items()))
        outputs = tuple(
            TensorSpec(n, dims(s.shape), dtype_name(s.dtype))
            for n, s in sorted(self.function.structured_outputs.items())
        )
        self.info = RunnerInfo(
            ModelSignature(inputs, outputs), runtime=f"tensorflow {tf.__version__} SavedModel signature '{key}'"
        )

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        parts = []
        for _, _, chunk in batched(inputs, self.chunk_size):
            result = self.function(**self.prepare(chunk))
            # In the signature's (sorted) order, as `info` lists them: converters keep that order, so outputs
            # pair by position where a route renames them.
            parts.append({spec.name: np.asarray(result[spec.name]) for spec in self.info.signature.outputs})
        return concat_outputs(parts)

    def prepare(self, sample: dict[str, np.ndarray]) -> dict[str, Any]:
        import tensorflow as tf

        return {name: tf.constant(value) for name, value in sample.items()}

    def invoke(self, prepared: dict[str, Any]) -> Any:
        return self.function(**prepared)


def load(ref: SourceRef, threads: int) -> SavedModelRunner:
    from edgex.sources.tf_common import choose_signature, configure_threads, load_saved_model

    configure_threads(threads)
    loaded = load_saved_model(ref.file)
    key = choose_signature(list(loaded.signatures.keys()), ref.options.signature, f"SavedModel {ref.path}")
    return SavedModelRunner(loaded, key)
