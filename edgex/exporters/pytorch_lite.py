"""PyTorch (factory / TorchScript) -> legacy PyTorch-Mobile lite-interpreter program (.ptl).

This is the path `pytorch_android_lite` / LibTorch-Lite apps load; ExecuTorch (.pte) is its successor. The
model is traced (TorchScript sources are used as they are) and saved for the lite interpreter with edgex's input
metadata inside, so `edgex validate` needs no --input-shape for it. `optimize_for_mobile` is not applied: it
needs an XNNPACK-enabled torch build, which the CPU wheel edgex pins is not.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

from edgex.embedding import JSON_FILE
from edgex.errors import ConversionError
from edgex.exporters import ConversionOutcome, ConversionRequest, Converter
from edgex.registry import Registry
from edgex.workers import short_message


def register(registry: Registry) -> None:
    registry.add_converter(
        Converter(
            name="torchscript-lite",
            sources=("torch", "torch-export", "torchscript"),
            produces="ptl",
            worker="torch",
            function="edgex.exporters.pytorch_lite:convert",
            extra="torch",
            module="torch",
            recipes=("none",),
            description="torch.jit.trace -> _save_for_lite_interpreter (legacy PyTorch Mobile)",
        )
    )


def _trace_or_script(module: Any, examples: tuple[Any, ...]) -> tuple[Any, list[str]]:
    """Trace; when tracing fails (a wrapped ScriptModule whose methods return None, say), script instead, which
    also keeps data-dependent control flow."""
    import torch

    try:
        with warnings.catch_warnings(record=True) as caught, torch.no_grad():
            warnings.simplefilter("always", torch.jit.TracerWarning)
            program = torch.jit.trace(module, examples)
    except Exception as trace_error:  # noqa: BLE001 - tracing fails in many ways; scripting is the other way in
        try:
            return torch.jit.script(module), [f"scripted (tracing failed: {short_message(trace_error)})"]
        except Exception:  # noqa: BLE001
            raise trace_error from None
    if any(issubclass(w.category, torch.jit.TracerWarning) for w in caught):
        return program, ["traced with TracerWarnings: data-dependent control flow is frozen to the example"]
    return program, []


def convert(request: ConversionRequest) -> ConversionOutcome:
    import torch

    from edgex.sources.torch_common import load_torch_model

    model = load_torch_model(request.source)
    notes: list[str] = []
    try:
        if model.program is not None:  # TorchScript: kept as it is, constant arguments recorded for the runner
            try:
                _save(model.program, request, model, model.constants)
                return ConversionOutcome(notes=[LEGACY_NOTE])
            except Exception as exc:  # noqa: BLE001 - e.g. `with` blocks, which the lite interpreter cannot run
                notes = [f"the TorchScript program cannot be saved for the lite interpreter as it is "
                         f"({short_message(exc)}): traced" + (" with its constant inputs folded" if model.constants
                                                             else "")]
            program, more = _trace_or_script(model.module, model.examples)
            notes += more
        elif isinstance(model.module, torch.jit.ScriptModule):
            program = model.module
        else:
            program, notes = _trace_or_script(model.module, model.examples)
        _save(program, request, model, [])
    except Exception as exc:  # noqa: BLE001
        raise ConversionError(f"saving for the lite interpreter failed: {short_message(exc)}") from None
    return ConversionOutcome(notes=[LEGACY_NOTE, *notes])


LEGACY_NOTE = "legacy PyTorch Mobile; ExecuTorch .pte is its successor"


def _save(program: Any, request: ConversionRequest, model: Any, constants: list[dict[str, Any]]) -> None:
    """The program with edgex's input metadata (and constant arguments it still takes) inside, plus the class
    names / preprocessing document when given (edgex/embedding.py)."""
    from edgex.sources.torch_common import METADATA_FILE, dtype_name

    metadata = {
        "inputs": [
            {"name": n, "shape": list(e.shape), "dtype": dtype_name(e.dtype)}
            for n, e in zip(model.input_names, model.examples, strict=True)
        ],
        "constants": constants,
    }
    extra_files = {METADATA_FILE: json.dumps(metadata)}
    embedded = request.options.embedded
    if embedded is not None:
        extra_files[JSON_FILE] = json.dumps(embedded.document(model.input_names[0], tuple(model.examples[0].shape)))
    program._save_for_lite_interpreter(str(request.output), _extra_files=extra_files)
