"""PyTorch (factory / .pt2) -> ExecuTorch .pte, lowered to XNNPACK or left on portable kernels.

Quantization is PT2E (the shared pass in edgex/quantize/pt2e.py): `int8` is static per-channel symmetric
(XNNPACKQuantizer, calibrated with our calibration data), `dynamic` is dynamic int8 for linear/conv weights,
`fp16` converts the model to half precision and is accepted only when XNNPACK takes every compute node.
Transformer/RNN-shaped models take the Linear-layer form of `dynamic` and `8da4w` instead (torchao `quantize_`,
edgex/quantize/linear.py), as ExecuTorch's LLM export does.
A delegation report (ExecuTorch's get_delegation_info) is attached to every XNNPACK artifact, and
`--min-delegated` gates on it.
"""

from __future__ import annotations

import copy
from typing import Any

from edgex.embedding import constant_method
from edgex.errors import ConversionError, UsageError
from edgex.exporters import (
    ConversionOutcome,
    ConversionRequest,
    Converter,
    ExportOptions,
)
from edgex.exporters._recurrent import scan_recurrent_layers
from edgex.quantize.recipes import Recipe
from edgex.registry import Registry
from edgex.workers import short_message

# Nodes that are bookkeeping, not compute: the outputs of a delegate call are unpacked by getitem nodes, which
# ExecuTorch's report counts as non-delegated. They are excluded from the delegated share.
STRUCTURAL_OPS = {"getitem"}
RECIPES_BY_BACKEND = {"xnnpack": ("none", "fp16", "dynamic", "int8", "8da4w"), "portable": ("none", "int8")}


def _check_options(recipe: Recipe, options: ExportOptions) -> None:
    minimum = options.target_options.get("min_delegated")
    if minimum is not None and not 0.0 <= float(minimum) <= 1.0:
        raise UsageError(f"--min-delegated {minimum} must be a fraction between 0 and 1")
    if options.io_dtype not in (None, "float32"):
        raise UsageError(f"--io-dtype {options.io_dtype} is not supported for ExecuTorch (I/O stays float)")



def register(registry: Registry) -> None:
    registry.add_converter(
        Converter(
            name="executorch",
            sources=("torch", "torch-export"),
            produces="pte",
            worker="executorch",
            function="edgex.exporters.executorch:convert",
            extra="torch",
            module="executorch",
            recipes=(*RECIPES_BY_BACKEND["xnnpack"], "auto"),  # auto: the pipeline's search over int8 + float modules
            description="torch.export -> to_edge_transform_and_lower -> to_executorch (PT2E quantization)",
            check_options=_check_options,
            layer_debugger="edgex.quantize.layers_torch:compare_modules",
            per_tensor=True,
        )
    )


def _dynamic_shapes(model: Any, options: Any) -> Any:
    import torch

    if not options.dynamic_dims:
        return None
    shapes = []
    examples = []
    for example in model.examples:
        spec = {}
        for dim in options.dynamic_dims:
            if dim.axis < example.dim():
                spec[dim.axis] = torch.export.Dim(dim.name, min=dim.low, max=dim.high)
                # torch.export specialises dimensions of size 1: trace a dynamic one with at least 2.
                while example.shape[dim.axis] < max(2, dim.low):
                    example = torch.cat([example, example], dim=dim.axis)
        shapes.append(spec or None)
        examples.append(example)
    model.examples = tuple(examples)
    return tuple(shapes)


def _export(module: Any, examples: tuple[Any, ...], dynamic_shapes: Any, what: str) -> Any:
    import torch

    try:
        return torch.export.export(module, examples, dynamic_shapes=dynamic_shapes, strict=False)
    except Exception as exc:  # noqa: BLE001 - export failures come in many types
        raise ConversionError(
            f"torch.export failed for {what}: {short_message(exc)}",
            hint="see the PyTorch export guide; --debug shows the full error",
        ) from None


def int8_quantizer(recipe: Recipe, keep_float: tuple[str, ...], per_tensor: bool = False) -> Any:
    """XNNPACK's quantizer configured for the recipe (per-tensor weight scales if asked); the modules in
    `keep_float` (nn.Module paths) stay float."""
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )

    spec = recipe.pt2e
    assert spec is not None  # only PT2E recipes reach here
    quantizer = XNNPACKQuantizer().set_global(
        get_symmetric_quantization_config(is_per_channel=spec.per_channel and not per_tensor, is_dynamic=spec.dynamic)
    )
    if keep_float:  # set_module_name(name, None) is refused ("not supported yet"); a node filter is public API
        from edgex.quantize.layers_torch import outside_modules

        quantizer.set_filter_function(outside_modules(keep_float))
    return quantizer


