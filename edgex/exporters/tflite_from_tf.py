"""Keras / SavedModel -> TFLite with tf.lite.TFLiteConverter, in every TFLite quantization mode."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgex.errors import ConversionError, UsageError
from edgex.exporters import ConversionOutcome, ConversionRequest, Converter, ExportOptions
from edgex.quantize.recipes import Recipe
from edgex.registry import Registry
from edgex.workers import report_progress, short_message


def _check_options(recipe: Recipe, options: ExportOptions) -> None:
    io_dtype_for(recipe, options.io_dtype)



def register(registry: Registry) -> None:
    registry.add_converter(
        Converter(
            name="tflite-converter",
            sources=("keras", "savedmodel"),
            produces="tflite",
            worker="tf",
            function="edgex.exporters.tflite_from_tf:convert",
            extra="tf",
            module="tensorflow",
            recipes=(*RECIPE_BUILDERS, "auto"),  # auto: the pipeline's search over int8 with layers kept float
            description="tf.lite.TFLiteConverter (TensorFlow)",
            check_options=_check_options,
            layer_debugger="edgex.quantize.layers_tf:compare_layers",
            per_tensor=True,
        )
    )

# I/O types each integer mode accepts; the first is the default.
IO_DTYPES = {"int8": ("int8", "uint8", "float32"), "int16x8": ("float32", "int16")}


def _with_static_batch(model: Any, batch: int) -> Any:
    """The same Keras model (shared weights) on inputs of a fixed batch: no SHAPE/PACK ops for a dynamic batch."""
    import keras

    inputs = keras.tree.map_structure(
        lambda t: keras.Input(batch_shape=(batch, *t.shape[1:]), dtype=t.dtype, name=t.name), model.input
    )
    return keras.Model(inputs, model(inputs), name=model.name)


def _converter_for(request: ConversionRequest) -> Any:
    import tensorflow as tf

    from edgex.sources.tf_common import choose_signature, keras_io, load_keras, load_saved_model

    source = request.source
    batch = request.options.batch_size
    if source.format == "keras":
        model = load_keras(source.file)
        keras_io(model)  # clear error for models without defined inputs
        return tf.lite.TFLiteConverter.from_keras_model(_with_static_batch(model, batch) if batch else model)
    loaded = load_saved_model(source.file)
    key = choose_signature(list(loaded.signatures.keys()), source.options.signature, f"SavedModel {source.path}")
    if not batch:
        return tf.lite.TFLiteConverter.from_saved_model(str(source.file), signature_keys=[key])
    signature = loaded.signatures[key]
    _, keyword_specs = signature.structured_input_signature
    fixed = {n: tf.TensorSpec([batch, *s.shape[1:]], s.dtype, name=n) for n, s in keyword_specs.items()}
    concrete = tf.function(lambda **kwargs: signature(**kwargs)).get_concrete_function(**fixed)
    return tf.lite.TFLiteConverter.from_concrete_functions([concrete], loaded)


def _representative(calibration: dict[str, np.ndarray], batch: int) -> Iterator[dict[str, np.ndarray]]:
    """Calibration samples in batches of the artifact's static batch (a batch-2 graph cannot take one sample)."""
    count = len(next(iter(calibration.values())))
    for start in range(0, count - batch + 1, batch):
        yield {name: array[start : start + batch] for name, array in calibration.items()}
        report_progress(start + batch, count)


def io_dtype_for(recipe: Recipe, requested: str | None) -> str | None:
    """The I/O dtype for integer recipes (validated), None for float ones."""
    allowed = IO_DTYPES.get(recipe.name)
    if allowed is None:
        if requested not in (None, "float32"):
            raise UsageError(f"--io-dtype {requested} needs --quantize int8 or int16x8 (not {recipe.name})")
        return None
    if requested is None:
        return allowed[0]
    if requested not in allowed:
        raise UsageError(
            f"--io-dtype {requested} is not valid for {recipe.name}", hint=f"choose from {', '.join(allowed)}"
        )
    return requested


@dataclass(frozen=True)
class Calibrated:
    """What the integer builders need beyond the converter: calibration samples, I/O dtype, static batch."""

    calibration: dict[str, np.ndarray] | None
    io_dtype: str | None
    batch: int
    per_tensor: bool = False  # --granularity per-tensor


