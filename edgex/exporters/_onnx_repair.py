"""ONNX repair before an ONNX consumer (onnx2tf, onnx2torch): runs inside the consumer's worker.

Models exported by other people's tools often trip converters on things that do not change what they compute:
initializers listed among the graph inputs (older exporters), symbolic or -1 dimensions, node names TensorFlow
rejects as scope names, shape arithmetic done at run time (Shape -> Gather -> Concat -> Reshape), an opset newer
than the consumer knows. Each pass here checks whether it applies, fixes only that, and says what it did; the
list lands in the report (`repairs`) and the repaired model is kept with --keep-intermediates. Simplification
and constant folding use onnxsim (it folds with onnxruntime's kernels and checks nothing else changes; onnxslim
is pure Python and slower on large graphs; onnxsim is what onnx2tf's own README recommends before converting).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgex.workers import short_message

# TensorFlow's scope-name rule (tensorflow/python/framework/ops.py _VALID_SCOPE_NAME_REGEX).
TF_SCOPE_NAME = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\\/>-]*$")


@dataclass(frozen=True)
class Repair:
    name: str  # the pass
    detail: str  # what it changed, for people

    def describe(self) -> str:
        return f"{self.name}: {self.detail}"


def graph_inputs(graph: Any) -> list[Any]:
    """The graph's real inputs: older exporters also list every initializer (weight) among them."""
    initializers = {i.name for i in graph.initializer}
    return [value for value in graph.input if value.name not in initializers]


def _drop_initializer_inputs(model: Any) -> Repair | None:
    """Older exporters list every weight as a graph input too; consumers then expect data for them."""
    initializers = {i.name for i in model.graph.initializer}
    listed = [value for value in model.graph.input if value.name in initializers]
    if not listed:
        return None
    kept = [value for value in model.graph.input if value.name not in initializers]
    del model.graph.input[:]
    model.graph.input.extend(kept)
    return Repair("drop-initializer-inputs", f"{len(listed)} initializers removed from the graph inputs")


def _fold_constant_inputs(model: Any, const_inputs: Sequence[tuple[str, str]], where: str) -> Repair | None:
    """--const-input: each such input becomes an initializer holding its value, so simplification folds what
    depends on it (an If on a sample rate) and the artifact lacks the input."""
    from onnx import helper, numpy_helper

    from edgex.constants import check_names, constant_array

    if not const_inputs:
        return None
    inputs = {value.name: value for value in graph_inputs(model.graph)}
    check_names(const_inputs, list(inputs), where)
    for name, text in const_inputs:
        tensor_type = inputs[name].type.tensor_type
        dtype = helper.tensor_dtype_to_np_dtype(tensor_type.elem_type)
        value = constant_array(name, text, dtype.name, len(tensor_type.shape.dim), where)
        model.graph.initializer.append(numpy_helper.from_array(value, name))
        model.graph.input.remove(inputs[name])
    return Repair("fold-constant-inputs", ", ".join(f"{name}={text}" for name, text in const_inputs))


# Operators evaluated on constant operands to decide an If's condition (small tensors only: shapes, flags).
_CONDITION_OPS = frozenset(
    ("Add", "And", "Cast", "Concat", "Equal", "Gather", "Greater", "Identity", "Less", "Mul", "Not", "Or", "Reshape",
     "Size", "Slice", "Squeeze", "Sub", "Unsqueeze")
)
_CONDITION_MAX_ELEMENTS = 1024


