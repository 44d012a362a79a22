"""PyTorch (factory / .pt2) -> TFLite with litert-torch (Google's PyTorch-to-LiteRT converter).

fp32 and fp16 (litert-torch's fp16 weight recipe), dynamic int8 and full int8 through litert-torch's PT2E
quantizer, calibrated with edgex's calibration data; transformer/RNN-shaped models (edgex/quantize/linear.py)
get `dynamic` from litert-torch's dynamic-range recipe (ai-edge-quantizer) instead. `--channels-last-io` wraps the
module with `litert_torch.to_channel_last_io`, so 4-D NCHW inputs and outputs become NHWC in the artifact.
litert-torch imports JAX, not TensorFlow, but it runs in its own worker kind all the same (see edgex.workers).
"""

from __future__ import annotations

from typing import Any

from edgex.errors import ConversionError, UsageError
from edgex.exporters import (
    ConversionOutcome,
    ConversionRequest,
    Converter,
    ExportOptions,
)
from edgex.parity.layout import NCHW_TO_NHWC
from edgex.quantize.recipes import Recipe
from edgex.registry import Registry
from edgex.workers import short_message


def _check_options(recipe: Recipe, options: ExportOptions) -> None:
    allowed = {"int8": (None, "int8")}.get(recipe.name, (None, "float32"))
    if options.io_dtype not in allowed:
        raise UsageError(
            f"--io-dtype {options.io_dtype} is not available from litert-torch for {recipe.name}",
            hint="litert-torch writes int8 I/O for int8 and float32 otherwise",
        )



def register(registry: Registry) -> None:
    registry.add_converter(
        Converter(
            name="litert-torch",
            sources=("torch", "torch-export"),
            produces="tflite",
            worker="litert-torch",
            function="edgex.exporters.tflite_from_torch:convert",
            extra="torch",
            module="litert_torch",
            requires=("torch",),
            recipes=("none", "fp16", "dynamic", "int8", "auto"),  # auto: the pipeline's search (edgex/exporting.py)
            description="litert_torch.convert (PT2E quantization through its quant_config)",
            check_options=_check_options,
        )
    )


def _channels_last(module: Any, examples: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...], list[str]]:
    """Wrap 4-D inputs and outputs to NHWC; returns the module, NHWC examples and notes."""
    import litert_torch
    import torch

    inputs = [i for i, e in enumerate(examples) if e.dim() == 4]
    if not inputs:
        raise UsageError("--channels-last-io: the model has no 4-D (NCHW) input")
    with torch.no_grad():
        outputs = module(*examples)
    flat = outputs if isinstance(outputs, list | tuple) else [outputs]
    four_d_outputs = [i for i, o in enumerate(flat) if isinstance(o, torch.Tensor) and o.dim() == 4]
    wrapped = litert_torch.to_channel_last_io(module, args=inputs, outputs=four_d_outputs)
    nhwc = tuple(e.permute(*NCHW_TO_NHWC).contiguous() if i in inputs else e for i, e in enumerate(examples))
    note = f"channels-last I/O: inputs {inputs} and outputs {four_d_outputs} are NHWC"
    return wrapped, nhwc, [note]


def _pt2e(module: Any, examples: tuple[Any, ...], request: ConversionRequest, names: list[str]) -> tuple[Any, Any]:
    """The recipe's PT2E configuration of litert-torch's quantizer, through the shared PT2E pass."""
    import torch
    from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config
    from litert_torch.quantize.quant_config import QuantConfig

    from edgex.quantize.pt2e import quantize_pt2e

    spec = request.mode.pt2e
    assert spec is not None  # only PT2E recipes reach here
    quantizer = PT2EQuantizer().set_global(
        get_symmetric_quantization_config(is_per_channel=spec.per_channel, is_dynamic=spec.dynamic)
    )

    def nhwc(value: Any) -> Any:
        if request.options.channels_last_io and value.dim() == 4:
            return value.permute(*NCHW_TO_NHWC).contiguous()
        return value

    converted = quantize_pt2e(
        torch.export.export(module, examples).module(),
        quantizer,
        request.mode,
        examples,
        request.calibration,
        names,
        prepare_sample=nhwc,
        fold_quantize=False,
    )
    return converted, QuantConfig(pt2e_quantizer=quantizer)


def _linear_config(recipe: Recipe) -> Any:
    """The recipe's Linear-layer form: litert-torch's dynamic-range recipe (ai-edge-quantizer), which quantizes
    the weights of fully-connected, LSTM and embedding ops symmetrically (LiteRT's embedding lookup refuses a
    non-zero zero point, which PT2E's asymmetric dynamic configuration gives)."""
    from litert_torch.generative.quantize import quant_recipes

    spec = recipe.linear
    assert spec is not None and spec.weight_bits == 8  # the converter lists no other Linear-layer recipe
    return quant_recipes.full_dynamic_recipe()


def _float_or_fp16(module: Any, examples: tuple[Any, ...], recipe: Recipe) -> Any:
    import litert_torch

    if recipe.name == "fp16":
        from litert_torch.generative.quantize import quant_recipes

        return litert_torch.convert(module, examples, quant_config=quant_recipes.full_fp16_recipe())
    return litert_torch.convert(module, examples)


def convert(request: ConversionRequest) -> ConversionOutcome:
    import litert_torch

    from edgex.quantize.linear import linear_weight_share, uses_linear_form
    from edgex.sources.torch_common import load_torch_model

    model = load_torch_model(request.source)
    module, examples = model.module, model.examples
    notes: list[str] = []
    if request.options.channels_last_io:
        module, examples, notes = _channels_last(module, examples)
    try:
        if uses_linear_form(request.mode, module):
            converted = litert_torch.convert(module, examples, quant_config=_linear_config(request.mode))
            notes.append("Linear/LSTM/embedding weights: int8 symmetric per channel, activations at run time")
        elif request.mode.pt2e is not None:
            module, quant_config = _pt2e(module, examples, request, model.input_names)
            converted = litert_torch.convert(module, examples, quant_config=quant_config)
        else:
            converted = _float_or_fp16(module, examples, request.mode)
        converted.export(str(request.output))
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - converter errors come in many types
        raise ConversionError(
            f"litert-torch failed ({request.mode.name}): {short_message(exc)}", hint="--debug shows the full error"
        ) from None
    return ConversionOutcome(
        notes=[f"litert-torch {litert_torch.__version__}", *notes],
        details={"linear_weight_share": round(linear_weight_share(model.module), 4)},
    )