def _float32(converter: Any, _: Calibrated) -> None:
    del converter  # TFLiteConverter's defaults are float32


def _fp16(converter: Any, _: Calibrated) -> None:
    import tensorflow as tf

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]


def _dynamic(converter: Any, given: Calibrated) -> None:
    import tensorflow as tf

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter._experimental_disable_per_channel = given.per_tensor  # no public switch; QuantizationDebugger reads it


def _integer(ops_set: str) -> Callable[[Any, Calibrated], None]:
    def build(converter: Any, given: Calibrated) -> None:
        import tensorflow as tf

        if not given.calibration:
            raise UsageError("full-integer quantization needs calibration data", hint="pass --calib")
        calibration = given.calibration
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter._experimental_disable_per_channel = given.per_tensor  # no public switch
        converter.representative_dataset = lambda: _representative(calibration, given.batch)
        converter.target_spec.supported_ops = [getattr(tf.lite.OpsSet, ops_set)]
        converter.inference_input_type = getattr(tf, given.io_dtype or "float32")
        converter.inference_output_type = getattr(tf, given.io_dtype or "float32")

    return build


# The recipes this converter makes, each with the builder that configures TFLiteConverter for it.
RECIPE_BUILDERS: dict[str, Callable[[Any, Calibrated], None]] = {
    "none": _float32,
    "fp16": _fp16,
    "dynamic": _dynamic,
    "int8": _integer("TFLITE_BUILTINS_INT8"),
    "int16x8": _integer("EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8"),
}


def _with_float_layers(converter: Any, given: Calibrated, keep_float: tuple[str, ...]) -> bytes:
    """int8 except the operators of the Keras layers in `keep_float`: TensorFlow's QuantizationDebugger calibrates
    once, then quantizes with those operators' output tensors denylisted. I/O stays float32."""
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    from edgex.quantize.layers_tf import op_layers

    if not given.calibration:
        raise UsageError("full-integer quantization needs calibration data", hint="pass --calib")
    calibration = given.calibration
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter._experimental_disable_per_channel = given.per_tensor  # read by mlir_quantize in the debugger
    converter.representative_dataset = lambda: _representative(calibration, given.batch)
    first = [array[: given.batch] for array in calibration.values()]
    debugger = tf.lite.experimental.QuantizationDebugger(converter=converter, debug_dataset=lambda: iter([first]))
    calibrated = Interpreter(model_content=debugger.calibrated_model)
    operators = op_layers(calibrated, list(keep_float))
    tensors = [name for _, _, name in operators]
    missing = sorted(set(keep_float) - {layer for layer, _, _ in operators})
    if missing:
        raise UsageError(f"no TFLite operator comes from layer(s) {', '.join(missing)}", hint="name Keras layers")
    debugger.options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=tensors)
    return bytes(debugger.get_nondebug_quantized_model())


def convert(request: ConversionRequest) -> ConversionOutcome:
    io_dtype = io_dtype_for(request.mode, request.options.io_dtype)
    converter = _converter_for(request)
    given = Calibrated(request.calibration, io_dtype, request.options.batch_size or 1, request.options.per_tensor)
    if request.keep_float and request.mode.name != "int8":
        raise UsageError(f"keeping layers in float applies to int8, not {request.mode.name}")
    if not request.keep_float:
        RECIPE_BUILDERS[request.mode.name](converter, given)
    try:
        if request.keep_float:
            flatbuffer = _with_float_layers(converter, given, request.keep_float)
        else:
            flatbuffer = converter.convert()
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - converter errors are many types
        raise ConversionError(
            f"TFLiteConverter failed ({request.mode.name}): {short_message(exc)}",
            hint="re-run with --debug for the converter's log",
        ) from None
    request.output.write_bytes(flatbuffer)
    if request.keep_float:
        io_dtype = "float32"
    notes = [f"I/O dtype {io_dtype}"] if io_dtype else []
    notes.append(f"batch {request.options.batch_size}" if request.options.batch_size else "dynamic batch")
    return ConversionOutcome(notes=notes)
