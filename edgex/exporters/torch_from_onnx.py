"""ONNX -> torch.export program (.pt2) with onnx2torch: the bridge from ONNX to ExecuTorch and PyTorch Mobile.

onnx2torch 1.5.15 knows operators up to opset 17, and its Reshape reads the target shape at run time, which
torch.export refuses as data-dependent. The ONNX repair passes (exporters/_onnx_repair.py: static shapes, opset
17, initializer inputs dropped, shape arithmetic folded) run first; then two small passes, each preserving
meaning: `allowzero=1` is dropped from Reshapes whose constant shape has no 0 (then it changes nothing); and
after onnx2torch, Reshape / Squeeze / Unsqueeze with constant shape or axes operands become plain torch calls with
static arguments (a reshape's 0, "copy this dimension", resolved by shape propagation on the example inputs).

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

from edgex.artifacts import temp_prefix
from edgex.errors import ConversionError, UsageError
from edgex.exporters import ConversionOutcome, ConversionRequest, Converter
from edgex.exporters._onnx_repair import graph_input_shapes, graph_inputs, keep_repaired, repair
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

    from edgex.exporters.onnx2torch_lstm import register_lstm

    register_lstm()
    return onnx2torch


MAX_OPSET = 17


def _single_output_producers(model: Any) -> None:
    """A graph output made directly by a multi-output node (an LSTM's Y_h) gets an Identity in between: onnx2torch
    would otherwise return that node's whole output tuple as the graph output."""
    from onnx import helper

    outputs = {value.name for value in model.graph.output}
    for node in list(model.graph.node):
        if len(node.output) < 2:
            continue
        for index, name in enumerate(node.output):
            if name in outputs:
                node.output[index] = f"{name}__multi"
                model.graph.node.append(helper.make_node("Identity", [node.output[index]], [name]))


def _normalised(model: Any) -> Any:
    """The (repaired) ONNX model with redundant Reshape `allowzero` attributes removed, and graph outputs of
    multi-output nodes passed through an Identity."""
    import onnx
    from onnx import numpy_helper

    _single_output_producers(model)

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


def _unsqueeze(tensor: Any, axes: tuple[int, ...]) -> Any:
    """ONNX Unsqueeze: axes index the output, so insert them in ascending order (negatives counted from its end)."""
    rank = tensor.dim() + len(axes)
    for axis in sorted(a % rank for a in axes):
        tensor = tensor.unsqueeze(axis)
    return tensor


def _pad(tensor: Any, onnx_pads: tuple[int, ...], mode: str, value: float) -> Any:
    """ONNX Pad with constant pads: torch's order (last axis first), and for reflect/replicate/circular only the
    axes torch pads in that mode (all-zero pads of leading axes dropped; onnx2torch kept them and torch refused)."""
    import torch

    middle = len(onnx_pads) // 2
    pads: list[int] = []
    for begin, end in reversed(list(zip(onnx_pads[:middle], onnx_pads[middle:], strict=True))):
        pads += [begin, end]
    if mode != "constant":
        while len(pads) > 2 * (tensor.dim() - 2) and pads[-2:] == [0, 0]:
            pads = pads[:-2]
    return torch.nn.functional.pad(tensor, pads, mode=mode, value=value if mode == "constant" else None)


def _slice(tensor: Any, cuts: tuple[tuple[int, int, int, int], ...]) -> Any:
    """ONNX Slice with constant (axis, start, end, step) per axis, as static indexing."""
    index: list[slice] = [slice(None)] * tensor.dim()
    for axis, start, end, step in cuts:
        index[axis] = slice(start, end, step)
    return tensor[tuple(index)]


def _take(tensor: Any, axis: int, indices: tuple[int, ...], scalar: bool) -> Any:
    """ONNX Gather with constant indices as static narrowing (a 0-d index drops the axis, as numpy.take does)."""
    import torch

    size = tensor.shape[axis]
    if scalar:
        return torch.select(tensor, axis, indices[0] % size)
    return torch.cat([tensor.narrow(axis, index % size, 1) for index in indices], dim=axis)


def _constant_operands(args: tuple[Any, ...]) -> bool:
    return all(arg is None or getattr(arg, "op", None) == "get_attr" for arg in args)


def _buffer(module: Any, arg: Any) -> list[float] | None:
    """A constant operand's values; None for an absent or empty one (ONNX's way of leaving an input out)."""
    if arg is None:
        return None
    values = module.get_buffer(arg.target).reshape(-1).tolist()
    return values or None


def _resize(tensor: Any, scales: list[float] | None, sizes: list[float] | None, mode: str, align: Any) -> Any:
    """ONNX Resize with constant scales or sizes as one static interpolate call (batch and channels kept)."""
    import torch
    from onnx2torch.node_converters.resize import _onnx_mode_to_torch_mode

    torch_mode = _onnx_mode_to_torch_mode(mode, tensor.dim() - 2)
    size = [int(v) for v in sizes[2:]] if sizes else None
    scale = [float(v) for v in scales[2:]] if scales and not size else None
    return torch.nn.functional.interpolate(tensor, size=size, scale_factor=scale, mode=torch_mode, align_corners=align)


def _static_call(module: Any, node: Any, shapes_known: bool) -> tuple[Any, tuple[Any, ...]] | None:
    """The plain torch call that does what an onnx2torch module does with constant operands, if it is one."""
    import torch
    from onnx2torch.node_converters.gather import OnnxGather
    from onnx2torch.node_converters.pad import OnnxPadDynamic
    from onnx2torch.node_converters.reshape import OnnxReshape
    from onnx2torch.node_converters.resize import OnnxResize
    from onnx2torch.node_converters.slice import OnnxSlice
    from onnx2torch.node_converters.squeeze import OnnxSqueezeDynamicAxes
    from onnx2torch.node_converters.unsqueeze import OnnxUnsqueezeDynamicAxes

    kind = module.get_submodule(node.target)
    if isinstance(kind, OnnxResize):  # operands may come as keywords: roi, scales, sizes
        named = {**dict(zip(("roi", "scales", "sizes"), node.args[1:], strict=False)), **node.kwargs}
        if not named or not _constant_operands(tuple(named.values())):
            return None
        scales, sizes = _buffer(module, named.get("scales")), _buffer(module, named.get("sizes"))
        return _resize, (node.args[0], scales, sizes, kind.onnx_mode, kind.align_corners)
    if len(node.args) < 2 or not _constant_operands(node.args[1:]):
        return None
    source, operands = node.args[0], node.args[1:]
    values = [int(v) for v in _buffer(module, operands[0]) or []]
    if isinstance(kind, OnnxSlice):
        starts, ends, axes, steps = (_buffer(module, arg) for arg in (*operands, None, None)[:4])
        axes = axes or list(range(len(starts or [])))
        steps = steps or [1] * len(axes)
        if not starts or not ends or any(step <= 0 for step in steps):
            return None  # negative steps need a flip: leave those to onnx2torch
        cuts = zip(map(int, axes), map(int, starts), map(int, ends), map(int, steps), strict=True)
        return _slice, (source, tuple(cuts))
    if isinstance(kind, OnnxGather) and values:
        scalar = module.get_buffer(operands[0].target).dim() == 0
        return _take, (source, kind._axis, tuple(values), scalar)
    if isinstance(kind, OnnxPadDynamic):
        return _pad, (source, tuple(int(v) for v in _buffer(module, operands[0]) or []), kind.mode,
                      (_buffer(module, operands[1]) or [0.0])[0] if len(operands) > 1 else 0.0)
    if isinstance(kind, OnnxReshape) and shapes_known:
        sizes = source.meta["tensor_meta"].shape
        return torch.reshape, (source, tuple(int(sizes[i]) if d == 0 else d for i, d in enumerate(values)))
    if isinstance(kind, OnnxSqueezeDynamicAxes):
        return torch.squeeze, (source, tuple(values))
    if isinstance(kind, OnnxUnsqueezeDynamicAxes):
        return _unsqueeze, (source, tuple(values))
    return None


def _freeze_constant_operands(module: Any, examples: tuple[Any, ...]) -> list[str]:
    """Reshape, Squeeze, Unsqueeze, Resize, Slice, Pad and Gather whose operands are constants become plain torch
    calls with static arguments: onnx2torch reads those operands at run time (`.item()`, `sort`, `tolist`), which
    torch.export refuses as data-dependent. Returns the onnx2torch module kinds it replaced."""
    from torch.fx.passes.shape_prop import ShapeProp

    graph = module.graph
    frozen: list[str] = []
    # Two passes: reshapes need the shapes of their inputs (a 0 copies a dimension), which shape propagation can
    # only compute once the other operands are static (onnx2torch's reflect Pad fails it as it stands).
    for needs_shapes in (False, True):
        if needs_shapes:
            ShapeProp(module).propagate(*examples)
        for node in list(graph.nodes):
            call = _static_call(module, node, needs_shapes) if node.op == "call_module" else None
            if call is None:
                continue
            frozen.append(type(module.get_submodule(node.target)).__name__)
            with graph.inserting_after(node):
                replacement = graph.call_function(*call)
            node.replace_all_uses_with(replacement)
            graph.erase_node(node)
        graph.eliminate_dead_code()
        module.recompile()
    return frozen


def _examples(graph: Any, options: Any) -> tuple[Any, ...]:
    """Zero inputs of each graph input's shape; a dynamic dimension takes the run's batch size (or 1)."""
    import onnx
    import torch

    examples = []
    for value in graph_inputs(graph):
        dims = [d.dim_value if d.dim_value > 0 else (options.batch_size or 1) for d in value.type.tensor_type.shape.dim]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type)
        examples.append(torch.zeros(dims, dtype=getattr(torch, dtype.name)))
    return tuple(examples)


