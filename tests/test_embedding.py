"""Class names and preprocessing embedded in the artifacts (edgex/embedding.py) and read back from them.

One export per format on the demo models: the .tflite carries standard TFLite Metadata, read here with the
official flatc bindings of metadata_schema.fbs and zipfile (as the Task Library reads associated files), and
runs on LiteRT bit for bit like the same export without metadata; the .pte carries the constant method
`edgex_metadata`, the .onnx a metadata_props entry, the .ptl an extra file; `edgex inspect` shows what each
artifact holds.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from tests.helpers import DEMO_VAL, assert_one_line_error, in_worker, load_json, run_edgex

NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
FAST = ("--runs", "0", "--val-samples", "40")


def run_tflite(path: str, data: str) -> np.ndarray:
    """Worker side: the model's output on the demo validation images, one at a time as an app feeds them."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path)
    runner = interpreter.get_signature_runner()
    images = np.load(data)["image"][:40]
    return np.concatenate([next(iter(runner(image=image[None]).values())) for image in images])


def onnx_props(path: str) -> dict[str, str]:
    import onnx

    return {prop.key: prop.value for prop in onnx.load(path, load_external_data=False).metadata_props}


def inspect(path: Path) -> dict[str, Any]:
    result = run_edgex("inspect", path, "--json")
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def test_class_names_and_preprocessing_travel_inside_tflite_pte_and_onnx(tmp_path: Path) -> None:
    names = tmp_path / "names.txt"
    names.write_text("\n".join(NAMES) + "\n")
    embedded, plain, torch = tmp_path / "embedded", tmp_path / "plain", tmp_path / "torch"
    result = run_edgex("export", "demo", "--to", "tflite", "--to", "onnx", "--class-names", names, "--mean", "0.5",
                       "--std", "0.25", "--out", embedded, "--report-json", tmp_path / "embedded.json", *FAST)
    assert result.returncode == 0, result.stderr
    assert run_edgex("export", "demo", "--to", "tflite", "--out", plain, *FAST).returncode == 0
    result = run_edgex("export", "demo-torch", "--to", "executorch", "--to", "ptl", "--class-names", names,
                       "--out", torch, *FAST)
    assert result.returncode == 0, result.stderr
    rows = load_json(tmp_path / "embedded.json")["rows"]
    assert all(row["status"] == "passed" and any("embedded" in note for note in row["notes"]) for row in rows)

    # .tflite: the TFLITE_METADATA buffer through the official bindings, the labels through zipfile.
    tflite = embedded / "digits_fp32.tflite"
    assert zipfile.ZipFile(tflite).read("labels.txt").decode().splitlines() == list(NAMES)
    metadata = official_metadata(tflite)
    (subgraph,) = metadata.subgraphMetadata
    (image,) = subgraph.inputTensorMetadata
    (normalize,) = image.processUnits
    assert list(normalize.options.mean) == [127.5] and list(normalize.options.std) == [63.75]  # 0-255 pixels
    assert image.content.contentProperties.colorSpace == 2  # GRAYSCALE
    (labels,) = subgraph.outputTensorMetadata[0].associatedFiles
    assert (labels.name, labels.type) == (b"labels.txt", 2)  # TENSOR_AXIS_LABELS
    assert metadata.minParserVersion == b"1.0.0"
    # ... and it runs on LiteRT exactly like the same export without metadata.
    with_metadata = in_worker("litert", "tests.test_embedding:run_tflite", str(tflite), str(DEMO_VAL))
    without = in_worker("litert", "tests.test_embedding:run_tflite", str(plain / "digits_fp32.tflite"), str(DEMO_VAL))
    assert with_metadata.shape == (40, 10) and np.array_equal(with_metadata, without)

    shown = inspect(tflite)["embedded"]
    assert shown["class_names"] == list(NAMES) and shown["class_output"] == 0
    assert shown["normalization"] == {"mean": [127.5], "std": [63.75]}
    assert shown["preprocessing"] | {"formula": None} == {
        "input": "serving_default_image:0", "layout": "NHWC", "height": 8, "width": 8, "channels": 1,
        "color": "grayscale", "channel_order": None, "scale": 1 / 255, "mean": [0.5], "std": [0.25], "formula": None,
    }
    assert inspect(plain / "digits_fp32.tflite")["embedded"] is None

    # .pte: the constant method, read from the program's constant segment by `edgex inspect`.
    pte = inspect(next(torch.glob("*.pte")))
    assert pte["summary"]["methods"] == ["forward", "edgex_metadata"]
    assert pte["embedded"]["class_names"] == list(NAMES) and pte["embedded"]["schema"] == "edgex.metadata/1"
    assert pte["embedded"]["preprocessing"]["layout"] == "NHWC" and pte["embedded"]["preprocessing"]["mean"] == [0.0]

    # .ptl: an extra file of the TorchScript archive.
    with zipfile.ZipFile(next(torch.glob("*.ptl"))) as archive:
        (entry,) = [name for name in archive.namelist() if name.endswith("/extra/edgex_metadata.json")]
        assert json.loads(archive.read(entry))["class_names"] == list(NAMES)

    # .onnx: metadata_props.
    props = in_worker("onnx", "tests.test_embedding:onnx_props", str(embedded / "digits_fp32.onnx"))
    document = json.loads(props["edgex_metadata"])
    assert document["class_names"] == list(NAMES) and document["preprocessing"]["std"] == [0.25]


