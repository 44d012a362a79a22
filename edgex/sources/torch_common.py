"""Loading PyTorch models (worker side): factories, torch.export .pt2, TorchScript; example inputs and names.

Everything here runs in a worker that may import torch (never tensorflow: see edgex.workers).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgex.errors import UsageError
from edgex.specs import TensorSpec
from edgex.workers import short_message

METADATA_FILE = "edgex.json"  # stored inside .ptl / TorchScript archives edgex writes: input names, shapes, dtypes


@dataclass
class LoadedTorchModel:
    module: Any  # nn.Module, ScriptModule or ExportedProgram.module()
    examples: tuple[Any, ...]  # example input tensors, batch included
    input_names: list[str]
    exported: Any = None  # the ExportedProgram, for .pt2 sources
    # --const-input values bound into `module` (a wrapper); `program` is the unwrapped TorchScript, which a .ptl
    # keeps with its own signature, recording the constants for the runner.
    constants: list[dict[str, Any]] = field(default_factory=list)
    program: Any = None


def _argument_types(module: Any) -> list[tuple[str, str]]:
    """(name, type) of forward's arguments: TorchScript's schema, else the Python signature's annotations."""
    schema = getattr(getattr(module, "forward", None), "schema", None)
    if schema is not None:
        return [(a.name, str(a.type)) for a in schema.arguments if a.name != "self"]
    try:
        parameters = inspect.signature(module.forward).parameters.values()
    except (TypeError, ValueError):
        return []
    kinds = {int: "int", float: "float", bool: "bool", "int": "int", "float": "float", "bool": "bool"}
    return [
        (p.name, kinds.get(p.annotation, "Tensor"))
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]


def _make_bound_module() -> type:
    import torch

    class WithConstants(torch.nn.Module):
        """forward(*inputs) calls the model with the constant arguments in their places."""

        def __init__(self, inner: Any, count: int, constants: dict[int, Any]) -> None:
            super().__init__()
            self.inner = inner
            self.count = count
            self.constants = constants

        def forward(self, *inputs: Any) -> Any:
            given = iter(inputs)
            return self.inner(*(self.constants[i] if i in self.constants else next(given) for i in range(self.count)))

    return WithConstants


def bind_constants(module: Any, const_inputs: Any, where: str) -> tuple[Any, list[dict[str, Any]], list[str]]:
    """The module with --const-input values fed on every call, what a .ptl records of them, and the names of the
    remaining arguments; arguments declared int/float/bool get that Python type."""
    import torch

    from edgex.constants import check_names, constant_array, python_value

    arguments = _argument_types(module)
    names = [name for name, _ in arguments]
    if not const_inputs:
        return module, [], names
    check_names(const_inputs, names, where)
    given = dict(const_inputs)
    values: dict[int, Any] = {}
    recorded = []
    for position, (name, type_name) in enumerate(arguments):
        if name not in given:
            continue
        if type_name in ("int", "float", "bool"):
            values[position] = python_value(name, given[name], type_name)
        else:
            values[position] = torch.from_numpy(constant_array(name, given[name], "float32", None, where))
        recorded.append({"name": name, "position": position, "value": json.loads(given[name]), "type": type_name})
    bound = _make_bound_module()(module, len(arguments), values)
    return bound, recorded, [name for name in names if name not in given]


def torch_dtype(name: str) -> Any:
    import torch

    value = getattr(torch, name, None)
    if not isinstance(value, torch.dtype):
        raise UsageError(f"--input-dtype {name} is not a torch dtype", hint="e.g. float32, float16, int64, uint8")
    return value


def dtype_name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


def input_specs(model: LoadedTorchModel) -> tuple[TensorSpec, ...]:
    return tuple(
        TensorSpec(name, tuple(int(d) for d in example.shape), dtype_name(example.dtype))
        for name, example in zip(model.input_names, model.examples, strict=True)
    )


def _examples_from_options(options: Any, where: str) -> tuple[Any, ...] | None:
    import torch

    if not options.input_shapes:
        return None
    dtypes = list(options.input_dtypes) or ["float32"] * len(options.input_shapes)
    if len(dtypes) != len(options.input_shapes):
        raise UsageError(f"{where}: {len(options.input_shapes)} --input-shape but {len(dtypes)} --input-dtype")
    return tuple(
        torch.zeros(shape, dtype=torch_dtype(d)) for shape, d in zip(options.input_shapes, dtypes, strict=True)
    )


