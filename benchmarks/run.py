"""edgex benchmarks: prints tables and writes benchmarks/RESULTS.md.

Every figure is measured in this run and compared with the reference framework in the same run (ratios), so the
numbers are comparable across machines only as ratios. Usage: `make bench` or `python benchmarks/run.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.markdown import markdown_table  # noqa: E402

DEMO = ROOT / "edgex" / "demo" / "digits"
MODES = ["none", "fp16", "dynamic", "int8", "int16x8"]
TAGS = {"none": "fp32"}

BARE_CONVERTER = """
import os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
start = time.perf_counter()
import numpy as np, tensorflow as tf, keras
model = keras.models.load_model(sys.argv[1], compile=False)
mode = sys.argv[2]
calib = np.load(sys.argv[3])["image"][:200]
inputs = keras.Input(batch_shape=(1, *model.input.shape[1:]), name=model.input.name)
static = keras.Model(inputs, model(inputs))
convert_start = time.perf_counter()
converter = tf.lite.TFLiteConverter.from_keras_model(static)
if mode != "none":
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
if mode == "fp16":
    converter.target_spec.supported_types = [tf.float16]
if mode in ("int8", "int16x8"):
    converter.representative_dataset = lambda: ({"image": calib[i:i + 1]} for i in range(len(calib)))
if mode == "int8":
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
if mode == "int16x8":
    converter.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
data = converter.convert()
convert_seconds = time.perf_counter() - convert_start
open(sys.argv[4], "wb").write(data)
print(f"{convert_seconds} {time.perf_counter() - start}")
"""

MOBILENET = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, keras
keras.utils.set_random_seed(0)
keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3), classes=1000).save(sys.argv[1])
rng = np.random.default_rng(0)
np.save(sys.argv[2], rng.random((32, 224, 224, 3), dtype=np.float32) * 2 - 1)
np.save(sys.argv[3], rng.random((16, 224, 224, 3), dtype=np.float32) * 2 - 1)
"""