def _quantized_program(model: Any, request: ConversionRequest, dynamic_shapes: Any) -> Any:
    """The recipe's PT2E configuration of XNNPACK's quantizer, through the shared PT2E pass."""
    from edgex.quantize.pt2e import quantize_pt2e

    quantizer = int8_quantizer(request.mode, request.keep_float, request.options.per_tensor)
    captured = _export(model.module, model.examples, dynamic_shapes, "capture").module()
    converted = quantize_pt2e(
        captured, quantizer, request.mode, model.examples, request.calibration, model.input_names
    )
    return _export(converted, model.examples, dynamic_shapes, "the quantized model")


def _linear_program(model: Any, request: ConversionRequest, dynamic_shapes: Any) -> tuple[Any, list[str]]:
    """The recipe's Linear-layer form (torchao quantize_, as ExecuTorch's LLM export does), then torch.export."""
    from edgex.quantize.linear import quantize_linear_layers

    spec = request.mode.linear
    assert spec is not None  # only recipes with a Linear-layer form reach here
    try:
        notes = quantize_linear_layers(model.module, spec, request.keep_float)
    except Exception as exc:  # noqa: BLE001 - torchao raises many types
        raise ConversionError(f"torchao quantization failed ({request.mode.name}): {short_message(exc)}") from None
    return _export(model.module, model.examples, dynamic_shapes, "the quantized model"), notes


def delegation_summary(graph_module: Any) -> dict[str, Any]:
    from executorch.devtools.backend_debug import get_delegation_info

    info = get_delegation_info(graph_module)
    by_operator = {
        op: {"delegated": b.delegated, "not_delegated": b.non_delegated}
        for op, b in sorted(info.delegation_by_operator.items())
        if op not in STRUCTURAL_OPS
    }
    delegated = sum(v["delegated"] for v in by_operator.values())
    left = sum(v["not_delegated"] for v in by_operator.values())
    return {
        "delegated_subgraphs": info.num_delegated_subgraphs,
        "delegated_nodes": delegated,
        "non_delegated_nodes": left,
        "delegated_share": delegated / (delegated + left) if delegated + left else 1.0,
        "non_delegated_ops": sorted(op for op, v in by_operator.items() if v["not_delegated"]),
        "by_operator": by_operator,
    }


def _delegation_section(summary: dict[str, Any]) -> Any:
    from edgex.results import ReportSection

    rows = [[op, str(v["delegated"]), str(v["not_delegated"])] for op, v in summary["by_operator"].items()]
    note = (
        f"{summary['delegated_share']:.1%} of compute nodes delegated to XNNPACK in "
        f"{summary['delegated_subgraphs']} subgraph(s)"
    )
    if summary["non_delegated_ops"]:
        note += f"; on portable kernels: {', '.join(summary['non_delegated_ops'])}"
    return ReportSection(
        "delegation", ["operator", "XNNPACK", "portable"], rows, [note], terminal=bool(summary["non_delegated_ops"])
    )


