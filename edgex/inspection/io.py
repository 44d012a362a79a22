"""Artifact I/O as plain data (names, shapes as lists, dtypes, quantization) for manifests and the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgex.inspection.pte import read_program


def _quantization(quant: Any) -> dict[str, Any] | None:
    if quant is None:
        return None
    if quant.per_channel:
        return {"scales": list(quant.scales), "zero_points": list(quant.zero_points), "axis": quant.axis}
    return {"scale": quant.scales[0], "zero_point": quant.zero_points[0] if quant.zero_points else 0}


def _output_order(names: list[str]) -> list[str]:
    """Keras exports name outputs output_0, output_1, ...: order them numerically, as the runner does."""
    if names and all(n.startswith("output_") and n[7:].isdigit() for n in names):
        return sorted(names, key=lambda n: int(n[7:]))
    return names


def tflite_io(path: Path) -> dict[str, list[dict[str, Any]]]:
    from edgex.inspection.tflite import read_tflite

    model = read_tflite(path)

    def tensor(name: str, index: int) -> dict[str, Any]:
        t = model.tensors[index]
        return {
            "name": name,
            "shape": [None if d < 0 else d for d in t.shape_signature],
            "dtype": t.dtype,
            "quantization": _quantization(t.quant),
        }

    if model.signatures:
        signature = model.signatures.get("serving_default") or next(iter(model.signatures.values()))
        outputs = signature["outputs"]
        return {
            "inputs": [tensor(name, index) for name, index in signature["inputs"].items()],
            "outputs": [tensor(name, outputs[name]) for name in _output_order(list(outputs))],
        }
    return {
        "inputs": [tensor(model.tensors[i].name, i) for i in model.inputs],
        "outputs": [tensor(model.tensors[i].name, i) for i in model.outputs],
    }


def pte_io(path: Path) -> dict[str, list[dict[str, Any]]]:
    _, forward = read_program(path)

    def tensors(kind: str) -> list[dict[str, Any]]:
        return [
            {
                "name": f"{kind[:-1]}_{i}",
                "shape": t.get("shape", []),
                "dtype": t.get("dtype", "unknown"),
                "quantization": None,
            }
            for i, t in enumerate(forward[kind])
        ]

    return {"inputs": tensors("inputs"), "outputs": tensors("outputs")}
