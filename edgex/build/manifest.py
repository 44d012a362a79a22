"""`dist/edgex-manifest.json`: what an app needs to ship and feed each artifact, read from the files themselves.

Per artifact: path (relative to the manifest), sha256, size, target, format, quantization, input/output names,
shapes, dtypes and quantization parameters (read from the flatbuffer, no framework), preprocessing and layout,
class names, the parity verdict with its key figures, and the versions that built it. The JSON Schema is
edgex/schemas/manifest.schema.json.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from edgex.embedding import image_contract
from edgex.parity.compare import ParityResult
from edgex.registry import get_registry
from edgex.report.serialize import from_jsonable, to_jsonable
from edgex.results import RunReport
from edgex.workers import import_target

SCHEMA = "edgex.manifest/1"
MANIFEST_NAME = "edgex-manifest.json"
LABELS_NAME = "labels.txt"
VERDICTS = {"passed": "pass", "exported": "unvalidated", "parity_failed": "fail", "export_failed": "fail"}
KEY_METRICS = (
    "top1_agreement",
    "reference_accuracy",
    "exported_accuracy",
    "top1_drop",
    "cosine",
    "snr_db",
    "max_abs_error",
    "mean_abs_error",
)


def schema() -> dict[str, Any]:
    """The manifest's JSON Schema, shipped as package data."""
    text = resources.files("edgex.schemas").joinpath("manifest.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def describe_io(path: Path, artifact_format: str, report: RunReport) -> dict[str, Any]:
    """The artifact's own I/O when edgex can read its format; else the source model's signature, labelled so."""
    reader = get_registry().format(artifact_format).io_reader
    if reader is not None:
        read_io: Callable[[Path], dict[str, list[dict[str, Any]]]] = import_target(reader)
        return {**read_io(path), "io_source": "artifact"}
    signature = report.source.signature
    specs = {"inputs": signature.inputs if signature else (), "outputs": signature.outputs if signature else ()}
    io = {
        kind: [
            {
                "name": spec.name,
                "shape": list(spec.shape),
                "dtype": spec.dtype,
                "quantization": (
                    {"scale": spec.quant.scale, "zero_point": spec.quant.zero_point} if spec.quant else None
                ),
            }
            for spec in values
        ]
        for kind, values in specs.items()
    }
    return {**io, "io_source": "source model"}


def describe_artifacts(report: RunReport, cell_dir: Path) -> list[dict[str, Any]]:
    """Every file a cell wrote (main and extra artifacts), with the row it belongs to and its I/O."""
    from edgex.edgetpu.runtime import is_compiled

    described = []
    for index, row in enumerate(report.rows):
        for artifact in [row.artifact, *row.extra_artifacts] if row.artifact else []:
            path = Path(artifact.path)
            described.append(
                {
                    "file": str(path.relative_to(cell_dir)) if path.is_relative_to(cell_dir) else path.name,
                    "row": index,
                    "format": artifact.format,
                    "size_bytes": artifact.size_bytes,
                    "sha256": artifact.sha256,
                    "accelerator": "edgetpu" if artifact.format == "tflite" and is_compiled(path) else None,
                    **describe_io(path, artifact.format, report),
                }
            )
    return described


def preprocessing(model: Any, inputs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """How an app turns pixels into the first input, when that input is an image (rank 4 with 1, 3 or 4 channels)."""
    if not inputs:
        return None
    return image_contract(inputs[0]["name"], tuple(inputs[0]["shape"]), model.preprocessing)


def parity_summary(row: dict[str, Any]) -> dict[str, Any] | None:
    parity = row.get("parity")
    if not parity:
        return None
    headline = from_jsonable(ParityResult, parity).headline()  # the one headline pick of every writer
    head = to_jsonable(headline) if headline else {}
    latency = parity.get("exported_latency") or {}
    reference_latency = parity.get("reference_latency") or {}
    return {
        "samples": parity["samples"],
        "runtime": row.get("runtime"),
        "output": head.get("output"),
        "metrics": {
            **{key: head.get(key) for key in KEY_METRICS},
            "latency_median_ms": latency.get("median_ms"),
            "reference_latency_median_ms": reference_latency.get("median_ms"),
            "latency_ratio": parity.get("latency_ratio"),
        },
        "thresholds": {k: v for k, v in parity["thresholds"].items() if v is not None},
        "failed_checks": [
            {key: check[key] for key in ("name", "output", "value", "threshold", "comparison")}
            for check in [*row.get("checks", []), *parity["checks"]]
            if not check["passed"]
        ],
    }


def artifact_entries(state: dict[str, Any], model: Any, cell_dir: Path, out: Path) -> list[dict[str, Any]]:
    """Manifest entries of one cell, from its cached state (see edgex.build.runner)."""
    outcome = state["outcome"]
    report = outcome["report"]
    versions = report["versions"]
    determinism = outcome.get("determinism") or {}
    labels = out / model.id / LABELS_NAME if model.class_names else None
    entries = []
    for artifact in outcome["artifacts"]:
        row = report["rows"][artifact["row"]]
        pair = (determinism.get("artifacts") or {}).get(artifact["file"])
        entries.append(
            {
                "path": (cell_dir / artifact["file"]).relative_to(out).as_posix(),
                "sha256": artifact["sha256"],
                "size_bytes": artifact["size_bytes"],
                "model": model.id,
                "cell": outcome["cell"],
                "target": row["target"],
                "format": artifact["format"],
                "quantization": row["mode"],
                "accelerator": artifact["accelerator"],
                "inputs": artifact["inputs"],
                "outputs": artifact["outputs"],
                "io_source": artifact["io_source"],
                "preprocessing": preprocessing(model, artifact["inputs"]),
                "labels_file": labels.relative_to(out).as_posix() if labels else None,
                "classes": list(model.class_names) or None,
                "status": row["status"],
                "verdict": VERDICTS[row["status"]],
                "error": row.get("error"),
                "parity": parity_summary(row),
                "deterministic": None if pair is None else pair["first"] == pair["second"],
                "input_fingerprint": state["fingerprint"]["digest"],
                "versions": versions,
            }
        )
    return entries