def convert(request: ConversionRequest) -> ConversionOutcome:
    import onnx
    import torch

    onnx2torch = _import_onnx2torch()
    source = request.source.file
    work = Path(tempfile.mkdtemp(prefix=temp_prefix("repair-"), dir=request.output.parent))
    try:
        repaired = work / source.name
        shapes = graph_input_shapes(
            source, request.options.batch_size, request.source.options.input_shapes, request.data_shapes
        )
        try:
            onnx.load(str(source), load_external_data=False)
        except Exception as exc:  # noqa: BLE001
            raise UsageError(f"model {source}: not a readable ONNX file ({short_message(exc)})") from None
        repairs = repair(
            source, repaired, input_shapes=shapes, max_opset=MAX_OPSET, sanitize_names=True,
            const_inputs=request.source.options.const_inputs,
        )
        graph = onnx.load(str(repaired))
        keep_repaired(request, repaired, repairs)
        examples = _examples(graph.graph, request.options)
        try:
            module = onnx2torch.convert(_normalised(graph)).eval()
            frozen = _freeze_constant_operands(module, examples)
            torch.export.save(torch.export.export(module, examples), str(request.output))
        except ConversionError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise ConversionError(
                f"onnx2torch failed: {short_message(exc)}", hint="--debug shows the full error"
            ) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    notes = [f"onnx2torch {getattr(onnx2torch, '__version__', '')}".strip()]
    if frozen:
        notes.append(f"{len(frozen)} run-time shape/axes operands made static ({', '.join(sorted(set(frozen)))})")
    return ConversionOutcome(
        notes=notes + [f"ONNX repaired: {r.describe()}" for r in repairs],
        details={"repairs": [{"pass": r.name, "detail": r.detail} for r in repairs]},
    )
