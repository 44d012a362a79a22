"""PyTorch model factories ('file.py:build', 'pkg.module:build'): reference runner in eager mode, no_grad."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgex.formats import Format
from edgex.pyspec import looks_like_pyspec
from edgex.registry import Registry
from edgex.sources import SourceRef
from edgex.sources.base import batched, concat_outputs
from edgex.specs import ModelSignature, RunnerInfo, TensorSpec


def _detect(spec: str) -> bool:
    return looks_like_pyspec(spec) and not Path(spec).exists()



def register(registry: Registry) -> None:
    registry.add_format(
        Format(
            name="torch",
            description="PyTorch factory 'file.py:function' or 'pkg.module:function' returning an nn.Module",
            worker="torch",
            loader="edgex.formats.torch_factory:load",
            extra="torch",
            module="torch",
            detect=_detect,
            distributions=("torch",),
        )
    )


STATEFUL_NOTE = (
    "the model keeps state between calls (the same input gave different outputs twice): parity compares the "
    "same sequence of calls on both sides, not independent samples"
)


class TorchRunner:
    """Runs a torch callable in eval mode without autograd; batches when the model allows, else per sample."""

    chunk_size = 64  # samples per call when running a whole data set

    def __init__(self, module: Any, examples: tuple[Any, ...], names: list[str], runtime: str) -> None:
        from edgex.sources.torch_common import dtype_name, outputs_dict

        self.module = module
        self.names = names
        self.dtypes = [e.dtype for e in examples]
        self._batch_ok: bool | None = None
        outputs = outputs_dict(self.invoke(tuple(examples)))
        again = outputs_dict(self.invoke(tuple(examples)))
        # a tolerance, so that run-to-run float noise of multithreaded kernels is not taken for state
        stateful = any(
            not np.allclose(outputs[name], again[name], rtol=1e-5, atol=1e-7, equal_nan=True) for name in outputs
        )
        inputs = tuple(
            TensorSpec(n, tuple(int(d) for d in e.shape), dtype_name(e.dtype))
            for n, e in zip(names, examples, strict=True)
        )
        output_specs = tuple(TensorSpec(n, tuple(v.shape), v.dtype.name) for n, v in outputs.items())
        notes = (STATEFUL_NOTE,) if stateful else ()
        self.info = RunnerInfo(ModelSignature(inputs, output_specs), runtime=runtime, notes=notes)

    def prepare(self, sample: dict[str, np.ndarray]) -> tuple[Any, ...]:
        import torch

        return tuple(
            torch.from_numpy(np.ascontiguousarray(sample[n])).to(d)
            for n, d in zip(self.names, self.dtypes, strict=True)
        )

    def invoke(self, prepared: tuple[Any, ...]) -> Any:
        import torch

        with torch.no_grad():
            return self.module(*prepared)

    def named_outputs(self, result: Any) -> dict[str, np.ndarray]:
        from edgex.sources.torch_common import outputs_dict

        return outputs_dict(result)

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from edgex.sources.torch_common import outputs_dict

        if self._batch_ok is not False:
            try:
                parts = [outputs_dict(self.invoke(self.prepare(c))) for _, _, c in batched(inputs, self.chunk_size)]
                self._batch_ok = True
                return concat_outputs(parts)
            except Exception:
                if self._batch_ok:
                    raise
                self._batch_ok = False
        return concat_outputs([outputs_dict(self.invoke(self.prepare(c))) for _, _, c in batched(inputs, 1)])


def runtime_label(kind: str) -> str:
    import torch

    return f"torch {torch.__version__.split('+')[0]} {kind}"


RUNTIME_KINDS = {"torch": "eager", "torch-export": "ExportedProgram", "torchscript": "TorchScript"}


def load(ref: SourceRef, threads: int) -> TorchRunner:
    """Loader of the factory, .pt2 and TorchScript formats (they differ only in how the module is obtained)."""
    from edgex.sources.torch_common import load_torch_model, set_threads

    set_threads(threads)
    model = load_torch_model(ref)
    return TorchRunner(model.module, model.examples, model.input_names, runtime_label(RUNTIME_KINDS[ref.format]))