def _examples_from_data(options: Any) -> tuple[Any, ...] | None:
    """One sample of each input array the user gave as data (shape and dtype), when nothing else says."""
    import torch

    if not options.data_shapes:
        return None
    return tuple(
        torch.zeros(shape, dtype=torch_dtype(dtype))
        for shape, dtype in zip(options.data_shapes, options.data_dtypes, strict=True)
    )


def _load_weights(module: Any, path: Path) -> None:
    import torch

    if not path.exists():
        raise UsageError(f"--weights {path}: no such file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UsageError(
            f"--weights {path}: the checkpoint holds Python objects that weights_only loading refuses "
            f"({short_message(exc)[:160]})",
            hint="re-save it with torch.save(model.state_dict(), path); edgex never unpickles arbitrary code",
        ) from None
    except Exception as exc:  # noqa: BLE001 - corrupt files raise assorted errors
        raise UsageError(f"--weights {path}: not a readable torch checkpoint ({short_message(exc)})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise UsageError(f"--weights {path}: expected a state_dict, found {type(state).__name__}")
    result = module.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise UsageError(
            f"--weights {path} does not fit the model: missing {list(result.missing_keys)[:4]}, "
            f"unexpected {list(result.unexpected_keys)[:4]}",
            hint="check that the factory builds the architecture the checkpoint was trained with",
        )


def _forward_names(module: Any, count: int) -> list[str]:
    try:
        parameters = [
            p.name
            for p in inspect.signature(module.forward).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        parameters = []
    names = parameters[:count] if len(parameters) >= count else []
    return names or [f"input_{i}" for i in range(count)]


def _from_factory(spec: str, options: Any) -> LoadedTorchModel:
    import torch

    from edgex.pyspec import load_object

    factory = load_object(spec, "model factory")
    if not callable(factory):
        raise UsageError(f"model factory '{spec}' is not callable")
    try:
        built = factory()
    except Exception as exc:  # noqa: BLE001 - user code
        raise UsageError(f"model factory '{spec}' raised {short_message(exc)}") from None
    examples = None
    if isinstance(built, tuple) and len(built) == 2 and isinstance(built[0], torch.nn.Module):
        built, examples = built
        examples = tuple(examples) if isinstance(examples, list | tuple) else (examples,)
    if not isinstance(built, torch.nn.Module):
        raise UsageError(
            f"model factory '{spec}' returned {type(built).__name__}",
            hint="return an nn.Module or a (module, example_inputs) pair",
        )
    if options.weights is not None:
        _load_weights(built, Path(options.weights))
    examples = _examples_from_options(options, f"model factory '{spec}'") or examples or _examples_from_data(options)
    if examples is None:
        raise UsageError(f"model factory '{spec}' gives no example inputs", hint="pass --input-shape, e.g. 1x3x224x224")
    if options.const_inputs:
        module, constants, names = bind_constants(built.eval(), options.const_inputs, f"factory '{spec}'")
        return LoadedTorchModel(module.eval(), examples, names[: len(examples)], constants=constants)
    return LoadedTorchModel(built.eval(), examples, _forward_names(built, len(examples)))


def _from_exported(path: Path, options: Any) -> LoadedTorchModel:
    import torch

    try:
        exported = torch.export.load(str(path))
    except Exception as exc:  # noqa: BLE001
        raise UsageError(f"model {path}: not a loadable torch.export .pt2 file ({short_message(exc)})") from None
    user_inputs = [s.arg.name for s in exported.graph_signature.input_specs if s.kind.name == "USER_INPUT"]
    placeholders = {n.name: n for n in exported.graph.nodes if n.op == "placeholder"}
    examples = _examples_from_options(options, f"model {path}")
    if examples is None and exported.example_inputs is not None:
        examples = tuple(exported.example_inputs[0])
    if examples is None:
        values = [placeholders[name].meta["val"] for name in user_inputs]
        examples = tuple(torch.zeros(tuple(int(d) for d in v.shape), dtype=v.dtype) for v in values)
    return LoadedTorchModel(exported.module(), examples, list(user_inputs), exported=exported)


def archive_metadata(path: Path) -> dict[str, Any]:
    """The edgex.json edgex stores in .ptl / TorchScript archives it writes (input names, shapes, dtypes)."""
    try:
        with zipfile.ZipFile(path) as archive:
            name = next((n for n in archive.namelist() if n.endswith(f"/extra/{METADATA_FILE}")), None)
            return json.loads(archive.read(name)) if name else {}
    except (zipfile.BadZipFile, json.JSONDecodeError, KeyError):
        return {}


def metadata_examples(meta: dict[str, Any]) -> tuple[list[str], tuple[Any, ...]] | None:
    import torch

    inputs = meta.get("inputs")
    if not inputs:
        return None
    names = [entry["name"] for entry in inputs]
    return names, tuple(torch.zeros(entry["shape"], dtype=torch_dtype(entry["dtype"])) for entry in inputs)


def _from_torchscript(path: Path, options: Any) -> LoadedTorchModel:
    import torch

    if not is_torchscript_archive(path):
        raise UsageError(
            f"model {path} is a checkpoint, not a TorchScript program",
            hint="give the model as file.py:factory and the checkpoint with --weights",
        )
    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # noqa: BLE001
        raise UsageError(f"model {path}: not a loadable TorchScript file ({short_message(exc)})") from None
    examples = _examples_from_options(options, f"model {path}")
    stored = metadata_examples(archive_metadata(path))
    bound, constants, arguments = bind_constants(module.eval(), options.const_inputs, str(path))
    if examples is None and stored is None:
        examples = _examples_from_data(options)
        stored = (arguments, examples) if examples is not None else None
    if examples is None:
        if stored is None:
            raise UsageError(f"TorchScript model {path} records no input shapes", hint="pass --input-shape")
        names, examples = stored
    elif stored and len(stored[0]) == len(examples):
        names = stored[0]
    elif constants and len(arguments) == len(examples):  # the data names the other arguments too
        names = arguments
    else:
        names = [f"input_{i}" for i in range(len(examples))]
    return LoadedTorchModel(bound.eval(), examples, names, constants=constants, program=module)


def is_torchscript_archive(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any("/code/" in name for name in archive.namelist())
    except zipfile.BadZipFile:
        return False


def load_torch_model(ref: Any) -> LoadedTorchModel:
    loaders = {
        "torch": lambda: _from_factory(ref.spec, ref.options),
        "torch-export": lambda: _from_exported(ref.path, ref.options),
        "torchscript": lambda: _from_torchscript(ref.path, ref.options),
    }
    model = loaders[ref.format]()
    check_examples(model, ref.spec)
    return model


def check_examples(model: LoadedTorchModel, where: str) -> None:
    """Run the examples once: a wrong --input-shape is bad input, reported before any conversion."""
    import torch

    try:
        with torch.no_grad():
            model.module(*model.examples)
    except Exception as exc:  # noqa: BLE001 - shape errors come as RuntimeError, ValueError, IndexError...
        shapes = ", ".join("x".join(map(str, e.shape)) for e in model.examples)
        raise UsageError(
            f"model {where} rejects inputs of shape {shapes}: {short_message(exc)[:240]}",
            hint="fix --input-shape / --input-dtype",
        ) from None


def outputs_dict(result: Any) -> dict[str, np.ndarray]:
    """Tensor -> output_0; tuple/list -> output_i; dict -> its keys; float16 outputs widened for comparison."""
    import torch

    if isinstance(result, dict):
        items = list(result.items())
    elif isinstance(result, list | tuple):
        items = [(f"output_{i}", value) for i, value in enumerate(result)]
    else:
        items = [("output_0", result)]
    converted = {}
    for name, value in items:
        if not isinstance(value, torch.Tensor):
            raise UsageError(f"output '{name}' is a {type(value).__name__}; edgex compares tensor outputs")
        array = value.detach().cpu().numpy()
        converted[str(name)] = array.astype(np.float32) if array.dtype == np.float16 else array
    return converted


def set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    with contextlib.suppress(RuntimeError):  # already set in this worker
        torch.set_num_interop_threads(1)
