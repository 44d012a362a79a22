"""ExecuTorch programs (.pte): runner on executorch.runtime (XNNPACK and portable kernels)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgex.errors import UsageError
from edgex.formats import Format
from edgex.inspection.pte_reader import SCALAR_TYPES
from edgex.registry import Registry
from edgex.sources import SourceRef
from edgex.sources.base import batched, concat_outputs
from edgex.specs import ModelSignature, RunnerInfo, TensorSpec
from edgex.targets import Target
from edgex.workers import short_message


def _detect(spec: str) -> bool:
    return Path(spec).suffix.lower() == ".pte"



def register(registry: Registry) -> None:
    registry.add_format(
        Format(
            name="pte",
            description="ExecuTorch program (.pte)",
            worker="executorch",
            loader="edgex.formats.pte:load",
            extra="torch",
            module="executorch",
            detect=_detect,
            extension=".pte",
            deploy_only=True,
            inspector="edgex.inspection.pte:inspect_pte",
            io_reader="edgex.inspection.io:pte_io",
            recipe_reader="edgex.inspection.pte:recipe_of",
            distributions=("executorch", "torch"),
        )
    )
    registry.add_target(
        Target(
            name="executorch-xnnpack",
            format="pte",
            description="ExecuTorch program lowered to XNNPACK (ARM/x86 CPUs)",
            recipes=("none", "fp16", "dynamic", "int8", "8da4w", "auto"),
            default_recipe="none",
            runtime="ExecuTorch runtime with the XNNPACK delegate (Android, iOS, Linux)",
            constraints=(
                "int8: PT2E static per-channel, calibration data required",
                "fp16 only when XNNPACK takes every node",
                "--min-delegated gates the delegated share",
            ),
            aliases=("executorch", "pte", "xnnpack"),
            name_tag="xnnpack",
            settings=(("backend", "xnnpack"),),
        )
    )
    registry.add_target(
        Target(
            name="executorch-portable",
            format="pte",
            description="ExecuTorch program on portable (reference C++) kernels, no delegate",
            recipes=("none", "int8"),
            default_recipe="none",
            runtime="ExecuTorch runtime, portable + quantized kernels (microcontrollers, any C++ toolchain)",
            constraints=(
                "int8: PT2E static per-channel, calibration data required",
                "int8 apps must link ExecuTorch's quantized kernels (quantized_ops_lib) next to the portable ones",
            ),
            aliases=("portable",),
            name_tag="portable",
            settings=(("backend", "portable"),),
        )
    )


class PteRunner:
    def __init__(self, path: Path, threads: int, method_name: str = "forward") -> None:
        from importlib.metadata import version

        import executorch.kernels.quantized  # noqa: F401 - quantized kernels, as an app links quantized_ops_lib
        from executorch.extension.pybindings import portable_lib
        from executorch.runtime import Runtime

        portable_lib._unsafe_reset_threadpool(threads)  # XNNPACK's threadpool, like torch.set_num_threads
        try:
            program = Runtime.get().load_program(str(path))
        except Exception as exc:  # noqa: BLE001
            raise UsageError(f"model {path}: not a loadable .pte file ({short_message(exc)})") from None
        if method_name not in program.method_names:
            raise UsageError(f"{path} has no method '{method_name}'", hint=f"methods: {sorted(program.method_names)}")
        self.method = program.load_method(method_name)
        meta = self.method.metadata
        inputs = tuple(self._spec(f"input_{i}", meta.input_tensor_meta(i)) for i in range(meta.num_inputs()))
        outputs = tuple(self._spec(f"output_{i}", meta.output_tensor_meta(i)) for i in range(meta.num_outputs()))
        self.inputs = inputs
        self.info = RunnerInfo(ModelSignature(inputs, outputs), runtime=f"executorch {version('executorch')} runtime")
        batch = inputs[0].shape[0] if inputs and inputs[0].shape else None  # .pte shapes are static
        self.batch_size = 1 if batch is None else batch

    @staticmethod
    def _spec(name: str, tensor: Any) -> TensorSpec:
        return TensorSpec(name, tuple(int(d) for d in tensor.sizes()), SCALAR_TYPES.get(int(tensor.dtype()), "float32"))

    def prepare(self, sample: dict[str, np.ndarray]) -> list[Any]:
        import torch

        return [torch.from_numpy(np.ascontiguousarray(sample[s.name]).astype(s.dtype)) for s in self.inputs]

    def invoke(self, prepared: list[Any]) -> Any:
        return self.method.execute(prepared)

    def named_outputs(self, outputs: Any) -> dict[str, np.ndarray]:
        return {f"output_{i}": _as_array(value) for i, value in enumerate(outputs)}

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        parts = []
        for start, stop, chunk in batched(inputs, self.batch_size):
            short = self.batch_size - (stop - start)
            if short:  # static batch: pad the last chunk, then drop the padding
                chunk = {n: np.concatenate([a, np.repeat(a[-1:], short, axis=0)]) for n, a in chunk.items()}
            outputs = self.invoke(self.prepare(chunk))
            arrays = {f"output_{i}": _as_array(value) for i, value in enumerate(outputs)}
            parts.append({n: v[: len(v) - short] for n, v in arrays.items()} if short else arrays)
        return concat_outputs(parts)


def _as_array(value: Any) -> np.ndarray:
    array = value.numpy() if hasattr(value, "numpy") else np.asarray(value)
    return array.astype(np.float32) if array.dtype == np.float16 else array


def load(ref: SourceRef, threads: int) -> PteRunner:
    return PteRunner(ref.file, threads)