def _python(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def _edgex(*args: str | Path) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.perf_counter()
    result = _python("-m", "edgex", *map(str, args))
    return result, time.perf_counter() - start


def help_time(repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _python("-m", "edgex", "--help")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def demo_rows(work: Path) -> list[dict]:
    """Each mode: edgex export+validate (one run) and the bare converter in a fresh process."""
    report_path = work / "demo.json"
    result, _ = _edgex(
        "export", "demo", "-q", "all", "--out", work / "demo", "--force", "--runs", "200", "--report-json", report_path
    )
    if result.returncode != 0:
        raise SystemExit(f"demo export failed:\n{result.stdout}\n{result.stderr}")
    report = json.loads(report_path.read_text())
    fp32_size = next(r for r in report["rows"] if r["mode"] == "none")["artifact"]["size_bytes"]
    rows = []
    for row in report["rows"]:
        mode = row["mode"]
        bare = _python(
            "-c",
            BARE_CONVERTER,
            str(DEMO / "digits.keras"),
            mode,
            str(DEMO / "digits_calib.npz"),
            str(work / f"bare_{mode}.tflite"),
        )
        bare_convert, bare_total = (float(v) for v in bare.stdout.split()[-2:])
        _, edgex_wall = _edgex(
            "export",
            DEMO / "digits.keras",
            "-q",
            mode,
            "--calib",
            DEMO / "digits_calib.npz",
            "--out",
            work / "plain",
            "--force",
            "--runs",
            "0",
        )
        parity = row["parity"]
        head = parity["outputs"][0]
        rows.append(
            {
                "mode": mode,
                "size_kb": row["artifact"]["size_bytes"] / 1024,
                "size_ratio": row["artifact"]["size_bytes"] / fp32_size,
                "top1": head["top1_agreement"],
                "accuracy": head["exported_accuracy"],
                "reference_accuracy": head["reference_accuracy"],
                "latency_ms": parity["exported_latency"]["median_ms"],
                "latency_p90_ms": parity["exported_latency"]["p90_ms"],
                "reference_ms": parity["reference_latency"]["median_ms"],
                "latency_ratio": parity["latency_ratio"],
                "rss_mb": parity["exported_memory"]["peak_rss_mb"],
                "reference_rss_mb": parity["reference_memory"]["peak_rss_mb"],
                "edgex_convert_s": row["export_seconds"],
                "bare_convert_s": bare_convert,
                "edgex_wall_s": edgex_wall,
                "bare_wall_s": bare_total,
            }
        )
    return rows


def mobilenet_rows(work: Path) -> list[dict]:
    model, calib, val = work / "mobilenetv2.keras", work / "mnv2_calib.npy", work / "mnv2_val.npy"
    built = _python("-c", MOBILENET, str(model), str(calib), str(val))
    if built.returncode != 0:
        raise SystemExit(built.stderr)
    report_path = work / "mnv2.json"
    result, wall = _edgex(
        "export",
        model,
        "-q",
        "none",
        "-q",
        "fp16",
        "-q",
        "dynamic",
        "-q",
        "int8",
        "--calib",
        calib,
        "--validate",
        val,
        "--out",
        work / "mnv2",
        "--force",
        "--runs",
        "30",
        "--report-json",
        report_path,
    )
    if not report_path.exists():
        raise SystemExit(f"MobileNetV2 export failed:\n{result.stdout}\n{result.stderr}")
    report = json.loads(report_path.read_text())
    fp32_size = next(r for r in report["rows"] if r["mode"] == "none")["artifact"]["size_bytes"]
    rows = []
    for row in report["rows"]:
        parity = row["parity"]
        rows.append(
            {
                "mode": row["mode"],
                "status": row["status"],
                "size_mb": row["artifact"]["size_bytes"] / 2**20,
                "size_ratio": row["artifact"]["size_bytes"] / fp32_size,
                "latency_ms": parity["exported_latency"]["median_ms"],
                "reference_ms": parity["reference_latency"]["median_ms"],
                "latency_ratio": parity["latency_ratio"],
                "rss_mb": parity["exported_memory"]["peak_rss_mb"],
                "reference_rss_mb": parity["reference_memory"]["peak_rss_mb"],
                "export_s": row["export_seconds"],
            }
        )
    rows.append({"wall_s": wall})
    return rows


def torch_demo_rows(work: Path) -> list[dict]:
    """The PyTorch digits twin: .pte (XNNPACK fp32/int8, portable int8) and .ptl against torch eager."""
    rows = []
    for target, modes in (
        ("executorch-xnnpack", ("none", "int8")),
        ("executorch-portable", ("int8",)),
        ("pytorch-lite", ("none",)),
    ):
        report_path = work / f"torch_{target}.json"
        args = [
            "export",
            "demo-torch",
            "--to",
            target,
            "--out",
            work / "torch",
            "--force",
            "--runs",
            "200",
            "--report-json",
            report_path,
        ]
        for mode in modes:
            args += ["-q", mode]
        result, _ = _edgex(*args)
        if not report_path.exists():
            raise SystemExit(f"{target} export failed:\n{result.stdout}\n{result.stderr}")
        for row in json.loads(report_path.read_text())["rows"]:
            parity = row["parity"]
            delegation = row["details"].get("delegation")
            rows.append(
                {
                    "target": target,
                    "mode": row["mode"],
                    "status": row["status"],
                    "size_kb": row["artifact"]["size_bytes"] / 1024,
                    "top1": parity["outputs"][0]["top1_agreement"],
                    "latency_ms": parity["exported_latency"]["median_ms"],
                    "reference_ms": parity["reference_latency"]["median_ms"],
                    "latency_ratio": parity["latency_ratio"],
                    "rss_mb": parity["exported_memory"]["peak_rss_mb"],
                    "reference_rss_mb": parity["reference_memory"]["peak_rss_mb"],
                    "export_s": row["export_seconds"],
                    "delegated": "-" if delegation is None else f"{delegation['delegated_share']:.0%}",
                }
            )
    fp32 = next(r for r in rows if r["target"] == "executorch-xnnpack" and r["mode"] == "none")
    for row in rows:
        row["size_ratio"] = row["size_kb"] / fp32["size_kb"]
    return rows


def torch_mobilenet_rows(work: Path) -> list[dict]:
    images = work / "mnv2_nchw.npy"
    np_script = "import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(0).random((16, 3, 224, 224), "
    np_script += "dtype=np.float32) * 2 - 1)"
    _python("-c", np_script, str(images))
    report_path = work / "mnv2_torch.json"
    result, wall = _edgex(
        "export",
        ROOT / "benchmarks" / "models" / "mobilenet_v2.py:build",
        "--to",
        "executorch",
        "-q",
        "none",
        "-q",
        "int8",
        "--calib",
        images,
        "--validate",
        images,
        "--out",
        work / "mnv2_torch",
        "--force",
        "--runs",
        "30",
        "--report-json",
        report_path,
    )
    if not report_path.exists():
        raise SystemExit(f"MobileNetV2 (PyTorch) export failed:\n{result.stdout}\n{result.stderr}")
    rows = []
    for row in json.loads(report_path.read_text())["rows"]:
        parity = row["parity"]
        rows.append(
            {
                "mode": row["mode"],
                "size_mb": row["artifact"]["size_bytes"] / 2**20,
                "latency_ms": parity["exported_latency"]["median_ms"],
                "reference_ms": parity["reference_latency"]["median_ms"],
                "latency_ratio": parity["latency_ratio"],
                "delegated": row["details"]["delegation"]["delegated_share"],
                "subgraphs": row["details"]["delegation"]["delegated_subgraphs"],
                "export_s": row["export_seconds"],
            }
        )
    rows.append({"wall_s": wall})
    return rows


MATRIX_SOURCES = (("demo", "Keras"), ("demo-torch", "PyTorch"), ("demo-onnx", "ONNX"))
MATRIX_TARGETS = (("tflite", "tflite"), ("executorch", "pte"), ("pytorch-lite", "ptl"), ("onnx", "onnx"))
ICONS = {"passed": "✅", "parity_failed": "✗", "export_failed": "❌"}


def route_matrix(work: Path) -> list[dict]:
    """Every source x format cell of the digits model in float32: the route edgex takes and its parity."""
    cells = []
    for source, source_label in MATRIX_SOURCES:
        for target, fmt in MATRIX_TARGETS:
            if source == "demo-onnx" and fmt == "onnx":
                continue
            report_path = work / f"matrix_{source}_{target}.json"
            result, wall = _edgex(
                "export",
                source,
                "--to",
                target,
                "--out",
                work / "matrix",
                "--force",
                "--runs",
                "100",
                "--report-json",
                report_path,
            )
            if not report_path.exists():
                raise SystemExit(f"{source} -> {target} crashed:\n{result.stdout}\n{result.stderr}")
            row = json.loads(report_path.read_text())["rows"][0]
            parity = row["parity"]
            cells.append(
                {
                    "source": source_label,
                    "format": fmt,
                    "status": row["status"],
                    "route": row["route"],
                    "top1": parity["outputs"][0]["top1_agreement"] if parity else None,
                    "max_abs": parity["outputs"][0]["max_abs_error"] if parity else None,
                    "latency_ratio": parity["latency_ratio"] if parity else None,
                    "wall_s": wall,
                    "error": row["error"],
                }
            )
    return cells


def render_matrix(cells: list[dict]) -> str:
    table = _table(
        ["source", "format", "", "route", "top-1 agree %", "max abs error", "latency x source framework", "wall s"],
        [
            [
                c["source"],
                c["format"],
                ICONS[c["status"]],
                c["route"],
                "-" if c["top1"] is None else f"{c['top1']:.1f}",
                "-" if c["max_abs"] is None else f"{c['max_abs']:.2e}",
                "-" if c["latency_ratio"] is None else f"{c['latency_ratio']:.3f}x",
                f"{c['wall_s']:.0f}",
            ]
            for c in cells
        ],
    )
    return f"""
## Cross-framework routes: digits CNN (Keras, PyTorch twin, ONNX export of the twin) x every format

float32, 359 held-out images, parity always against the original source; latency is the artifact's median over
the source framework's (Keras eager, torch eager, onnxruntime), 1 thread. `edgex routes` shows the graph.

{table}
"""


def _table(headers: list[str], rows: list[list[str]]) -> str:
    return "\n".join(markdown_table(headers, rows))


def _versus(ours: float, bare: float, digits: int) -> str:
    return f"{ours:.{digits}f} / {bare:.{digits}f} ({ours / bare:.2f}x)"


def render_torch(demo: list[dict], mobilenet: list[dict]) -> str:
    demo_table = _table(
        [
            "target",
            "mode",
            "size KB (x .pte fp32)",
            "top-1 agree %",
            "latency ms median",
            "x torch eager",
            "peak RSS MB (torch)",
            "export s",
            "delegated",
        ],
        [
            [
                r["target"],
                r["mode"],
                f"{r['size_kb']:.1f} ({r['size_ratio']:.2f}x)",
                f"{r['top1']:.1f}",
                f"{r['latency_ms']:.4f}",
                f"{r['latency_ratio']:.3f}x",
                f"{r['rss_mb']:.0f} ({r['reference_rss_mb']:.0f})",
                f"{r['export_s']:.1f}",
                r["delegated"],
            ]
            for r in demo
        ],
    )
    mnv2 = [r for r in mobilenet if "mode" in r]
    mnv2_table = _table(
        [
            "mode",
            "size MB",
            "latency ms median",
            "torch eager ms",
            "x torch eager",
            "delegated (subgraphs)",
            "export s",
        ],
        [
            [
                r["mode"],
                f"{r['size_mb']:.2f}",
                f"{r['latency_ms']:.2f}",
                f"{r['reference_ms']:.2f}",
                f"{r['latency_ratio']:.3f}x",
                f"{r['delegated']:.0%} ({r['subgraphs']})",
                f"{r['export_s']:.1f}",
            ]
            for r in mnv2
        ],
    )
    return f"""
## Digits CNN, PyTorch twin: ExecuTorch .pte and PyTorch-Mobile .ptl

Same held-out split; reference is torch eager (`torch.no_grad`, 1 thread). `portable` runs ExecuTorch's
reference C++ kernels (no delegate): it is the fallback for any CPU, not the fast path.

{demo_table}

## MobileNetV2 (PyTorch, defined in benchmarks/models/mobilenet_v2.py, random weights, 1x3x224x224)

int8 calibrated on 16 random images given explicitly: latency, size and delegation coverage only.

{mnv2_table}

Whole run (2 modes, conversion + validation + timing): {mobilenet[-1]["wall_s"]:.0f} s.
"""


def render(help_s: float, demo: list[dict], mobilenet: list[dict]) -> str:
    demo_table = _table(
        [
            "mode",
            "size KB (x fp32)",
            "top-1 agree %",
            "accuracy % (Keras)",
            "latency ms median / p90",
            "x Keras eager",
            "peak RSS MB (Keras)",
            "convert s edgex / bare",
            "CLI wall s edgex / bare script",
        ],
        [
            [
                r["mode"],
                f"{r['size_kb']:.1f} ({r['size_ratio']:.2f}x)",
                f"{r['top1']:.1f}",
                f"{r['accuracy']:.1f} ({r['reference_accuracy']:.1f})",
                f"{r['latency_ms']:.4f} / {r['latency_p90_ms']:.4f}",
                f"{r['latency_ratio']:.4f}x",
                f"{r['rss_mb']:.0f} ({r['reference_rss_mb']:.0f})",
                _versus(r["edgex_convert_s"], r["bare_convert_s"], 2),
                _versus(r["edgex_wall_s"], r["bare_wall_s"], 1),
            ]
            for r in demo
        ],
    )
    mnv2 = [r for r in mobilenet if "mode" in r]
    mnv2_table = _table(
        [
            "mode",
            "status",
            "size MB (x fp32)",
            "latency ms median",
            "Keras eager ms",
            "x Keras eager",
            "peak RSS MB (Keras)",
            "export s",
        ],
        [
            [
                r["mode"],
                r["status"],
                f"{r['size_mb']:.2f} ({r['size_ratio']:.2f}x)",
                f"{r['latency_ms']:.2f}",
                f"{r['reference_ms']:.2f}",
                f"{r['latency_ratio']:.3f}x",
                f"{r['rss_mb']:.0f} ({r['reference_rss_mb']:.0f})",
                f"{r['export_s']:.1f}",
            ]
            for r in mnv2
        ],
    )
    return f"""# edgex benchmark results

Measured {date.today().isoformat()} on {platform.machine()} with {os.cpu_count()} cores,
Python {platform.python_version()}, by `python benchmarks/run.py` (also `make bench`).
Latency: 1 thread for both sides, batch 1, warm-up then timed runs in separate worker processes;
peak RSS is the whole worker process (runtime + model).

## CLI start-up

`edgex --help`: **{help_s * 1000:.0f} ms** median wall time (no framework imported).

## Digits CNN (bundled demo, Keras), every TFLite mode

Held-out split: 359 images. "convert s": the converter call alone, edgex (in its worker, incl. model load) vs the
bare `TFLiteConverter` call on an already-loaded model. "CLI wall": `edgex export -q MODE --runs 0` (no validation)
vs a bare script that imports TensorFlow, loads, converts, writes.

{demo_table}

## MobileNetV2 (keras.applications, weights=None, 224x224x3), latency and size

Random weights and random inputs: parity figures are not meaningful here and are not reported; latency and size are.
int8 calibrated on 32 random images given explicitly (`--calib`), so accuracy is unmeasured by design.

{mnv2_table}

Whole `edgex export` run (4 modes, conversion + validation + timing): {mobilenet[-1]["wall_s"]:.0f} s.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="edgex-bench-") as temp:
        work = Path(temp)
        help_s = help_time()
        demo = demo_rows(work)
        mobilenet = mobilenet_rows(work)
        torch_demo = torch_demo_rows(work)
        torch_mobilenet = torch_mobilenet_rows(work)
        matrix = route_matrix(work)
    text = render(help_s, demo, mobilenet) + render_torch(torch_demo, torch_mobilenet) + render_matrix(matrix)
    print(text)
    # int8_planted.py, int8_zoo.py and zoo.py measure their own sections (minutes to an hour): keep them as they were
    previous = args.out.read_text() if args.out.exists() else ""
    kept = [
        found.group(0)
        for name in ("int8-planted", "int8-zoo", "zoo")
        if (found := re.search(rf"<!-- {name}:start -->.*?<!-- {name}:end -->", previous, re.DOTALL))
    ]
    args.out.write_text("\n\n".join([text.rstrip(), *kept]) + "\n")


if __name__ == "__main__":
    main()