def _known_values(model: Any) -> tuple[dict[str, Any], Any]:
    """Values computable before run time in the main graph: initializers, Constants, Shapes of static tensors, and
    small arithmetic on those. Returns them and the first If node whose condition is among them (or None)."""
    import numpy as np
    import onnx
    from onnx import numpy_helper
    from onnx.reference import ReferenceEvaluator

    inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    graph = inferred.graph
    shapes = {}
    for value in (*graph.input, *graph.value_info, *graph.output):
        dims = value.type.tensor_type.shape.dim
        if value.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in dims):
            shapes[value.name] = [d.dim_value for d in dims]
    known: dict[str, Any] = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    for node in model.graph.node:
        operands = [name for name in node.input if name]
        if node.op_type == "If" and node.input[0] in known:
            return known, node
        if node.op_type == "Constant":
            known.update(zip(node.output, list(ReferenceEvaluator(node).run(None, {})), strict=True))
        elif node.op_type == "Shape" and node.input[0] in shapes:
            attributes = {a.name: a.i for a in node.attribute}
            dims = shapes[node.input[0]][attributes.get("start", 0) : attributes.get("end")]
            known[node.output[0]] = np.array(dims, dtype=np.int64)
        elif (
            node.op_type in _CONDITION_OPS
            and all(name in known for name in operands)
            and sum(np.size(known[name]) for name in operands) <= _CONDITION_MAX_ELEMENTS
        ):
            values = list(ReferenceEvaluator(node).run(None, {name: known[name] for name in operands}))
            known.update(zip(node.output, values, strict=True))
    return known, None


def _inline_constant_ifs(model: Any) -> Repair | None:
    """If nodes whose condition is known before run time (a folded constant input, a static shape) are replaced by
    the branch they take: converters then see plain operators (onnx2tf and onnx2torch handle If poorly or not at
    all, and onnxsim cannot check graphs whose branches read outer values)."""
    import numpy as np
    from onnx import helper

    if not any(node.op_type == "If" for node in model.graph.node):
        return None
    inlined = 0
    while True:
        try:
            known, chosen = _known_values(model)
        except Exception as exc:  # noqa: BLE001 - shape inference fails on some graphs; the converters may still cope
            return Repair("inline-constant-if", f"skipped: {short_message(exc)}") if inlined == 0 else None
        if chosen is None:
            break
        taken = bool(np.asarray(known[chosen.input[0]]).reshape(-1)[0])
        branch = next(a.g for a in chosen.attribute if a.name == ("then_branch" if taken else "else_branch"))
        nodes = list(branch.node) + [
            helper.make_node("Identity", [inner.name], [outer], name=f"{chosen.name}/{'then' if taken else 'else'}_{i}")
            for i, (inner, outer) in enumerate(zip(branch.output, chosen.output, strict=True))
        ]
        graph = model.graph
        position = list(graph.node).index(chosen)
        graph.node.remove(chosen)
        for offset, node in enumerate(nodes):
            graph.node.insert(position + offset, node)
        graph.initializer.extend(branch.initializer)
        inlined += 1
    return Repair("inline-constant-if", f"{inlined} If nodes replaced by the branch they take") if inlined else None


def _static_input_shapes(model: Any, shapes: Mapping[str, Sequence[int]]) -> Repair | None:
    """Symbolic / -1 / 0 input dimensions set from --input-shape, the data, or the static batch."""
    fixed = []
    for value in model.graph.input:
        shape = shapes.get(value.name)
        dims = value.type.tensor_type.shape.dim
        if shape is None or len(shape) != len(dims):
            continue
        changed = False
        for dim, size in zip(dims, shape, strict=True):
            if dim.dim_value <= 0:
                dim.Clear()
                dim.dim_value = int(size)
                changed = True
        if changed:
            fixed.append(f"{value.name}={'x'.join(str(int(s)) for s in shape)}")
    if not fixed:
        return None
    return Repair("static-shapes", ", ".join(fixed))


def _downgrade_opset(model: Any, max_opset: int | None) -> tuple[Any, Repair | None]:
    from onnx import version_converter

    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    if max_opset is None or opset <= max_opset:
        return model, None
    try:
        return version_converter.convert_version(model, max_opset), Repair("opset", f"{opset} -> {max_opset}")
    except Exception as exc:  # noqa: BLE001 - ONNX has no down-adapter for some ops; the consumer may still cope
        return model, Repair("opset", f"skipped: no conversion {opset} -> {max_opset} ({short_message(exc)})")


