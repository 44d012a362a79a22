"""Coral Edge TPU, a variant of the tflite format: full-int8 TFLite compiled by edgetpu_compiler (edgex/edgetpu/)."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path

from edgex.edgetpu.compiler import find_compiler
from edgex.edgetpu.options import EdgeTPUOptions
from edgex.errors import MissingDependencyError, UsageError
from edgex.exporters import ExportOptions
from edgex.registry import Registry
from edgex.targets import Target

IO_DTYPES = ("uint8", "int8")  # uint8 first: what Coral's examples and pycoral feed


def adjust_options(options: ExportOptions) -> ExportOptions:
    """Edge TPU models are batch 1, static, integer I/O; settings are checked before any conversion starts."""
    if options.batch_size is None:
        raise UsageError(
            "--to edgetpu needs static shapes: the Edge TPU compiler rejects dynamic-sized tensors",
            hint="drop --dynamic-batch",
        )
    if options.batch_size != 1:
        raise UsageError(
            f"--to edgetpu runs batch 1 (--batch-size {options.batch_size} gives 4-D tensors the Edge TPU cannot map)",
            hint="drop --batch-size",
        )
    io_dtype = options.io_dtype or IO_DTYPES[0]
    if io_dtype not in IO_DTYPES:
        raise UsageError(f"--io-dtype {io_dtype} is not valid for --to edgetpu", hint="choose uint8 or int8")
    settings = EdgeTPUOptions.from_mapping(options.target_options)
    # A wrong explicit path fails now, before converting; a compiler missing from PATH is reported after the int8
    # model is written and the pre-flight report is made.
    with contextlib.suppress(MissingDependencyError):
        find_compiler(settings.compiler_path)
    return replace(options, io_dtype=io_dtype, target_options={**options.target_options, **settings.to_mapping()})


def compiled_outputs(artifact: Path) -> list[Path]:
    """What edgetpu_compiler writes for one (unsegmented) model: x_int8.tflite -> x_int8_edgetpu.tflite + .log."""
    return [artifact.with_name(f"{artifact.stem}_edgetpu.tflite"), artifact.with_name(f"{artifact.stem}_edgetpu.log")]


def register(registry: Registry) -> None:
    registry.add_target(
        Target(
            name="edgetpu",
            format="tflite",
            description="Coral Edge TPU: full-int8 TFLite compiled with edgetpu_compiler",
            recipes=("int8",),
            default_recipe="int8",
            runtime="Coral USB Accelerator / Dev Board / M.2 (libedgetpu delegate); the int8 model runs on any LiteRT",
            constraints=(
                "int8 only, I/O uint8 (default) or int8, batch 1, static shapes",
                "compiling needs edgetpu_compiler (x86-64 Linux); without it: int8 model + pre-flight report, exit 4",
            ),
            aliases=("coral",),
            finalize="edgex.edgetpu.finalize:finalize",
            adjust_options=adjust_options,
            companion_outputs=compiled_outputs,
        )
    )
