"""dist/edgex-manifest.json: valid against its JSON Schema, and every figure in it true of the files it lists."""

from __future__ import annotations

import copy
import hashlib

import jsonschema
import numpy as np
import pytest

from edgex.build.manifest import schema
from tests.build_helpers import DIGIT_NAMES, ExampleBuild, example_build


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> ExampleBuild:
    result = example_build(tmp_path_factory)
    assert result.first.returncode == 0, result.first.stdout + result.first.stderr
    return result


def test_manifest_validates_against_the_shipped_schema(built: ExampleBuild) -> None:
    validator = jsonschema.Draft202012Validator(schema())
    validator.check_schema(schema())
    manifest = built.manifest
    errors = sorted(validator.iter_errors(manifest), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]
    assert [entry["cell"] for entry in manifest["artifacts"]] == [
        "demo/tflite-int8",
        "demo/executorch-int8",
        "demo/edgetpu",
        "demo-torch/executorch-int8",
        "demo-torch/tflite-int8-int8io",
    ]


def test_schema_rejects_broken_manifests(built: ExampleBuild) -> None:
    validator = jsonschema.Draft202012Validator(schema())
    for breaking in (
        lambda m: m["artifacts"][0].pop("sha256"),
        lambda m: m["artifacts"][0].update(sha256="not-a-hash"),
        lambda m: m["artifacts"][0]["inputs"][0].update(quantization={"scale": 0.1}),
        lambda m: m["artifacts"][0].update(verdict="maybe"),
        lambda m: m["artifacts"][0]["preprocessing"].update(layout="HWC"),
    ):
        broken = copy.deepcopy(built.manifest)
        breaking(broken)
        assert list(validator.iter_errors(broken)), breaking


def test_entries_describe_the_files_on_disk(built: ExampleBuild) -> None:
    for entry in built.manifest["artifacts"]:
        path = built.out / entry["path"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
        assert path.stat().st_size == entry["size_bytes"]
        assert entry["versions"]["edgex"] == built.manifest["edgex"]
        assert (built.out / entry["labels_file"]).read_text().split() == list(DIGIT_NAMES)
        assert entry["classes"] == list(DIGIT_NAMES)
        assert entry["deterministic"] in (True, False)  # measured by the first build (--check-determinism)


def test_tflite_entry_has_the_io_quantization_apps_need(built: ExampleBuild) -> None:
    entry = built.entry("demo/tflite-int8")
    assert entry["format"] == "tflite" and entry["quantization"] == "int8" and entry["target"] == "tflite"
    (image,) = entry["inputs"]
    assert image["name"] == "image" and image["shape"] == [1, 8, 8, 1] and image["dtype"] == "uint8"
    assert image["quantization"]["zero_point"] == 0
    assert np.isclose(image["quantization"]["scale"], 1 / 255, rtol=1e-6)  # uint8 input == the raw pixel
    (probs,) = entry["outputs"]
    assert probs["shape"] == [1, 10] and probs["dtype"] == "uint8" and probs["quantization"]["scale"] > 0
    assert entry["preprocessing"] == {
        "input": "image",
        "layout": "NHWC",
        "height": 8,
        "width": 8,
        "channels": 1,
        "color": "grayscale",
        "channel_order": None,
        "scale": 1 / 255,
        "mean": [0.0],
        "std": [1.0],
        "formula": entry["preprocessing"]["formula"],
    }
    assert entry["verdict"] == "pass" and entry["status"] == "passed" and entry["error"] is None
    metrics = entry["parity"]["metrics"]
    report_row = next(c for c in built.report["cells"] if c["id"] == "demo/tflite-int8")["report"]["rows"][0]
    assert metrics["top1_agreement"] == report_row["parity"]["outputs"][0]["top1_agreement"] >= 98.0
    assert metrics["exported_accuracy"] > 95.0 and metrics["latency_median_ms"] > 0
    assert entry["parity"]["thresholds"]["min_top1_agreement"] == 98.0  # the config's override
    assert entry["versions"]["tensorflow"] == "2.21.0"


def test_pte_and_failed_edgetpu_entries(built: ExampleBuild) -> None:
    pte = built.entry("demo-torch/executorch-int8")
    assert pte["format"] == "pte" and pte["target"] == "executorch-xnnpack" and pte["io_source"] == "artifact"
    assert pte["inputs"] == [{"name": "input_0", "shape": [1, 8, 8, 1], "dtype": "float32", "quantization": None}]
    assert pte["outputs"][0]["shape"] == [1, 10] and pte["preprocessing"]["layout"] == "NHWC"
    assert pte["verdict"] == "pass" and pte["versions"]["torch"].startswith("2.13.0")
    edgetpu = built.entry("demo/edgetpu")
    assert edgetpu["status"] == "export_failed" and edgetpu["verdict"] == "fail"
    assert "edgetpu_compiler" in edgetpu["error"]
    assert edgetpu["inputs"][0]["dtype"] == "uint8"  # the Edge TPU target's default I/O
    assert edgetpu["parity"]["metrics"]["top1_agreement"] >= 97.0  # parity ran on the int8 model, on the CPU