def _simplify(model: Any) -> tuple[Any, Repair | None]:
    """Shape inference, constant folding (shape subgraphs included) and dead-node removal by onnxsim."""
    import onnxsim

    nodes_before = len(model.graph.node)
    shape_ops_before = sum(n.op_type in ("Shape", "Gather", "Concat", "Unsqueeze") for n in model.graph.node)
    try:
        simplified, checked = onnxsim.simplify(model, check_n=1)
    except Exception as exc:  # noqa: BLE001 - onnxsim fails on some graphs; the unsimplified model may still convert
        return model, Repair("simplify", f"skipped: onnxsim failed ({short_message(exc)})")
    if not checked:
        return model, Repair("simplify", "skipped: the simplified model's outputs differed from the original")
    nodes_after = len(simplified.graph.node)
    if nodes_after == nodes_before:
        return simplified, None
    shape_ops_after = sum(n.op_type in ("Shape", "Gather", "Concat", "Unsqueeze") for n in simplified.graph.node)
    detail = f"{nodes_before} -> {nodes_after} nodes (onnxsim constant folding"
    if shape_ops_after < shape_ops_before:
        detail += f"; {shape_ops_before - shape_ops_after} shape-arithmetic nodes folded"
    return simplified, Repair("simplify", detail + ")")


def _constants_to_initializers(model: Any) -> Repair | None:
    """Constant nodes become initializers: consumers see a weight they can read at conversion time, not an op
    whose output they must compute (onnx2torch would read a Resize's scales at run time)."""
    from onnx import helper, numpy_helper

    moved = []
    for node in list(model.graph.node):
        if node.op_type != "Constant" or len(node.attribute) != 1 or node.attribute[0].name != "value":
            continue
        tensor = numpy_helper.from_array(numpy_helper.to_array(helper.get_attribute_value(node.attribute[0])),
                                         node.output[0])
        model.graph.initializer.append(tensor)
        model.graph.node.remove(node)
        moved.append(node.output[0])
    if not moved:
        return None
    return Repair("constants-to-initializers", f"{len(moved)} Constant nodes stored as initializers")


def _sanitize_names(model: Any) -> Repair | None:
    """Node and tensor names TensorFlow refuses as scope names ('Softmax@0', '/conv:1') get safe ones.

    Graph input and output names are kept when valid, so the artifact's I/O names stay the source's.
    """
    graph = model.graph
    renamed: dict[str, str] = {}
    taken = {n.name for n in graph.node} | {v.name for v in (*graph.input, *graph.output, *graph.initializer)}

    def safe(name: str) -> str:
        if not name or TF_SCOPE_NAME.match(name):
            return name
        if name in renamed:
            return renamed[name]
        candidate = re.sub(r"[^A-Za-z0-9_.\\/>-]", "_", name)
        candidate = candidate if TF_SCOPE_NAME.match(candidate) else f"t{candidate}"
        while candidate in taken:
            candidate += "_"
        taken.add(candidate)
        renamed[name] = candidate
        return candidate

    node_count = 0
    for node in graph.node:
        if node.name and not TF_SCOPE_NAME.match(node.name):
            node.name = safe(node.name)
            node_count += 1
        node.input[:] = [safe(name) for name in node.input]
        node.output[:] = [safe(name) for name in node.output]
    for value in (*graph.input, *graph.output, *graph.value_info):
        value.name = safe(value.name)
    for tensor in graph.initializer:
        tensor.name = safe(tensor.name)
    if not renamed and not node_count:
        return None
    example = next(iter(renamed), "")
    return Repair("sanitize-names", f"{len(renamed)} names made TensorFlow-safe (e.g. {example!r})")


