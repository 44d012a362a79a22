"""Full int8 vs `-q auto` vs fp32 on the planted model (benchmarks/models/planted.py), TFLite and ExecuTorch.

Writes its section of benchmarks/RESULTS.md (between the int8-planted markers, replacing the previous one;
benchmarks/run.py keeps that section when it rewrites the file).
Usage: `python benchmarks/int8_planted.py` (about 3 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.markdown import markdown_table, replace_section  # noqa: E402
from benchmarks.models import planted  # noqa: E402
from edgex import api  # noqa: E402
from edgex.results import RowResult  # noqa: E402
from edgex.workers import Worker  # noqa: E402

START, END = "<!-- int8-planted:start -->", "<!-- int8-planted:end -->"
SOURCES = {"tflite": "keras", "executorch": f"{ROOT / 'benchmarks' / 'models' / 'planted.py'}:build"}


def _row_cells(target: str, row: RowResult, fp32: RowResult) -> list[str]:
    parity = row.parity
    assert parity is not None and row.artifact is not None and fp32.artifact is not None
    headline = parity.headline()
    latency = parity.exported_latency
    kept = (row.quantization or {}).get("kept_float")
    chosen = (row.quantization or {}).get("chosen")
    mode = f"auto -> {chosen}" + (f" (float: {', '.join(kept)})" if kept else "") if row.mode == "auto" else row.mode
    return [
        target,
        mode,
        f"{row.artifact.size_bytes / 1024:.1f} ({row.artifact.size_bytes / fp32.artifact.size_bytes:.2f}x)",
        f"{headline.top1_agreement:.1f}" if headline and headline.top1_agreement is not None else "-",
        f"{headline.cosine:.4f}" if headline else "-",
        f"{headline.snr_db:.1f}" if headline else "-",
        f"{latency.median_ms * 1000:.1f}" if latency else "-",
        "pass" if not row.failed_checks else "FAIL",
    ]


def _debug_line(target: str, source: str | Path, artifact: Path, calib: Path, val: Path) -> str:
    """What `edgex debug` says about the full-int8 artifact, measured in this run."""
    report = api.debug(source, artifact, data=val, calib=calib)
    layers = ", ".join(f"{layer.name} {layer.snr_db:.1f} dB" for layer in report.layers)
    return f"{target}: suspects {report.suspects} (per-layer SNR: {layers})"


def measure(folder: Path, runs: int) -> tuple[list[list[str]], list[str]]:
    calib, val = planted.write_data(folder)
    keras_path = folder / "planted.keras"
    worker = Worker("tf")
    try:
        worker.call("benchmarks.models.planted:save_keras", str(keras_path), what="saving the planted model")
    finally:
        worker.close()
    table, debug_lines = [], []
    for target, spec in SOURCES.items():
        source = keras_path if spec == "keras" else spec
        report = api.export(
            source, to=target, quantize=["none", "int8", "auto"], calib=calib, validate=val, out=folder / target,
            runs=runs, objective="size",
        )
        fp32, int8, auto = report.rows
        table += [_row_cells(target, row, fp32) for row in (fp32, int8, auto)]
        assert int8.artifact is not None
        debug_lines.append(_debug_line(target, source, Path(int8.artifact.path), calib, val))
    return table, debug_lines


def section(table: list[list[str]], debug_lines: list[str], runs: int) -> str:
    headers = ["target", "mode", "size KB (x fp32)", "top-1 agree %", "cosine", "SNR dB", "latency us median",
               "gate"]
    lines = [
        START,
        "## int8 that fails, explained and fixed: the planted model (full int8 vs `-q auto` vs fp32)",
        "",
        f"Measured {date.today().isoformat()} by `python benchmarks/int8_planted.py`. The model "
        "(benchmarks/models/planted.py, 16-32-32-32-4 MLP) has one planted quantization-hostile layer, `hostile`: "
        "a weight outlier (400) on an input that is always 0, so float never sees it but int8 weight scales round "
        "every other weight of the layer to 0. 200 calibration and 300 disjoint validation samples (random "
        f"normal inputs); agreement is with the float model; latency: {runs} runs, 1 thread, batch 1. `auto` "
        "ran with `--objective size`; its gate is int8's thresholds, fp32's its own.",
        "",
        "`edgex debug` on the full-int8 artifacts (same run):",
        "",
        *(f"- {line}" for line in debug_lines),
        "",
        *markdown_table(headers, table),
        END,
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        table, debug_lines = measure(Path(folder), args.runs)
    text = section(table, debug_lines, args.runs)
    print(text)
    replace_section(ROOT / "benchmarks" / "RESULTS.md", START, END, text)


if __name__ == "__main__":
    main()
