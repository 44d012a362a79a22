"""Keras / SavedModel -> ONNX with tf2onnx (from a tf.function over the model, so Keras 3 models work)."""

from __future__ import annotations

from typing import Any

from edgex.errors import ConversionError
from edgex.exporters import ConversionOutcome, ConversionRequest, Converter
from edgex.exporters.onnx_quantize import RECIPES, apply_recipe, check_options
from edgex.registry import Registry
from edgex.workers import short_message

OPSET = 17


def register(registry: Registry) -> None:
    registry.add_converter(
        Converter(
            name="tf2onnx",
            sources=("keras", "savedmodel"),
            produces="onnx",
            worker="tf",
            function="edgex.exporters.onnx_from_tf:convert",
            extra="onnx",
            module="tf2onnx",
            requires=("tensorflow", "onnx"),
            recipes=RECIPES,
            check_options=check_options,
            per_tensor=True,
            description="tf2onnx.convert.from_function",
        )
    )


def _keras_function(request: ConversionRequest) -> tuple[Any, list[Any]]:
    import keras
    import tensorflow as tf

    from edgex.sources.tf_common import keras_io, load_keras

    model = load_keras(request.source.file)
    inputs, output_names, _ = keras_io(model)
    batch = request.options.batch_size
    specs = [tf.TensorSpec([batch, *spec.shape[1:]], spec.dtype, name=spec.name) for spec in inputs]
    names = [spec.name for spec in inputs]

    def call(*tensors: Any) -> dict[str, Any]:
        by_name = dict(zip(names, tensors, strict=True))
        result = model(keras.tree.map_structure(lambda t: by_name[t.name], model.input), training=False)
        if isinstance(result, dict):
            return dict(result)
        values = result if isinstance(result, list | tuple) else [result]
        return dict(zip(output_names, values, strict=True))

    return tf.function(call), specs


def _saved_model_function(request: ConversionRequest) -> tuple[Any, list[Any]]:
    import tensorflow as tf

    from edgex.sources.tf_common import choose_signature, load_saved_model

    loaded = load_saved_model(request.source.file)
    key = choose_signature(list(loaded.signatures), request.source.options.signature, str(request.source.path))
    signature = loaded.signatures[key]
    _, keyword_specs = signature.structured_input_signature
    names = sorted(keyword_specs)
    batch = request.options.batch_size
    specs = [tf.TensorSpec([batch, *keyword_specs[n].shape[1:]], keyword_specs[n].dtype, name=n) for n in names]
    function = tf.function(lambda *tensors: signature(**dict(zip(names, tensors, strict=True))))
    function._edgex_keep_alive = loaded  # the signature's variables live on `loaded`
    return function, specs


def convert(request: ConversionRequest) -> ConversionOutcome:
    import tf2onnx

    function, specs = (_keras_function if request.source.format == "keras" else _saved_model_function)(request)
    notes = [f"tf2onnx {tf2onnx.__version__}, opset {OPSET}"]
    try:
        model, _ = tf2onnx.convert.from_function(
            function, input_signature=specs, opset=OPSET, output_path=str(request.output)
        )
        if request.source.format == "savedmodel" and len(model.graph.input) > len(specs):
            # Constants the signature captured (e.g. an audio model's filter banks) became graph inputs:
            # tf2onnx's own SavedModel loader freezes them.
            _from_saved_model_loader(request)
            notes.append("tf2onnx SavedModel loader (captured constants frozen; batch as the signature has it)")
    except Exception as exc:  # noqa: BLE001
        raise ConversionError(f"tf2onnx failed: {short_message(exc)}", hint="--debug shows the full error") from None
    return ConversionOutcome(notes=[*notes, *apply_recipe(request)])


def _from_saved_model_loader(request: ConversionRequest) -> None:
    import tf2onnx
    from tf2onnx import tf_loader

    from edgex.sources.tf_common import choose_signature, load_saved_model

    signatures = list(load_saved_model(request.source.file).signatures)
    key = choose_signature(signatures, request.source.options.signature, str(request.source.path))
    graph_def, inputs, outputs, renames = tf_loader.from_saved_model(
        str(request.source.file), None, None, signatures=[key], return_tensors_to_rename=True
    )
    tf2onnx.convert.from_graph_def(
        graph_def, input_names=inputs, output_names=outputs, opset=OPSET, tensors_to_rename=renames,
        output_path=str(request.output),
    )