def _lower_with(program: Any, configs: list[Any] | None, constants: dict[str, Any] | None = None) -> Any:
    """to_edge_transform_and_lower on a copy (lowering passes mutate the program); None: no delegate. `constants`:
    constant methods (the embedded metadata) stored in the program beside forward."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    partitioners = [] if configs is None else [XnnpackPartitioner(configs=configs)]
    return to_edge_transform_and_lower(copy.deepcopy(program), partitioner=partitioners, constant_methods=constants)


def _graph_ops(program: Any) -> list[str]:
    """Operator names ('permute_copy.default') in graph order, as XNNPACK's configs name them: from the exported
    graph (lowering keeps ops such as prelu whole for the partitioner) and from its default edge decomposition."""
    from executorch.exir import to_edge

    graphs = [program.graph_module.graph, to_edge(copy.deepcopy(program)).exported_program().graph_module.graph]
    names: list[str] = []
    for graph in graphs:
        for node in graph.nodes:
            if node.op == "call_function" and hasattr(node.target, "__name__"):
                _, _, name = node.target.__name__.partition(".")  # 'aten.permute_copy.default'
                name = name if "." in name else node.target.__name__
                if name not in names:
                    names.append(name)
    return names


def _with_cause(exc: BaseException) -> str:
    """The error and, when a pass wrapped another, the innermost one: that is the line that names the problem."""
    root = exc
    while root.__cause__ is not None:
        root = root.__cause__
    return short_message(exc) if root is exc else f"{short_message(exc)}: {short_message(root)}"


def _lower(program: Any, backend: str, constants: dict[str, Any] | None) -> tuple[Any, list[str], str | None]:
    """Lower the program; when XNNPACK lowering raises, find the operator kinds that break it and leave them on
    portable kernels. Returns the edge program, the excluded operators and the first error (None if none).

    Delta search over the XNNPACK partitioner's per-operator configs present in the graph: first each one alone
    (most failures come from one operator kind), then a growing set in graph order, shrunk back to a minimal one.
    """
    if backend != "xnnpack":
        return _lower_with(program, None, constants), [], None
    from executorch.backends.xnnpack.partition.config import ALL_PARTITIONER_CONFIGS

    try:
        return _lower_with(program, list(ALL_PARTITIONER_CONFIGS), constants), [], None
    except Exception as exc:  # noqa: BLE001 - lowering passes raise many types
        first_error = _with_cause(exc)
    present = set(_graph_ops(program))
    candidates = [c for c in ALL_PARTITIONER_CONFIGS if getattr(c, "target_name", None) in present]

    def attempt(excluded: list[Any]) -> Any | None:
        try:
            return _lower_with(program, [c for c in ALL_PARTITIONER_CONFIGS if c not in excluded], constants)
        except Exception:  # noqa: BLE001
            return None

    for config in candidates:
        edge = attempt([config])
        if edge is not None:
            return edge, [config.target_name], first_error
    excluded: list[Any] = []
    for config in candidates:
        excluded.append(config)
        edge = attempt(excluded)
        if edge is not None:
            for extra in list(excluded):  # shrink: drop exclusions that are not needed, keeping the last lowering
                smaller = [c for c in excluded if c is not extra]
                lowered = attempt(smaller) if smaller else None
                if lowered is not None:
                    excluded, edge = smaller, lowered
            return edge, [c.target_name for c in excluded], first_error
    raise ConversionError(
        f"XNNPACK lowering failed ({first_error}) and no subset of operators left on portable kernels fixes it",
        hint="--debug shows the full error; try --backend portable",
    )


def convert(request: ConversionRequest) -> ConversionOutcome:
    from edgex.quantize.linear import linear_weight_share, uses_linear_form
    from edgex.sources.torch_common import load_torch_model

    backend = request.settings.get("backend", "xnnpack")
    recipe = request.mode
    if recipe.name not in RECIPES_BY_BACKEND[backend]:
        supported = ", ".join(RECIPES_BY_BACKEND[backend])
        raise UsageError(f"--quantize {recipe.name} is not supported on ExecuTorch {backend} (supported: {supported})")
    model = load_torch_model(request.source)
    scanned: list[str] = []
    dynamic_shapes = _dynamic_shapes(model, request.source.options)
    if recipe.name == "fp16":
        model.module = model.module.half()
        model.examples = tuple(e.half() if e.is_floating_point() else e for e in model.examples)
    share = linear_weight_share(model.module)
    notes: list[str] = []
    if uses_linear_form(recipe, model.module):
        program, notes = _linear_program(model, request, dynamic_shapes)
    elif recipe.pt2e is not None:
        if backend == "portable":
            import executorch.kernels.quantized  # noqa: F401 - registers the quantized out-variants for portable
        program = _quantized_program(model, request, dynamic_shapes)
    else:
        if recipe.name == "none":
            model.module, scanned = scan_recurrent_layers(model.module)
        program = _export(model.module, model.examples, dynamic_shapes, "the model")
    try:
        embedded = request.options.embedded
        constants = (
            constant_method(embedded, model.input_names[0], tuple(model.examples[0].shape)) if embedded else None
        )
        edge, excluded, first_error = _lower(program, backend, constants)
        summary = delegation_summary(edge.exported_program().graph_module)
        if recipe.name == "fp16" and summary["non_delegated_ops"]:
            raise UsageError(
                f"fp16 is unsupported for this model: XNNPACK does not take {', '.join(summary['non_delegated_ops'])} "
                "in half precision",
                hint="export fp32 or int8 instead",
            )
        buffer = edge.to_executorch().buffer
    except (UsageError, ConversionError):
        raise
    except Exception as exc:  # noqa: BLE001
        raise ConversionError(
            f"ExecuTorch lowering failed ({backend}, {recipe.name}): {short_message(exc)}",
            hint="--debug shows the full error; try --backend portable",
        ) from None
    request.output.write_bytes(buffer)
    outcome = ConversionOutcome(
        notes=[f"{backend} backend", *notes],
        details={"backend": backend, "delegation": summary, "linear_weight_share": round(share, 4)},
    )
    if scanned:
        summary["scan_loops"] = scanned
        outcome.notes.append(
            f"recurrent layers run as a loop (not unrolled), recurrent step on portable kernels: {', '.join(scanned)}"
        )
    if excluded:
        summary["excluded_ops"] = excluded
        summary["lowering_error"] = first_error
        outcome.notes.append(
            f"XNNPACK lowering failed ({first_error}); kept on portable kernels: {', '.join(excluded)}"
        )
    if backend == "xnnpack":
        outcome.sections.append(_delegation_section(summary))
        outcome.notes.append(f"{summary['delegated_share']:.0%} delegated")
        minimum = request.options.target_options.get("min_delegated")
        if minimum is not None:
            from edgex.parity.compare import Check

            share = summary["delegated_share"]
            outcome.checks.append(Check("delegated_share", None, share, float(minimum), ">=", share >= float(minimum)))
    return outcome
