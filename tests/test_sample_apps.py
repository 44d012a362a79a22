"""The sample apps run what `edgex build` shipped, as an app would: digit PNGs in, predictions out, checked against
the original Keras / PyTorch model on the same decoded pixels.

python_device/classify.py runs on the machine's LiteRT and ExecuTorch runtimes; web/ runs in real headless Chromium
on LiteRT.js (WASM), served from 127.0.0.1.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.build_helpers import (
    DIGIT_NAMES,
    IMAGE_COUNT,
    WEB_APP,
    ExampleBuild,
    browse,
    browser_missing,
    digit_images,
    example_build,
    reference_outputs,
    serve,
)
from tests.helpers import DEMO_KERAS, ROOT

CLASSIFY = ROOT / "sample_apps" / "python_device" / "classify.py"
TORCH_FACTORY = "edgex.demo.digits_torch:build"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> ExampleBuild:
    result = example_build(tmp_path_factory)
    assert result.first.returncode == 0, result.first.stdout + result.first.stderr
    return result


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """PNG digits, their decoded float pixels, labels, and both original models' outputs on those pixels."""
    folder = tmp_path_factory.mktemp("digit_pngs")
    paths, decoded, labels = digit_images(folder)
    return {
        "folder": folder,
        "paths": paths,
        "labels": labels,
        "keras": reference_outputs(str(DEMO_KERAS), {"image": decoded})["probs"],
        "torch": reference_outputs(TORCH_FACTORY, {"image": decoded})["output_0"],
    }


def classify(
    built: ExampleBuild, folder: Path, *args: str, manifest: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the device sample with -X importtime, so the test can see every module it imported."""
    manifest = manifest or built.out / "edgex-manifest.json"
    return subprocess.run(
        [sys.executable, "-X", "importtime", str(CLASSIFY), "--manifest", str(manifest), "--json", *args, str(folder)],
        capture_output=True, text=True, timeout=300,
    )


def imported_top_level(stderr: str) -> set[str]:
    """Top-level package names from `-X importtime` lines ('import time: self | cumulative | module')."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(a.argmax(axis=1) == b.argmax(axis=1)) * 100)


def scores_of(answer: dict[str, Any]) -> np.ndarray:
    return np.array([result["scores"] for result in answer["results"]], dtype=np.float32)


def output_scale(built: ExampleBuild, cell: str) -> float:
    return built.entry(cell)["outputs"][0]["quantization"]["scale"]


def test_device_sample_runs_the_tflite_without_tensorflow_or_torch(built: ExampleBuild, digits) -> None:
    result = classify(built, digits["folder"], "--model", "demo", "--target", "tflite-int8")
    assert result.returncode == 0, result.stderr[-3000:]
    modules = imported_top_level(result.stderr)
    assert "ai_edge_litert" in modules
    assert not modules & {"tensorflow", "torch", "keras", "executorch"}, modules & {"tensorflow", "torch", "keras"}
    answer = json.loads(result.stdout)
    assert answer["artifact"] == built.entry("demo/tflite-int8")["path"]
    assert answer["runtime"].startswith("ai-edge-litert") and answer["notes"] == []
    # Class names come from the .tflite's TFLite Metadata (zip-appended labels), not the manifest.
    assert answer["labels_from"] == "artifact"
    assert [r["label"] for r in answer["results"]] == [DIGIT_NAMES[r["top1"]] for r in answer["results"]]
    assert [r["image"] for r in answer["results"]] == [p.name for p in digits["paths"]]
    scores = scores_of(answer)
    assert scores.shape == (IMAGE_COUNT, 10)
    # The int8 cell passed parity at >= 98 % top-1 agreement; the app, doing its own preprocessing from the
    # manifest, must reproduce that on the PNGs, and its probabilities stay within a few output quantization steps.
    assert agreement(scores, digits["keras"]) >= 98.0
    assert np.abs(scores - digits["keras"]).max() < 8 * output_scale(built, "demo/tflite-int8")
    assert np.mean(scores.argmax(axis=1) == digits["labels"]) >= 0.95


def test_device_sample_runs_the_pte_on_the_executorch_runtime(built: ExampleBuild, digits, tmp_path) -> None:
    manifest = built.manifest  # without the class names: the app must read them from the .pte's constant method
    for entry in manifest["artifacts"]:
        entry.update(classes=None, labels_file=None, path=str(built.out / entry["path"]))
    bare = tmp_path / "edgex-manifest.json"
    bare.write_text(json.dumps(manifest))
    result = classify(built, digits["folder"], "--model", "demo-torch", manifest=bare)
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout)
    assert answer["artifact"] == str(built.out / built.entry("demo-torch/executorch-int8")["path"])
    assert answer["runtime"].startswith("executorch") and answer["labels_from"] == "artifact"
    assert [r["label"] for r in answer["results"]] == [DIGIT_NAMES[r["top1"]] for r in answer["results"]]
    assert "tensorflow" not in imported_top_level(result.stderr)
    scores = scores_of(answer)
    assert agreement(scores, digits["torch"]) >= 98.0
    assert np.abs(scores - digits["torch"]).max() < 0.1


