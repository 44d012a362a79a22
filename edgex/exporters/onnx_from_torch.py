"""PyTorch (factory / .pt2) -> ONNX with torch.onnx.export's dynamo exporter (needs onnxscript).

When torch.export cannot capture the model (a TorchScript submodule such as silero-vad's: its parameters are not
nn.Parameter instances), the TorchScript-based exporter (dynamo=False) is tried: on the module as traced, else on
the module compiled by torch.jit.script (a wrapper that calls a scripted module's other methods cannot be traced).
"""

from __future__ import annotations

import warnings
from typing import Any

from edgex.errors import ConversionError
from edgex.exporters import ConversionOutcome, ConversionRequest, Converter
from edgex.exporters.onnx_quantize import RECIPES, apply_recipe, check_options
from edgex.registry import Registry
from edgex.workers import short_message

OPSET = 18
# The TorchScript-based fallback writes opset 17: what onnx2torch and onnx2tf read without a version conversion
# (onnx's converter cannot step models with If/Loop subgraphs, such as silero-vad's).
TORCHSCRIPT_OPSET = 17


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
        if model.exported is not None:
            raise ConversionError(
                f"torch.onnx.export failed: {short_message(exc)}", hint="--debug shows the full error"
            ) from None
        how = _torchscript_export(model.module, model.examples, model.input_names, output_names, request, exc)
        root: BaseException = exc
        while root.__cause__ is not None:  # the exporter wraps torch.export's error, which names the problem
            root = root.__cause__
        return ConversionOutcome(
            notes=[
                f"ONNX opset {TORCHSCRIPT_OPSET}",
                f"TorchScript-based exporter ({how}); torch.export: {short_message(root)}",
                *apply_recipe(request),
            ]
        )
    return ConversionOutcome(notes=[f"ONNX opset {OPSET}", *apply_recipe(request)])


def _not_symbolic(graph: Any, value: Any) -> Any:
    """`not x` on an int (TorchScript's aten::__not_), which the stock symbolic refuses: x == 0."""
    import torch
    from torch.onnx.symbolic_helper import _is_bool

    if _is_bool(value):
        return graph.op("Not", value)
    return graph.op("Equal", value, graph.op("Constant", value_t=torch.tensor(0, dtype=torch.int64)))


def _torchscript_export(
    module: Any, examples: tuple[Any, ...], inputs: list[str], outputs: list[str], request: Any, cause: Exception
) -> str:
    """The TorchScript-based exporter on the module traced, else scripted; returns which worked. A trace that
    froze data-dependent control flow (TracerWarning) is replaced by the scripted export when that works."""
    import torch
    from torch.onnx import register_custom_op_symbolic

    register_custom_op_symbolic("aten::__not_", _not_symbolic, 9)

    def export(candidate: Any, path: Any) -> bool:
        """Whether tracing warned that the graph depends on the example's values."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", torch.jit.TracerWarning)
            torch.onnx.export(
                candidate,
                examples,
                str(path),
                dynamo=False,
                input_names=inputs,
                output_names=outputs,
                opset_version=TORCHSCRIPT_OPSET,
            )
        return any(issubclass(w.category, torch.jit.TracerWarning) for w in caught)

    errors = []
    try:
        if not export(module, request.output):
            return "traced"
        scripted = request.output.with_name(f".{request.output.stem}.scripted.onnx")
        try:
            export(torch.jit.script(module), scripted)
            scripted.replace(request.output)
            return "scripted: tracing froze data-dependent control flow"
        except Exception:  # noqa: BLE001 - keep the trace, and say what it means
            scripted.unlink(missing_ok=True)
            return "traced with TracerWarnings: data-dependent control flow is frozen to the example"
    except Exception as exc:  # noqa: BLE001
        errors.append(f"traced: {short_message(exc)}")
    try:
        export(torch.jit.script(module), request.output)
        return "scripted"
    except Exception as exc:  # noqa: BLE001
        errors.append(f"scripted: {short_message(exc)}")
    raise ConversionError(
        f"torch.onnx.export failed: {short_message(cause)} (TorchScript-based exporter: {'; '.join(errors)})",
        hint="--debug shows the full error",
    ) from None