def _computed_clip_bounds(model: Any) -> Repair | None:
    """Clip whose min/max is computed in the graph (a log-mel's `max - top_db` floor), which onnx2torch refuses
    ("Dynamic value of min/max"): the same values as Max(x, min) then Min(., max)."""
    import numpy as np
    from onnx import helper, numpy_helper

    constants = {init.name: init for init in model.graph.initializer}
    rewritten = 0
    nodes = []
    for node in model.graph.node:
        bounds = list(node.input[1:]) + [""] * (3 - len(node.input))
        if node.op_type != "Clip" or all(not b or b in constants for b in bounds):
            nodes.append(node)
            continue
        value = node.input[0]
        for op, bound in (("Max", bounds[0]), ("Min", bounds[1])):
            if bound and bound not in constants:
                step = f"{node.output[0]}__{op.lower()}"
                nodes.append(helper.make_node(op, [value, bound], [step], name=f"{node.name}_{op.lower()}"))
                value = step
        # A constant bound stays a Clip (Min with +inf would reach code that reads it as an int); onnx2torch needs
        # both bounds then, so the missing one is an infinite constant of the same type.
        fixed = [b if b in constants else "" for b in bounds[:2]]
        if any(fixed):
            known = constants[next(b for b in fixed if b)]
            for position, sign in ((0, -1), (1, 1)):
                if not fixed[position]:
                    fixed[position] = f"{node.name or node.output[0]}__unbounded_{position}"
                    infinite = np.array(sign * np.inf, dtype=numpy_helper.to_array(known).dtype)
                    model.graph.initializer.append(numpy_helper.from_array(infinite, fixed[position]))
            nodes.append(helper.make_node("Clip", [value, *fixed], list(node.output), name=node.name))
        else:
            nodes.append(helper.make_node("Identity", [value], list(node.output), name=node.name))
        rewritten += 1
    if not rewritten:
        return None
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return Repair("clip-bounds", f"{rewritten} Clip node(s) with computed bounds as Max/Min")


def _static_type(value: Any) -> tuple[int, tuple[int, ...]] | None:
    tensor = value.type.tensor_type
    dims = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim)
    return (tensor.elem_type, dims) if tensor.HasField("shape") and all(d >= 0 for d in dims) else None


def _branches_as_where(model: Any) -> Repair | None:
    """If nodes whose two branches are plain graphs (no nested control flow) with outputs of the same static type
    and shape: both branches inlined and the result picked with Where (openwakeword's verifier head, which
    onnx2torch cannot convert and onnx2tf mis-resolves). Branch outputs are computed for both conditions, which
    only costs time; branches with different output shapes (silero-vad's Squeeze-or-not) are left alone."""
    from onnx import helper, numpy_helper, shape_inference

    typed = shape_inference.infer_shapes(model)
    known = {v.name: v for v in [*typed.graph.value_info, *typed.graph.input, *typed.graph.output]}
    nodes: list[Any] = []
    rewritten = 0
    for index, node in enumerate(typed.graph.node):
        branches = {a.name: a.g for a in node.attribute if a.name in ("then_branch", "else_branch")}
        nested = any(n.op_type in ("If", "Loop", "Scan") for b in branches.values() for n in b.node)
        if node.op_type != "If" or len(branches) != 2 or nested:
            nodes.append(model.graph.node[index])
            continue
        then_graph, else_graph = branches["then_branch"], branches["else_branch"]
        types = [[_static_type(o) for o in g.output] for g in (then_graph, else_graph)]
        outer = [_static_type(known[o]) if o in known else None for o in node.output]
        if types[0] != types[1] or None in types[0] or types[0] != outer:
            nodes.append(model.graph.node[index])
            continue
        prefix = node.name or f"if_{index}"
        picked = []
        for tag, graph in (("then", then_graph), ("else", else_graph)):
            local = {o for n in graph.node for o in n.output} | {i.name for i in graph.initializer}
            rename = {name: f"{prefix}__{tag}__{name}" for name in local}
            for init in graph.initializer:
                model.graph.initializer.append(numpy_helper.from_array(numpy_helper.to_array(init), rename[init.name]))
            for inner in graph.node:
                copy = helper.make_node(
                    inner.op_type,
                    [rename.get(i, i) for i in inner.input],
                    [rename.get(o, o) for o in inner.output],
                    name=f"{prefix}__{tag}__{inner.name}",
                    domain=inner.domain,
                )
                copy.attribute.extend(inner.attribute)
                nodes.append(copy)
            picked.append([rename.get(o.name, o.name) for o in graph.output])
        condition = node.input[0]
        condition_type = _static_type(known[condition]) if condition in known else None
        # A one-element condition broadcasts over the outputs unless its rank is higher (then it is squeezed); with
        # the same rank as the outputs (openwakeword's [1, 1] score), a batch picks per sample.
        if condition_type is None or len(condition_type[1]) > min(len(t[1]) for t in types[0] if t is not None):
            condition = f"{prefix}__condition"
            nodes.append(helper.make_node("Squeeze", [node.input[0]], [condition], name=condition))
        for position, output in enumerate(node.output):
            nodes.append(
                helper.make_node(
                    "Where",
                    [condition, picked[0][position], picked[1][position]],
                    [output],
                    name=f"{prefix}__where_{position}",
                )
            )
        rewritten += 1
    if not rewritten:
        return None
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return Repair("if-to-where", f"{rewritten} If node(s) with same-shape branches computed both ways, picked by Where")