def test_device_sample_falls_back_to_the_int8_model_without_an_edge_tpu(built: ExampleBuild, digits) -> None:
    """The edgetpu cell shipped no compiled model here (no compiler): the app runs its int8 model on the CPU."""
    result = classify(built, digits["folder"], "--model", "demo", "--target", "edgetpu")
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout)
    assert answer["artifact"] == built.entry("demo/edgetpu")["path"]
    assert agreement(scores_of(answer), digits["keras"]) >= 97.0


def test_device_sample_refuses_an_artifact_that_does_not_match_the_manifest(built: ExampleBuild, digits,
                                                                           tmp_path) -> None:
    manifest = built.manifest
    for entry in manifest["artifacts"]:
        entry["sha256"] = "0" * 64
        entry["path"] = str(built.out / entry["path"])
    stale = tmp_path / "edgex-manifest.json"
    stale.write_text(json.dumps(manifest))
    result = classify(built, digits["folder"], "--model", "demo", "--target", "tflite-int8", manifest=stale)
    assert result.returncode == 1 and result.stdout == ""
    assert "does not match the manifest's 000000000000" in result.stderr.splitlines()[-1]


@pytest.fixture(scope="module")
def site(built: ExampleBuild, digits, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What a web server would host: the sample page, its npm packages, the build output and the images."""
    reason = browser_missing()
    if reason:
        pytest.skip(f"browser tests need Chromium, node and the web sample's npm packages: {reason}")
    root = tmp_path_factory.mktemp("site")
    for name in ("index.html", "app.js", "node_modules"):
        (root / name).symlink_to(WEB_APP / name)
    (root / "dist").symlink_to(built.out)
    (root / "images").symlink_to(digits["folder"])
    return root


def test_web_sample_in_chromium_matches_the_reference(built: ExampleBuild, digits, site: Path, tmp_path) -> None:
    screenshot = tmp_path / "web.png"
    with serve(site) as base:
        answer = browse(
            f"{base}/index.html?model=demo&target=tflite-int8",
            until="document.body.dataset.status",
            evaluate="window.edgexResults || window.edgexError",
            screenshot=screenshot,
        )
    assert answer["state"] == "done", answer
    page = answer["value"]
    entry = built.entry("demo/tflite-int8")
    assert page["artifact"] == entry["path"] and page["sha256"] == entry["sha256"]
    assert [r["image"] for r in page["results"]] == [p.name for p in digits["paths"]]
    assert page["labelsFrom"] == "artifact"  # parsed from the zip appended to the .tflite, in JavaScript
    assert [r["label"] for r in page["results"]] == [DIGIT_NAMES[r["top1"]] for r in page["results"]]
    scores = scores_of(page)
    assert agreement(scores, digits["keras"]) >= 98.0
    assert np.abs(scores - digits["keras"]).max() < 8 * output_scale(built, "demo/tflite-int8")
    # Same .tflite, same uint8 input: LiteRT.js (WASM) and the Python LiteRT runtime agree to one quantization step.
    python = classify(built, digits["folder"], "--model", "demo", "--target", "tflite-int8")
    assert np.abs(scores - scores_of(json.loads(python.stdout))).max() <= output_scale(built, "demo/tflite-int8") * 1.01
    assert screenshot.stat().st_size > 10_000


def test_web_sample_says_what_is_wrong_with_a_manifest_it_cannot_run(site: Path) -> None:
    with serve(site) as base:
        answer = browse(
            f"{base}/index.html?model=demo-torch",  # only a .pte for this model: not runnable on LiteRT.js
            until="document.body.dataset.status",
            evaluate="document.getElementById('status').textContent",
        )
    assert answer["state"] == "error"
    assert answer["value"].startswith("error: no .tflite with float32/uint8 I/O for this model/target")
