"""edgex plugin: ONNX Runtime's .ort format, what onnxruntime-mobile loads (smaller runtime, no ONNX parser).

The whole plugin is this module: one `register(registry)` hook adds the format (detection, runner, extension), a
converter from ONNX (onnxruntime saves the optimized graph in ORT format) and a deployment target. Routes from every
source that reaches ONNX (Keras, SavedModel, PyTorch) then lead to .ort, validated against the original model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgex.exporters import ConversionOutcome, ConversionRequest, Converter
from edgex.formats import Format
from edgex.registry import Registry
from edgex.sources import SourceRef
from edgex.targets import Target


def _detect(spec: str) -> bool:
    return Path(spec).suffix.lower() == ".ort"


def register(registry: Registry) -> None:
    registry.add_format(
        Format(
            name="ort",
            description="ONNX Runtime format (.ort) for onnxruntime-mobile",
            worker="onnx",
            loader="edgex_ort:load",
            extra="onnx",
            module="onnxruntime",
            detect=_detect,
            extension=".ort",
            deploy_only=True,
            distributions=("onnxruntime",),
        )
    )
    registry.add_converter(
        Converter(
            name="onnx2ort",
            sources=("onnx",),
            produces="ort",
            worker="onnx",
            function="edgex_ort:convert",
            extra="onnx",
            module="onnxruntime",
            recipes=("none",),
            description="onnxruntime session saved in ORT format (basic graph optimizations, portable)",
        )
    )
    registry.add_target(
        Target(
            name="ort",
            format="ort",
            description="ONNX Runtime format for onnxruntime-mobile",
            recipes=("none",),
            default_recipe="none",
            runtime="onnxruntime-mobile (Android AAR, iOS pod) or full onnxruntime",
        )
    )


def convert(request: ConversionRequest) -> ConversionOutcome:
    import onnxruntime as ort

    options = ort.SessionOptions()
    # Basic optimizations only: extended ones fuse into kernels a mobile build may not include.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(request.output)
    options.add_session_config_entry("session.save_model_format", "ORT")
    ort.InferenceSession(str(request.source.path), options, providers=["CPUExecutionProvider"])
    return ConversionOutcome(notes=[f"onnxruntime {ort.__version__}, ORT format"])


def load(ref: SourceRef, threads: int) -> Any:
    from edgex.formats.onnx import OnnxRunner

    return OnnxRunner(ref.path, threads)
