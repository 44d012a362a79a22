"""PyTorch (factory / .pt2) -> TFLite with litert-torch (Google's PyTorch-to-LiteRT converter).

fp32 and fp16 (litert-torch's fp16 weight recipe), dynamic int8 and full int8 through litert-torch's PT2E
quantizer, calibrated with edgex's calibration data. `--channels-last-io` wraps the module with
`litert_torch.to_channel_last_io`, so 4-D NCHW inputs and outputs become NHWC in the artifact.
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
    align_calibration,
    register,
)
from edgex.parity.layout import NCHW_TO_NHWC
from edgex.quantize.modes import QuantMode
from edgex.workers import short_message


def _check_options(mode: QuantMode, options: ExportOptions) -> None:
    allowed = {QuantMode.INT8: (None, "int8")}.get(mode, (None, "float32"))
    if options.io_dtype not in allowed:
        raise UsageError(
            f"--io-dtype {options.io_dtype} is not available from litert-torch for {mode.value}",
            hint="litert-torch writes int8 I/O for int8 and float32 otherwise",
        )


register(
    Converter(
        name="litert-torch",
        sources=("torch", "torch-export"),
        produces="tflite",
        worker="litert-torch",
        function="edgex.exporters.tflite_from_torch:convert",
        extra="torch",
        module="litert_torch",
        requires=("torch",),
        quant_modes=(QuantMode.NONE, QuantMode.FP16, QuantMode.DYNAMIC, QuantMode.INT8),
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
    import torch
    from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config
    from litert_torch.quantize.quant_config import QuantConfig
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    dynamic = request.mode is QuantMode.DYNAMIC
    quantizer = PT2EQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True, is_dynamic=dynamic))
    prepared = prepare_pt2e(torch.export.export(module, examples).module(), quantizer)
    with torch.no_grad():
        if dynamic:
            prepared(*examples)
        else:
            calibration = align_calibration(request.calibration, names)
            if not calibration:
                raise UsageError("--quantize int8 needs calibration data", hint="pass --calib")
            for index in range(len(next(iter(calibration.values())))):
                sample = []
                for name, example in zip(names, examples, strict=True):
                    value = torch.from_numpy(calibration[name][index : index + 1]).to(example.dtype)
                    if request.options.channels_last_io and value.dim() == 4:
                        value = value.permute(*NCHW_TO_NHWC).contiguous()
                    sample.append(value)
                prepared(*sample)
    return convert_pt2e(prepared, fold_quantize=False), QuantConfig(pt2e_quantizer=quantizer)


def convert(request: ConversionRequest) -> ConversionOutcome:
    import litert_torch

    from edgex.sources.torch_common import load_torch_model

    model = load_torch_model(request.source)
    module, examples, notes = model.module, model.examples, []
    if request.options.channels_last_io:
        module, examples, notes = _channels_last(module, examples)
    try:
        if request.mode in (QuantMode.INT8, QuantMode.DYNAMIC):
            module, quant_config = _pt2e(module, examples, request, model.input_names)
            converted = litert_torch.convert(module, examples, quant_config=quant_config)
        elif request.mode is QuantMode.FP16:
            from litert_torch.generative.quantize import quant_recipes

            converted = litert_torch.convert(module, examples, quant_config=quant_recipes.full_fp16_recipe())
        else:
            converted = litert_torch.convert(module, examples)
        converted.export(str(request.output))
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - converter errors come in many types
        raise ConversionError(
            f"litert-torch failed ({request.mode.value}): {short_message(exc)}", hint="--debug shows the full error"
        ) from None
    return ConversionOutcome(notes=[f"litert-torch {litert_torch.__version__}", *notes])
