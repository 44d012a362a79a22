"""PyTorch (factory / .pt2) -> ONNX with torch.onnx.export's dynamo exporter (needs onnxscript)."""

from __future__ import annotations

from edgex.errors import ConversionError
from edgex.exporters import ConversionOutcome, ConversionRequest, Converter
from edgex.exporters.onnx_quantize import RECIPES, apply_recipe, check_options
from edgex.registry import Registry
from edgex.workers import short_message

OPSET = 18


def register(registry: Registry) -> None:
    registry.add_converter(
        Converter(
            name="torch.onnx",
            sources=("torch", "torch-export"),
            produces="onnx",
            worker="torch",
            function="edgex.exporters.onnx_from_torch:convert",
            extra="onnx",
            module="onnxscript",
            requires=("torch", "onnx"),
            recipes=RECIPES,
            check_options=check_options,
            per_tensor=True,
            description="torch.onnx.export(dynamo=True)",
        )
    )


def convert(request: ConversionRequest) -> ConversionOutcome:
    import torch

    from edgex.sources.torch_common import load_torch_model, outputs_dict

    model = load_torch_model(request.source)
    with torch.no_grad():
        output_names = list(outputs_dict(model.module(*model.examples)))
    try:
        program = torch.onnx.export(
            model.exported if model.exported is not None else model.module,
            model.examples,
            dynamo=True,
            input_names=model.input_names,
            output_names=output_names,
            opset_version=OPSET,
        )
        assert program is not None  # None only without dynamo=True
        program.save(str(request.output))
    except Exception as exc:  # noqa: BLE001 - exporter errors come in many types
        raise ConversionError(
            f"torch.onnx.export failed: {short_message(exc)}", hint="--debug shows the full error"
        ) from None
    return ConversionOutcome(notes=[f"ONNX opset {OPSET}", *apply_recipe(request)])
