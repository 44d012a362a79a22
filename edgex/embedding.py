"""Class names and the preprocessing contract inside the artifact, so an app needs no sidecar file.

- `.tflite`: standard TFLite Metadata, what Android's Task Library and MediaPipe read: a `TFLITE_METADATA`
  buffer (ModelMetadata, from the official metadata_schema.fbs bindings vendored in edgex/_vendor) with
  ImageProperties and NormalizationOptions on the image input and `labels.txt` as a TENSOR_AXIS_LABELS file on
  the class output, plus `edgex_metadata.json`; both files are zip-appended to the model exactly as the
  metadata populator of tflite-support does (the flatbuffer is untouched by the archive, LiteRT ignores it).
- `.pte`: an ExecuTorch constant method `edgex_metadata` (written by the converter at lowering time) that returns
  the UTF-8 bytes of the JSON below as a uint8 tensor: constant methods cannot return strings.
- `.onnx`: the model's `metadata_props` entry `edgex_metadata`.
- `.ptl`: the archive's extra file `edgex_metadata.json` (zip entry `*/extra/edgex_metadata.json`).
The JSON, the same on every carrier: {"schema": "edgex.metadata/1", "class_names": [...], "preprocessing":
{"input", "layout", "height", "width", "channels", "color", "channel_order", "scale", "mean", "std", "formula"}
or null}.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgex.data.images import CHANNEL_COUNTS, ImagePreprocess
from edgex.errors import UsageError

SCHEMA = "edgex.metadata/1"
KEY = "edgex_metadata"  # the .pte constant method, the ONNX metadata_props key
JSON_FILE = "edgex_metadata.json"
LABELS_FILE = "labels.txt"
TFLITE_METADATA = "TFLITE_METADATA"
MIN_PARSER_VERSION = "1.0.0"  # every field written here exists since metadata schema 1.0.0
COLORS = {1: "grayscale", 3: "rgb", 4: "rgba"}
FORMULA = "x = (pixel * scale - mean) / std, per channel; then quantize with the input's scale/zero_point"


@dataclass(frozen=True)
class EmbeddedMetadata:
    """What `--class-names` and the preprocessing options put inside an artifact."""

    class_names: tuple[str, ...] = ()
    preprocessing: ImagePreprocess | None = None  # None: not given, nothing embedded about inputs

    def document(self, input_name: str, shape: tuple[int, ...]) -> dict[str, Any]:
        """The JSON document for an artifact whose first input is `input_name` of `shape`."""
        return {"schema": SCHEMA, "class_names": list(self.class_names), "preprocessing": self.image(input_name, shape)}

    def image(self, input_name: str, shape: tuple[int, ...]) -> dict[str, Any] | None:
        """The contract for an image input (rank 4 with 1, 3 or 4 channels); None for other inputs."""
        return None if self.preprocessing is None else image_contract(input_name, shape, self.preprocessing)


def image_contract(input_name: str, shape: tuple[int | None, ...], prep: ImagePreprocess) -> dict[str, Any] | None:
    """How an app turns pixels into an image input (rank 4 with 1, 3 or 4 channels): the document embedded in
    artifacts and the manifest's `preprocessing`; None for other inputs."""
    layout = image_layout(shape)
    if layout is None:
        return None
    name, height, width, channels = layout
    return {
        "input": input_name,
        "layout": name,
        "height": height,
        "width": width,
        "channels": channels,
        "color": COLORS[channels],
        "channel_order": prep.channel_order if channels >= 3 else None,
        "scale": prep.scale,
        "mean": list(prep.mean),
        "std": list(prep.std),
        "formula": FORMULA,
    }


def image_layout(shape: tuple[int | None, ...]) -> tuple[str, int | None, int | None, int] | None:
    """(layout, height, width, channels) of a 4-D image shape, NHWC when the last dim holds the channels."""
    if len(shape) != 4:
        return None
    _, d1, d2, d3 = shape
    if d3 in CHANNEL_COUNTS:
        return "NHWC", d1, d2, d3
    if d1 in CHANNEL_COUNTS:
        return "NCHW", d2, d3, d1
    return None


