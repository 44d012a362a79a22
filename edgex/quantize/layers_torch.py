"""PyTorch -> PT2E layer debugging, run in the torch / ExecuTorch worker.

The float side is the eager nn.Module, each leaf module's output caught by a forward hook; the quantized side is
the PT2E-converted graph (the one that is lowered into the .pte), run node by node. torch.export keeps every
node's module path (`nn_module_stack`), so a module's quantized output is the value of its last node, followed
through the quantize -> dequantize pair that convert_pt2e puts after it. The same module paths are what `-q auto`
keeps in float (a quantizer node filter: XNNPACKQuantizer refuses set_module_name(name, None) "not supported yet").
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgex.quantize.layers import LayerResult, measure, quantized_range, with_added_error
from edgex.sources import SourceRef

QDQ = ("quantize_per_tensor", "dequantize_per_tensor", "quantize_per_channel", "dequantize_per_channel")


def module_path(node: Any) -> str | None:
    """The innermost module a graph node was traced in ('' for the root module), None when unknown."""
    stack = node.meta.get("nn_module_stack")
    if not stack:
        return None
    path, _ = list(stack.values())[-1]
    return _clean(path)


def _clean(path: Any) -> str:
    """'hostile' from the spellings torch.export uses for a module path ("L['self'].hostile", 'L__self___hostile')."""
    return str(path).removeprefix("L['self'].").removeprefix("L__self___")


def outside_modules(paths: tuple[str, ...]) -> Callable[[Any], bool]:
    """A PT2E quantizer node filter: True for nodes traced outside every module in `paths` (and their children)."""

    def outside(node: Any) -> bool:
        stack = node.meta.get("nn_module_stack") or {}
        inside = {_clean(path) for path, _ in stack.values()}
        return not any(enclosing == path or enclosing.startswith(path + ".") for enclosing in inside for path in paths)

    return outside


def _is_qdq(node: Any) -> bool:
    return node.op == "call_function" and any(name in str(node.target) for name in QDQ)


def _range(node: Any) -> tuple[float, float] | None:
    """The float range a per-tensor dequantize node's int input represents (its calibrated range)."""
    if not (_is_qdq(node) and "dequantize_per_tensor" in str(node.target) and len(node.args) >= 5):
        return None
    scale, zero_point, low, high = node.args[1:5]
    if not all(isinstance(value, int | float) for value in (scale, zero_point, low, high)):
        return None
    return quantized_range(float(scale), int(zero_point), int(low), int(high))


def quantized_module_outputs(
    converted: Any, leaves: set[str], examples: list[tuple[Any, ...]]
) -> tuple[dict[str, list[Any]], dict[str, tuple[float, float] | None]]:
    """Each leaf module's output in the converted graph, per sample, in the graph's execution order, and the
    calibrated range of those whose output is quantized."""
    import torch

    last: dict[str, Any] = {}
    for node in converted.graph.nodes:
        path = module_path(node)
        if path in leaves and not _is_qdq(node) and node.op == "call_function":
            last.pop(path, None)
            last[path] = node
    shown = {}
    for path, node in last.items():
        users = list(node.users)
        if len(users) == 1 and _is_qdq(users[0]) and len(list(users[0].users)) == 1:
            after = next(iter(users[0].users))
            node = after if _is_qdq(after) else node  # the value the next layer actually sees
        shown[path] = node
    wanted = {node: path for path, node in shown.items()}
    outputs: dict[str, list[Any]] = {path: [] for path in shown}

    class Recorder(torch.fx.Interpreter):
        def run_node(self, n: Any) -> Any:
            value = super().run_node(n)
            if n in wanted and isinstance(value, torch.Tensor):
                outputs[wanted[n]].append(value.detach().float().numpy().copy())
            return value

    with torch.no_grad():
        for sample in examples:
            Recorder(converted).run(*sample)
    return outputs, {path: _range(node) for path, node in shown.items()}


def float_module_outputs(module: Any, leaves: set[str], examples: list[tuple[Any, ...]]) -> dict[str, list[Any]]:
    import torch

    outputs: dict[str, list[Any]] = {path: [] for path in leaves}
    handles = []
    for path, child in module.named_modules():
        if path in leaves:
            def hook(_: Any, __: Any, value: Any, path: str = path) -> None:
                if isinstance(value, torch.Tensor):
                    outputs[path].append(value.detach().float().numpy().copy())

            handles.append(child.register_forward_hook(hook))
    try:
        with torch.no_grad():
            for sample in examples:
                module(*sample)
    finally:
        for handle in handles:
            handle.remove()
    return outputs


def leaf_modules(module: Any) -> dict[str, str]:
    """Module path -> class name of every module without children (the layers)."""
    return {path: type(child).__name__ for path, child in module.named_modules() if path and not list(child.children())}


def compare_modules(
    source: SourceRef, artifact: Path, calibration: dict[str, np.ndarray] | None, samples: dict[str, np.ndarray]
) -> list[LayerResult]:
    """Every leaf module's output in the float module and in its PT2E int8 conversion (calibrated again with the
    same calibration data: a .pte keeps no per-layer outputs to read), in graph order."""
    del artifact
    import torch

    from edgex.exporters.executorch import int8_quantizer
    from edgex.quantize.pt2e import quantize_pt2e
    from edgex.quantize.recipes import get_recipe
    from edgex.sources.torch_common import load_torch_model

    model = load_torch_model(source)
    captured = torch.export.export(model.module, model.examples, strict=False).module()
    converted = quantize_pt2e(
        captured, int8_quantizer(get_recipe("int8"), ()), get_recipe("int8"), model.examples, calibration,
        model.input_names, fold_quantize=False,
    )
    arrays = list(samples.values())
    examples = [
        tuple(torch.from_numpy(array[index : index + 1]).to(example.dtype) for array, example in
              zip(arrays, model.examples, strict=True))
        for index in range(len(arrays[0]))
    ]
    kinds = leaf_modules(model.module)
    quantized, ranges = quantized_module_outputs(converted, set(kinds), examples)
    reference = float_module_outputs(model.module, set(quantized), examples)
    results = []
    for path, values in quantized.items():
        if len(values) != len(examples) or len(reference[path]) != len(examples):
            continue  # a module called more or less than once per forward: not comparable one to one
        float_values, quant_values = np.concatenate(reference[path]), np.concatenate(values)
        if float_values.size == quant_values.size:
            results.append(measure(path, kinds[path], float_values, quant_values, ranges[path]))
    return with_added_error(results)
