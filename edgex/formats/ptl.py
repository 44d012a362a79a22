"""Legacy PyTorch-Mobile lite-interpreter programs (.ptl): runner on torch.jit.mobile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgex.errors import UsageError
from edgex.formats import Format
from edgex.formats.torch_factory import TorchRunner, runtime_label
from edgex.registry import Registry
from edgex.sources import SourceRef
from edgex.targets import Target
from edgex.workers import short_message


def _detect(spec: str) -> bool:
    return Path(spec).suffix.lower() == ".ptl"



def register(registry: Registry) -> None:
    registry.add_format(
        Format(
            name="ptl",
            description="PyTorch-Mobile lite-interpreter program (.ptl, legacy; ExecuTorch .pte is its successor)",
            worker="torch",
            loader="edgex.formats.ptl:load",
            extra="torch",
            module="torch",
            detect=_detect,
            extension=".ptl",
            deploy_only=True,
            distributions=("torch",),
        )
    )
    registry.add_target(
        Target(
            name="pytorch-lite",
            format="ptl",
            description="legacy PyTorch-Mobile lite-interpreter program (successor: executorch-xnnpack)",
            recipes=("none",),
            default_recipe="none",
            runtime="PyTorch Mobile lite interpreter (pytorch_android_lite, LibTorch-Lite)",
            constraints=("traced: data-dependent control flow is frozen to the example input",),
            aliases=("ptl", "pytorch-mobile"),
        )
    )


def _constant(value: Any, type_name: str) -> Any:
    import torch

    return value if type_name in ("int", "float", "bool") else torch.tensor(value, dtype=torch.float32)


def load(ref: SourceRef, threads: int) -> TorchRunner:
    import torch.jit.mobile

    from edgex.sources.torch_common import (
        _examples_from_options,
        _make_bound_module,
        archive_metadata,
        metadata_examples,
        set_threads,
    )

    set_threads(threads)
    try:
        module = torch.jit.mobile._load_for_lite_interpreter(str(ref.file))
    except Exception as exc:  # noqa: BLE001
        raise UsageError(f"model {ref.path}: not a loadable .ptl file ({short_message(exc)})") from None
    meta = archive_metadata(ref.file)
    stored = metadata_examples(meta)
    constants = meta.get("constants") or []
    if constants:  # a TorchScript program kept with its signature: feed its constant arguments as the source was
        count = len(constants) + len(meta["inputs"])
        values = {c["position"]: _constant(c["value"], c["type"]) for c in constants}
        module = _make_bound_module()(module, count, values)
    examples = _examples_from_options(ref.options, f"model {ref.path}")
    if examples is None:
        if stored is None:
            raise UsageError(f".ptl model {ref.path} records no input shapes", hint="pass --input-shape")
        names, examples = stored
    else:
        names = [f"input_{i}" for i in range(len(examples))]
    return TorchRunner(module, examples, names, runtime_label("lite interpreter"))