def read_class_names(path: Path) -> tuple[str, ...]:
    """One name per line (labels.txt); blank lines at the end are ignored."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"class names {path}: cannot read ({exc})", hint="one UTF-8 name per line") from None
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines or any(not line.strip() for line in lines):
        raise UsageError(f"class names {path}: empty or blank lines", hint="one non-empty name per line")
    return tuple(line.strip() for line in lines)


def check_class_count(class_names: tuple[str, ...], outputs: Sequence[tuple[str, tuple[int | None, ...]]]) -> int:
    """The index of the output the names label: the first whose last dimension has one score per name."""
    for index, (_, shape) in enumerate(outputs):
        if shape and shape[-1] == len(class_names):
            return index
    described = ", ".join(f"{name} {list(shape)}" for name, shape in outputs)
    raise UsageError(
        f"{len(class_names)} class names but no output has {len(class_names)} scores ({described})",
        hint="give one name per class, in the order of the class-score output",
    )


def embed(path: Path, artifact_format: str, metadata: EmbeddedMetadata | None) -> list[str]:
    """Embed into the finished artifact where the format carries it after conversion; returns report notes."""
    if metadata is None:
        return []
    if artifact_format == "tflite":
        embed_tflite(path, metadata)
        return [f"embedded TFLite Metadata: {len(metadata.class_names)} class names"]
    if artifact_format == "onnx":
        embed_onnx(path, metadata)
        return [f"embedded metadata_props '{KEY}': {len(metadata.class_names)} class names"]
    if artifact_format == "pte":
        return [f"embedded constant method '{KEY}': {len(metadata.class_names)} class names"]  # by the converter
    if artifact_format == "ptl":
        return [f"embedded extra file '{JSON_FILE}': {len(metadata.class_names)} class names"]  # by the converter
    return [f"class names and preprocessing are not embedded in .{artifact_format} artifacts; ship labels.txt"]


def _fb() -> Any:
    from edgex._vendor import tflite_metadata_schema_py_generated

    return tflite_metadata_schema_py_generated


def embed_tflite(path: Path, metadata: EmbeddedMetadata) -> None:
    """Write the TFLITE_METADATA buffer and the associated files, as tflite-support's MetadataPopulator does."""
    import flatbuffers

    from edgex.inspection.tflite import FILE_IDENTIFIER, read_tflite, schema

    data = path.read_bytes()
    parsed = read_tflite(path, data)
    inputs = [(parsed.tensors[i].name, parsed.tensors[i].shape) for i in parsed.inputs]
    outputs = [(parsed.tensors[i].name, parsed.tensors[i].shape) for i in parsed.outputs]
    document = metadata.document(*inputs[0])
    labelled = check_class_count(metadata.class_names, outputs) if metadata.class_names else None
    model_metadata = _model_metadata(path.stem, document, inputs, outputs, labelled)
    builder = flatbuffers.Builder(0)
    builder.Finish(model_metadata.Pack(builder), b"M001")
    tfl = schema()
    model = tfl.ModelT.InitFromObj(tfl.Model.GetRootAs(_flatbuffer_part(data), 0))
    buffer = tfl.BufferT()
    buffer.data = bytes(builder.Output())
    model.buffers = [*(model.buffers or []), buffer]
    model.metadata = [entry for entry in model.metadata or [] if entry.name.decode() != TFLITE_METADATA]
    entry = tfl.MetadataT()
    entry.name = TFLITE_METADATA
    entry.buffer = len(model.buffers) - 1
    model.metadata.append(entry)
    builder = flatbuffers.Builder(len(data) + 1024)
    builder.Finish(model.Pack(builder), FILE_IDENTIFIER)
    archive = io.BytesIO(bytes(builder.Output()))
    with zipfile.ZipFile(archive, "a") as files:  # stored, not deflated: apps read the bytes in place
        if metadata.class_names:
            files.writestr(_entry(LABELS_FILE), "\n".join(metadata.class_names) + "\n")
        files.writestr(_entry(JSON_FILE), json.dumps(document))
    path.write_bytes(archive.getvalue())


def _entry(name: str) -> zipfile.ZipInfo:
    """A fixed timestamp: the same export gives the same bytes (builds compare sha256s)."""
    return zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))


