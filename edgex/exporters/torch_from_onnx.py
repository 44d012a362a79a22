"""ONNX -> torch.export program (.pt2) with onnx2torch: the bridge from ONNX to ExecuTorch and PyTorch Mobile.

onnx2torch 1.5.15 knows operators up to opset 17, and its Reshape reads the target shape at run time, which
torch.export refuses as data-dependent. The ONNX repair passes (exporters/_onnx_repair.py: static shapes, opset
17, initializer inputs dropped, shape arithmetic folded) run first; then two small passes, each preserving
meaning: `allowzero=1` is dropped from Reshapes whose constant shape has no 0 (then it changes nothing); and
after onnx2torch, Reshapes with constant shapes become plain `torch.reshape` calls with static sizes (a 0,
"copy this dimension", resolved by shape propagation on the example inputs).

onnx2torch imports torchvision for two operators (NonMaxSuppression, RoiAlign). PyPI's torchvision wheel links
CUDA builds of libtorch and cannot load beside the CPU torch edgex pins, so when it does not import, this worker
gives onnx2torch a placeholder whose two functions raise a clear error: models using those operators fail to
convert with that message; every other model converts normally.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

from edgex.errors import ConversionError, UsageError
from edgex.exporters import ConversionOutcome, ConversionRequest, Converter
from edgex.exporters._onnx_repair import graph_input_shapes, keep_repaired, repair
from edgex.registry import Registry
from edgex.workers import short_message


def register(registry: Registry) -> None:
    registry.add_converter(
        Converter(
            name="onnx2torch",
            sources=("onnx",),
            produces="torch-export",
            worker="torch",
            function="edgex.exporters.torch_from_onnx:convert",
            extra="onnx",
            module="onnx2torch",
            requires=("torch", "onnx"),
            recipes=("none",),
            description="onnx2torch.convert -> torch.export.save",
            install_hint="pip install --no-deps onnx2torch==1.5.15 (its torchvision needs CUDA libtorch)",
        )
    )


def _unavailable(*_args: Any, **_kwargs: Any) -> Any:
    raise ConversionError(
        "this ONNX model uses NonMaxSuppression or RoiAlign, which onnx2torch runs with torchvision; torchvision's "
        "PyPI wheel cannot load beside the CPU torch edgex pins",
        hint="convert this model to TFLite (edgex picks onnx2tf) or remove those operators",
    )


def _import_onnx2torch() -> Any:
    try:
        import torchvision  # noqa: F401
    except Exception:  # noqa: BLE001 - ImportError, or RuntimeError from its CUDA-linked operators
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
        placeholder = types.ModuleType("torchvision")
        ops = types.ModuleType("torchvision.ops")
        vars(ops).update(dict.fromkeys(("nms", "roi_align", "box_convert"), _unavailable))
        vars(placeholder)["ops"] = ops
        sys.modules["torchvision"] = placeholder
        sys.modules["torchvision.ops"] = ops
    import onnx2torch

    return onnx2torch


MAX_OPSET = 17


def _normalised(model: Any) -> Any:
    """The (repaired) ONNX model with redundant Reshape `allowzero` attributes removed."""
    import onnx
    from onnx import numpy_helper

    constants = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    constants.update(
        {
            n.output[0]: numpy_helper.to_array(n.attribute[0].t)
            for n in model.graph.node
            if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value"
        }
    )
    for node in model.graph.node:
        shape = constants.get(node.input[1]) if node.op_type == "Reshape" and len(node.input) > 1 else None
        if shape is not None and 0 not in shape.tolist():
            kept = [a for a in node.attribute if not (a.name == "allowzero" and onnx.helper.get_attribute_value(a))]
            del node.attribute[:]
            node.attribute.extend(kept)
    return model


def _freeze_constant_reshapes(module: Any, examples: tuple[Any, ...]) -> None:
    import torch
    from onnx2torch.node_converters.reshape import OnnxReshape
    from torch.fx.passes.shape_prop import ShapeProp

    ShapeProp(module).propagate(*examples)
    graph = module.graph
    for node in list(graph.nodes):
        if node.op != "call_module" or not isinstance(module.get_submodule(node.target), OnnxReshape):
            continue
        source, shape_node = node.args[0], node.args[1]
        if shape_node.op != "get_attr":
            continue
        shape = [int(v) for v in module.get_buffer(shape_node.target).tolist()]
        sizes = source.meta["tensor_meta"].shape
        static = tuple(int(sizes[i]) if d == 0 else d for i, d in enumerate(shape))
        with graph.inserting_after(node):
            replacement = graph.call_function(torch.reshape, (source, static))
        node.replace_all_uses_with(replacement)
        graph.erase_node(node)
    graph.eliminate_dead_code()
    module.recompile()


def _examples(graph: Any, options: Any) -> tuple[Any, ...]:
    """Zero inputs of each graph input's shape; a dynamic dimension takes the run's batch size (or 1)."""
    import onnx
    import torch

    initializers = {i.name for i in graph.initializer}
    examples = []
    for value in (v for v in graph.input if v.name not in initializers):
        dims = [d.dim_value if d.dim_value > 0 else (options.batch_size or 1) for d in value.type.tensor_type.shape.dim]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type)
        examples.append(torch.zeros(dims, dtype=getattr(torch, dtype.name)))
    return tuple(examples)


def convert(request: ConversionRequest) -> ConversionOutcome:
    import onnx
    import torch

    onnx2torch = _import_onnx2torch()
    source = request.source.file
    work = Path(tempfile.mkdtemp(prefix=".edgex-repair-", dir=request.output.parent))
    try:
        repaired = work / source.name
        shapes = graph_input_shapes(source, request.options.batch_size, request.source.options.input_shapes)
        try:
            onnx.load(str(source), load_external_data=False)
        except Exception as exc:  # noqa: BLE001
            raise UsageError(f"model {source}: not a readable ONNX file ({short_message(exc)})") from None
        repairs = repair(source, repaired, input_shapes=shapes, max_opset=MAX_OPSET)
        graph = onnx.load(str(repaired))
        keep_repaired(request, repaired, repairs)
        examples = _examples(graph.graph, request.options)
        try:
            module = onnx2torch.convert(_normalised(graph)).eval()
            _freeze_constant_reshapes(module, examples)
            torch.export.save(torch.export.export(module, examples), str(request.output))
        except ConversionError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise ConversionError(
                f"onnx2torch failed: {short_message(exc)}", hint="--debug shows the full error"
            ) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ConversionOutcome(
        notes=[f"onnx2torch {getattr(onnx2torch, '__version__', '')}".strip()]
        + [f"ONNX repaired: {r.describe()}" for r in repairs],
        details={"repairs": [{"pass": r.name, "detail": r.detail} for r in repairs]},
    )