def repair(
    source: Path,
    output: Path,
    *,
    input_shapes: Mapping[str, Sequence[int]],
    max_opset: int | None = None,
    sanitize_names: bool = False,
    const_inputs: Sequence[tuple[str, str]] = (),
) -> list[Repair]:
    """Write the repaired model to `output`; returns the passes that changed something (none: a plain copy)."""
    import onnx

    model = onnx.load(str(source))
    repairs: list[Repair | None] = [
        _drop_initializer_inputs(model),
        _fold_constant_inputs(model, const_inputs, str(source)),
        _static_input_shapes(model, input_shapes),
    ]
    repairs.append(_inline_constant_ifs(model))
    model, downgraded = _downgrade_opset(model, max_opset)
    repairs.append(downgraded)
    model, simplified = _simplify(model)
    repairs += [simplified, _constants_to_initializers(model), _computed_clip_bounds(model), _branches_as_where(model)]
    if sanitize_names:
        repairs.append(_sanitize_names(model))
    onnx.save(model, str(output))
    return [r for r in repairs if r is not None]


def keep_repaired(request: Any, repaired: Path, repairs: list[Repair]) -> None:
    """--keep-intermediates: the repaired model goes where the export asked for it (inside the output folder)."""
    if request.keep_repaired is not None and repairs:
        shutil.copyfile(repaired, request.keep_repaired)


def graph_input_shapes(
    path: Path,
    batch_size: int | None,
    given: Sequence[Sequence[int]],
    data: Mapping[str, Sequence[int]] | None = None,
) -> dict[str, list[int]]:
    """Static shapes for the graph inputs: --input-shape when given (in input order), else the shapes of the
    data (by name, or by position when a route renamed the inputs), else the model's own dimensions with a
    dynamic batch set to the run's static batch (other dynamic dimensions stay unknown)."""
    import onnx

    inputs = graph_inputs(onnx.load(str(path), load_external_data=False).graph)
    shapes: dict[str, list[int]] = {}
    data = dict(data or {})
    by_position = list(data.values()) if len(data) == len(inputs) and not set(data) & {v.name for v in inputs} else []
    for index, value in enumerate(inputs):
        if index < len(given):
            shapes[value.name] = [int(d) for d in given[index]]
            continue
        known = data.get(value.name) or (by_position[index] if by_position else None)
        if known is not None and len(known) == len(value.type.tensor_type.shape.dim):
            shapes[value.name] = [int(d) for d in known]
            continue
        dims = [d.dim_value for d in value.type.tensor_type.shape.dim]
        if dims and dims[0] <= 0 and batch_size:
            dims[0] = batch_size
        if all(d > 0 for d in dims):
            shapes[value.name] = dims
    return shapes