def test_class_names_that_do_not_fit_the_model_are_refused(tmp_path: Path) -> None:
    names = tmp_path / "names.txt"
    names.write_text("cat\ndog\n")
    result = run_edgex("export", "demo", "--to", "tflite", "--class-names", names, "--out", tmp_path / "out")
    assert_one_line_error(result, 2, "2 class names", "no output has 2 scores")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    result = run_edgex("export", "demo", "--class-names", tmp_path / "missing.txt", "--out", tmp_path / "out")
    assert result.returncode == 2 and "missing.txt" in result.stderr and "Traceback" not in result.stderr


def official_metadata(path: Path) -> Any:
    """ModelMetadataT through the flatc bindings of the official metadata_schema.fbs (tflite-support's copy)."""
    from ai_edge_litert import schema_py_generated as tfl

    from edgex._vendor import tflite_metadata_schema_py_generated as fb

    data = path.read_bytes()
    model = tfl.Model.GetRootAs(data, 0)
    entries = [model.Metadata(i) for i in range(model.MetadataLength())]
    entry = next(entry for entry in entries if entry.Name() == b"TFLITE_METADATA")
    buffer = model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
    assert fb.ModelMetadata.ModelMetadataBufferHasIdentifier(buffer, 0)
    return fb.ModelMetadataT.InitFromObj(fb.ModelMetadata.GetRootAs(buffer, 0))


def test_bgr_channel_order_reaches_the_data_and_the_embedded_contract() -> None:
    from edgex.data.images import ImagePreprocess
    from edgex.embedding import EmbeddedMetadata

    bgr = ImagePreprocess(scale=1.0, channel_order="bgr")
    pixels = np.arange(2 * 2 * 4, dtype=np.float32).reshape(2, 2, 4)  # RGBA as PIL decodes it
    assert np.array_equal(bgr.apply(pixels), pixels[..., [2, 1, 0, 3]])
    assert np.array_equal(ImagePreprocess(scale=1.0).apply(pixels), pixels)
    document = EmbeddedMetadata(("a", "b"), bgr).document("x", (1, 3, 16, 24))
    assert document["preprocessing"] | {"formula": None} == {
        "input": "x", "layout": "NCHW", "height": 16, "width": 24, "channels": 3, "color": "rgb",
        "channel_order": "bgr", "scale": 1.0, "mean": [0.0], "std": [1.0], "formula": None,
    }
    assert EmbeddedMetadata(("a",), bgr).document("x", (1, 40))["preprocessing"] is None  # not an image
