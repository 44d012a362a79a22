"""Classify images on a board (Raspberry Pi, Coral Dev Board, any Linux) with an artifact that `edgex build` made.

Everything about the model comes from edgex-manifest.json: which file (checked against its sha256), the input's
layout, size and colour, the preprocessing (x = (pixel * scale - mean) / std), the I/O quantization and the
class names. Nothing from the build machine is needed besides the manifest and the files it lists. The class
names are read from the artifact itself when edgex embedded them (a .tflite's zip-appended labels, a .pte's
`edgex_metadata` constant method); the manifest's list is the fallback.

  .tflite  ai-edge-litert (pip install ai-edge-litert) or tflite-runtime; no TensorFlow, no torch. A model
           compiled for the Edge TPU runs through the libedgetpu delegate when the runtime and a Coral device
           are present, else the cell's int8 model runs on the CPU and the output says so.
  .pte     the ExecuTorch runtime (pip install executorch; its Python bindings use torch tensors).

  python classify.py --manifest dist/build/edgex-manifest.json --model demo --target tflite-int8 digits/*.png
  python classify.py --manifest dist/build/edgex-manifest.json --model demo-torch --json images/
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

EDGETPU_LIBRARY = "libedgetpu.so.1"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
PIL_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}


def load_manifest(path: Path) -> dict[str, Any]:
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("schema") != "edgex.manifest/1":
        raise SystemExit(f"{path}: not an edgex manifest (schema {manifest.get('schema')!r})")
    return manifest


def candidates(manifest: dict[str, Any], model: str | None, target: str | None) -> list[dict[str, Any]]:
    """Manifest entries for this model and target entry that this program can run, best verdict first."""
    chosen = [
        entry
        for entry in manifest["artifacts"]
        if entry["format"] in ("tflite", "pte")
        and (model is None or entry["model"] == model)
        and (target is None or entry["cell"].split("/", 1)[1] == target)
    ]
    return sorted(chosen, key=lambda entry: entry["verdict"] != "pass")


def verify(entry: dict[str, Any], root: Path) -> Path:
    """The artifact's path, after checking its bytes against the manifest (an app must not run a stale file)."""
    path = root / entry["path"]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != entry["sha256"]:
        raise SystemExit(f"{path}: sha256 {digest[:12]} does not match the manifest's {entry['sha256'][:12]}")
    return path


def preprocess(image_path: Path, prep: dict[str, Any]) -> np.ndarray:
    """One image as a float batch of 1, laid out as the model wants it."""
    with Image.open(image_path) as image:
        image = image.convert(PIL_MODES[prep["color"]]).resize((prep["width"], prep["height"]))
        pixels = np.asarray(image, dtype=np.float32)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if prep.get("channel_order") == "bgr":  # models trained on OpenCV images
        pixels = np.concatenate([pixels[..., 2::-1], pixels[..., 3:]], axis=-1)
    mean = np.asarray(prep["mean"], dtype=np.float32)
    std = np.asarray(prep["std"], dtype=np.float32)
    real = (pixels * np.float32(prep["scale"]) - mean) / std
    if prep["layout"] == "NCHW":
        real = real.transpose(2, 0, 1)
    return real[None]


