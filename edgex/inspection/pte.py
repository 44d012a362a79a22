"""Inspection of ExecuTorch .pte programs: methods, inputs/outputs, delegates, kernels left on the CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgex.errors import InternalError
from edgex.inspection import Inspection, TensorRow
from edgex.workers import Worker

READ_TIMEOUT_SECONDS = 300.0  # a damaged file must not hang `edgex inspect`


def read_program(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(program, its forward method, else its first): read in a throwaway process (see pte_reader's docstring)."""
    worker = Worker("pte-schema")
    try:
        program: dict[str, Any] = worker.call(
            "edgex.inspection.pte_reader:read_pte",
            str(path.resolve()),
            what=f"reading {path}",
            failure=InternalError,
            timeout=READ_TIMEOUT_SECONDS,
        )
    finally:
        worker.close()
    return program, forward_method(program)


def forward_method(program: dict[str, Any]) -> dict[str, Any]:
    """The program's forward method, else its first (read_pte refuses programs without methods)."""
    return next((m for m in program["methods"] if m["name"] == "forward"), program["methods"][0])


def inspect_pte(path: Path) -> Inspection:
    return summarize_pte(path, *read_program(path))


def summarize_pte(path: Path, program: dict[str, Any], forward: dict[str, Any]) -> Inspection:
    histogram = {f"{name} (delegate call)": count for name, count in forward["delegate_calls"].items()}
    histogram.update(sorted(forward["kernel_calls"].items(), key=lambda item: (-item[1], item[0])))
    summary = {
        "methods": [m["name"] for m in program["methods"]],
        "delegates": sorted(set(forward["delegates"])),
        "kernels outside delegates": sum(forward["kernel_calls"].values()),
        "segments": program["segments"],
        "schema version": program["schema_version"],
    }
    notes = [] if forward["delegates"] else ["no delegates: portable kernels only"]
    if forward["kernel_calls"]:
        notes.append("kernels outside delegates run on the portable CPU kernels: " + ", ".join(forward["kernel_calls"]))
    return Inspection(
        path=str(path),
        format="pte",
        size_bytes=0,
        sha256="",
        summary=summary,
        inputs=[_row(f"input_{i}", t) for i, t in enumerate(forward["inputs"])],
        outputs=[_row(f"output_{i}", t) for i, t in enumerate(forward["outputs"])],
        op_histogram=histogram,
        notes=notes,
        embedded=program.get("metadata"),
    )


def _row(name: str, tensor: dict[str, Any]) -> TensorRow:
    dtype = tensor.get("dtype") or tensor.get("kind", "-")  # a non-tensor value names its kind
    return TensorRow(name, tuple(int(d) for d in tensor.get("shape", [])), dtype)


def recipe_of(path: Path) -> str:
    """Quantized kernels visible outside delegates mean int8; inside an XNNPACK blob they are not visible, so
    fall back to the mode tag in edgex's artifact names, then to float32 (the strictest thresholds)."""
    program, _ = read_program(path)
    kernels = {name for method in program["methods"] for name in method["kernel_calls"]}
    if any(name.startswith("quantized_decomposed::quantize") for name in kernels):
        return "int8"
    from edgex.quantize.recipes import FLOAT, recipe_from_name

    tagged = recipe_from_name(path.stem)
    return tagged.name if tagged else FLOAT