def _flatbuffer_part(data: bytes) -> bytes:
    """The model without zip-appended files of an earlier embedding (they would be appended twice)."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as files:
        start = min(info.header_offset for info in files.infolist())
    return data[:start]


def _model_metadata(
    name: str,
    document: dict[str, Any],
    inputs: list[tuple[str, tuple[int, ...]]],
    outputs: list[tuple[str, tuple[int, ...]]],
    labelled: int | None,
) -> Any:
    fb = _fb()
    image = document["preprocessing"]
    input_meta = [_tensor_metadata(tensor_name) for tensor_name, _ in inputs]
    if image is not None:
        first = input_meta[0]
        first.content = fb.ContentT()
        first.content.contentPropertiesType = fb.ContentProperties.ImageProperties
        first.content.contentProperties = fb.ImagePropertiesT()
        first.content.contentProperties.colorSpace = (  # the schema has no BGR: UNKNOWN rather than a wrong RGB
            fb.ColorSpaceType.GRAYSCALE
            if image["channels"] == 1
            else fb.ColorSpaceType.RGB
            if image["channel_order"] == "rgb"
            else fb.ColorSpaceType.UNKNOWN
        )
        # TFLite's normalization is (pixel - mean) / std on 0-255 pixels: edgex's scale folds into both.
        normalization = fb.NormalizationOptionsT()
        normalization.mean = [value / image["scale"] for value in image["mean"]]
        normalization.std = [value / image["scale"] for value in image["std"]]
        unit = fb.ProcessUnitT()
        unit.optionsType = fb.ProcessUnitOptions.NormalizationOptions
        unit.options = normalization
        first.processUnits = [unit]
    output_meta = [_tensor_metadata(tensor_name) for tensor_name, _ in outputs]
    if labelled is not None:
        labels = fb.AssociatedFileT()
        labels.name = LABELS_FILE
        labels.description = "class names, one per line, in score order"
        labels.type = fb.AssociatedFileType.TENSOR_AXIS_LABELS
        output_meta[labelled].associatedFiles = [labels]
    subgraph = fb.SubGraphMetadataT()
    subgraph.inputTensorMetadata = input_meta
    subgraph.outputTensorMetadata = output_meta
    contract = fb.AssociatedFileT()
    contract.name = JSON_FILE
    contract.description = f"{SCHEMA}: class names and preprocessing (see edgex docs)"
    contract.type = fb.AssociatedFileType.DESCRIPTIONS
    model_metadata = fb.ModelMetadataT()
    model_metadata.name = name
    model_metadata.description = "exported by edgex"
    model_metadata.subgraphMetadata = [subgraph]
    model_metadata.associatedFiles = [contract]
    model_metadata.minParserVersion = MIN_PARSER_VERSION
    return model_metadata


def _tensor_metadata(name: str) -> Any:
    tensor = _fb().TensorMetadataT()
    tensor.name = name
    return tensor


def read_tflite_metadata(data: bytes, metadata_buffer: bytes | None) -> dict[str, Any] | None:
    """Class names and preprocessing from a .tflite's TFLITE_METADATA buffer and its zip-appended files."""
    if metadata_buffer is None:
        return None
    try:
        return _read_tflite_metadata(data, metadata_buffer)
    except Exception as exc:  # noqa: BLE001 - a damaged buffer or archive raises assorted errors
        return {"carrier": TFLITE_METADATA, "error": f"unreadable ({type(exc).__name__}: {exc})"}


def _read_tflite_metadata(data: bytes, metadata_buffer: bytes) -> dict[str, Any]:
    fb = _fb()
    root = fb.ModelMetadataT.InitFromObj(fb.ModelMetadata.GetRootAs(metadata_buffer, 0))
    files = _appended_files(data)
    version = (root.minParserVersion or b"?").decode()
    found: dict[str, Any] = {"carrier": f"{TFLITE_METADATA} (TFLite Metadata {version})"}
    subgraph = (root.subgraphMetadata or [None])[0]
    for index, tensor in enumerate(subgraph.outputTensorMetadata or [] if subgraph else []):
        for file in tensor.associatedFiles or []:
            if file.type == fb.AssociatedFileType.TENSOR_AXIS_LABELS and file.name.decode() in files:
                found["class_names"] = files[file.name.decode()].decode().splitlines()
                found["class_output"] = index
    first = (subgraph.inputTensorMetadata or [None])[0] if subgraph else None
    for unit in first.processUnits or [] if first else []:
        if unit.optionsType == fb.ProcessUnitOptions.NormalizationOptions:
            options = unit.options
            found["normalization"] = {"mean": [float(v) for v in options.mean], "std": [float(v) for v in options.std]}
    if JSON_FILE in files:
        found["preprocessing"] = json.loads(files[JSON_FILE])["preprocessing"]
    return found


def _appended_files(data: bytes) -> dict[str, bytes]:
    archive = io.BytesIO(data)
    if not zipfile.is_zipfile(archive):
        return {}
    with zipfile.ZipFile(archive) as files:
        return {info.filename: files.read(info) for info in files.infolist()}


def embed_onnx(path: Path, metadata: EmbeddedMetadata) -> None:
    """metadata_props['edgex_metadata'] = the JSON; external weight files are left where they are."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    graph_inputs = {init.name for init in model.graph.initializer}
    first = next(i for i in model.graph.input if i.name not in graph_inputs)
    shape = tuple(d.dim_value or 0 for d in first.type.tensor_type.shape.dim)
    outputs = [(o.name, tuple(d.dim_value or 0 for d in o.type.tensor_type.shape.dim)) for o in model.graph.output]
    if metadata.class_names:
        check_class_count(metadata.class_names, outputs)
    document = metadata.document(first.name, shape)
    props = [prop for prop in model.metadata_props if prop.key != KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(props)
    model.metadata_props.add(key=KEY, value=json.dumps(document))
    onnx.save(model, str(path))


def constant_method(metadata: EmbeddedMetadata, input_name: str, shape: tuple[int, ...]) -> dict[str, Any]:
    """ExecuTorch `constant_methods` entry: the JSON's UTF-8 bytes as a uint8 tensor (worker side, torch loaded)."""
    import torch

    encoded = json.dumps(metadata.document(input_name, shape)).encode()
    return {KEY: torch.frombuffer(bytearray(encoded), dtype=torch.uint8)}