def quantize(real: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """Float -> the input's dtype with its scale and zero point (or a plain cast for float inputs)."""
    quant = spec["quantization"]
    if quant is None:
        return real.astype(spec["dtype"])
    info = np.iinfo(np.dtype(spec["dtype"]))
    scaled = np.round(real.astype(np.float64) / quant["scale"]) + quant["zero_point"]
    return np.clip(scaled, info.min, info.max).astype(spec["dtype"])


def dequantize(values: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    quant = spec["quantization"]
    if quant is None:
        return values.astype(np.float32)
    return ((values.astype(np.float64) - quant["zero_point"]) * quant["scale"]).astype(np.float32)


def tflite_interpreter() -> tuple[Any, Any, str]:
    """(Interpreter, load_delegate, label): ai-edge-litert, else tflite-runtime. Never TensorFlow."""
    try:
        from importlib.metadata import version

        from ai_edge_litert.interpreter import Interpreter, load_delegate

        return Interpreter, load_delegate, f"ai-edge-litert {version('ai-edge-litert')}"
    except ImportError:
        pass
    try:
        from tflite_runtime import __version__ as runtime_version
        from tflite_runtime.interpreter import Interpreter, load_delegate

        return Interpreter, load_delegate, f"tflite-runtime {runtime_version}"
    except ImportError:
        raise SystemExit("no LiteRT interpreter: pip install ai-edge-litert (or tflite-runtime)") from None


def tflite_class_names(path: Path) -> list[str] | None:
    """The names edgex embedded: TFLite Metadata's associated files are a zip appended to the flatbuffer."""
    if not zipfile.is_zipfile(path):
        return None
    with zipfile.ZipFile(path) as files:
        names = files.namelist()
        if "edgex_metadata.json" in names:
            return json.loads(files.read("edgex_metadata.json"))["class_names"] or None
        return files.read("labels.txt").decode().splitlines() if "labels.txt" in names else None


class TFLiteClassifier:
    def __init__(self, path: Path, entry: dict[str, Any], threads: int, delegates: list[Any], label: str) -> None:
        interpreter_type, _, runtime = tflite_interpreter()
        self.interpreter = interpreter_type(
            model_path=str(path), num_threads=threads, experimental_delegates=delegates or None
        )
        self.entry = entry
        self.runtime = f"{runtime} ({label})"
        self.class_names = tflite_class_names(path)
        signatures = self.interpreter.get_signature_list()
        self.runner = self.interpreter.get_signature_runner(next(iter(signatures))) if signatures else None
        if self.runner is None:
            self.interpreter.allocate_tensors()

    def scores(self, real: np.ndarray) -> np.ndarray:
        spec, output = self.entry["inputs"][0], self.entry["outputs"][0]
        feed = quantize(real, spec)
        if self.runner is not None:
            raw = self.runner(**{spec["name"]: feed})[output["name"]]
        else:
            self.interpreter.set_tensor(self.interpreter.get_input_details()[0]["index"], feed)
            self.interpreter.invoke()
            raw = self.interpreter.get_tensor(self.interpreter.get_output_details()[0]["index"])
        return dequantize(np.asarray(raw), output)[0]


class PteClassifier:
    def __init__(self, path: Path, entry: dict[str, Any]) -> None:
        from importlib.metadata import version

        from executorch.runtime import Runtime

        program = Runtime.get().load_program(str(path))
        self.method = program.load_method("forward")
        self.entry = entry
        self.class_names = None
        if "edgex_metadata" in program.method_names:  # a constant method: UTF-8 JSON as a uint8 tensor
            encoded = program.load_method("edgex_metadata").execute([])[0]
            self.class_names = json.loads(bytes(encoded.numpy().tobytes()).decode())["class_names"] or None
        self.runtime = f"executorch {version('executorch')} runtime"

    def scores(self, real: np.ndarray) -> np.ndarray:
        import torch  # the ExecuTorch Python bindings take and return torch tensors

        feed = torch.from_numpy(np.ascontiguousarray(quantize(real, self.entry["inputs"][0])))
        output = self.method.execute([feed])[0]
        return dequantize(output.numpy(), self.entry["outputs"][0])[0]


def edgetpu_delegate(load_delegate: Any) -> tuple[list[Any], str | None]:
    """The Edge TPU delegate, or why it is not available."""
    try:
        return [load_delegate(EDGETPU_LIBRARY)], None
    except (ValueError, OSError, RuntimeError) as exc:
        return [], f"Edge TPU delegate unavailable ({exc})"


def open_classifier(entries: list[dict[str, Any]], root: Path, threads: int) -> tuple[Any, list[str]]:
    """A compiled Edge TPU model when its delegate loads; else the first model that runs on the CPU."""
    notes: list[str] = []
    compiled = [e for e in entries if e["accelerator"] == "edgetpu"]
    if compiled:
        _, load_delegate, _ = tflite_interpreter()
        delegates, problem = edgetpu_delegate(load_delegate)
        if delegates:
            entry = compiled[0]
            return TFLiteClassifier(verify(entry, root), entry, threads, delegates, "Edge TPU"), notes
        notes.append(f"{problem}: running the int8 model on the CPU instead of {compiled[0]['path']}")
    cpu = [e for e in entries if e["accelerator"] is None and e["preprocessing"]]
    if not cpu:
        raise SystemExit("no runnable image model for this model/target in the manifest")
    entry = cpu[0]
    if entry["format"] == "pte":
        return PteClassifier(verify(entry, root), entry), notes
    return TFLiteClassifier(verify(entry, root), entry, threads, [], "CPU"), notes


def image_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files.append(path)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="+", type=Path, help="image files or folders")
    parser.add_argument("--manifest", type=Path, required=True, help="edgex-manifest.json from edgex build")
    parser.add_argument("--model", help="model name in the manifest [the first]")
    parser.add_argument("--target", help="target entry of the build file, e.g. tflite-int8 [the first runnable]")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of lines")
    args = parser.parse_args(argv)

    manifest = load_manifest(args.manifest)
    entries = candidates(manifest, args.model, args.target)
    if not entries:
        raise SystemExit(f"no .tflite or .pte for model {args.model!r} / target {args.target!r} in {args.manifest}")
    classifier, notes = open_classifier(entries, args.manifest.parent, args.threads)
    entry, prep = classifier.entry, classifier.entry["preprocessing"]
    classes = classifier.class_names or entry["classes"]
    labels_from = "artifact" if classifier.class_names else "manifest" if entry["classes"] else None
    results = []
    clock = time.perf_counter()
    for path in image_files(args.images):
        scores = classifier.scores(preprocess(path, prep))
        top1 = int(np.argmax(scores))
        results.append({"image": path.name, "top1": top1, "label": classes[top1] if classes else str(top1),
                        "score": float(scores[top1]), "scores": [float(s) for s in scores]})
    seconds = time.perf_counter() - clock
    if args.json:
        print(json.dumps({"artifact": entry["path"], "runtime": classifier.runtime, "notes": notes,
                          "labels_from": labels_from, "seconds": seconds, "results": results}))
    else:
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        print(f"{entry['path']} on {classifier.runtime}: {len(results)} images in {seconds * 1000:.1f} ms")
        for result in results:
            print(f"{result['image']}: {result['label']} ({result['score']:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
