"""int8 for sequence models: the small transformer encoder and LSTM of tests/seq_models.py, every recipe, to .pte
and .tflite. Size, parity and latency per recipe.

Trains both models (about 15 s), then exports each. Writes its section of benchmarks/RESULTS.md (between the
seq-int8 markers). Usage: `python benchmarks/seq_int8.py [--runs N]` (several minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.markdown import markdown_table, replace_section  # noqa: E402
from edgex import api  # noqa: E402
from edgex.results import RowResult  # noqa: E402
from edgex.workers import Worker  # noqa: E402

START, END = "<!-- seq-int8:start -->", "<!-- seq-int8:end -->"
RECIPES = {"executorch": ["none", "dynamic", "8da4w", "auto"], "tflite": ["none", "dynamic", "auto"]}
# The transformer returns an embedding: judged by cosine and retrieval, not top-k.
CLASS_OUTPUT = {"transformer": "none", "lstm": None}


def _train(folder: Path) -> dict[str, dict[str, Any]]:
    worker = Worker("torch")
    models = {}
    try:
        for kind in CLASS_OUTPUT:
            (folder / kind).mkdir()
            weights = folder / f"{kind}.pt"
            facts = worker.call("tests.seq_models:train", kind, str(weights), str(folder / kind), what="training")
            models[kind] = {"weights": weights, "data": folder / kind, **facts}
    finally:
        worker.close()
    return models


def _cells(kind: str, target: str, row: RowResult, fp32: RowResult) -> list[str]:
    chosen = (row.quantization or {}).get("chosen")
    mode = f"auto -> {chosen}" if chosen else row.mode
    size = row.artifact.size_bytes if row.artifact else None
    base = fp32.artifact.size_bytes if fp32.artifact else None
    size_cell = f"{size / 1024:.0f} ({size / base:.2f}x)" if size and base else "-"
    parity = row.parity
    output = parity.outputs[0] if parity else None
    latency = parity.exported_latency.median_ms * 1000 if parity and parity.exported_latency else None
    if output is None:
        return [kind, target, mode, size_cell, "-", "-", "-", "-", "-", str(row.status)]
    fit = (
        f"retrieval {output.retrieval_agreement:.1f} %"
        if output.retrieval_agreement is not None
        else f"worst step {output.step_cosine:.5f}" if output.step_cosine is not None else "-"
    )
    return [
        kind, target, mode, size_cell, f"{output.cosine:.5f}", f"{output.cosine_min:.4f}", f"{output.snr_db:.1f}",
        fit, f"{latency:.0f}" if latency is not None else "-", str(row.status),
    ]  # fmt: skip


def measure(folder: Path, runs: int) -> tuple[list[list[str]], dict[str, float]]:
    models = _train(folder)
    table = []
    for kind, model in models.items():
        for target, recipes in RECIPES.items():
            report = api.export(
                f"{ROOT / 'tests' / 'seq_models.py'}:{kind}", to=target, quantize=recipes, weights=model["weights"],
                calib=model["data"] / "calib.npz", validate=model["data"] / "val.npz", out=folder / kind / target,
                runs=runs, objective="size", class_output=CLASS_OUTPUT[kind], name=kind,
            )  # fmt: skip
            fp32 = report.rows[0]
            table += [_cells(kind, target, row, fp32) for row in report.rows]
    return table, {kind: model["accuracy"] for kind, model in models.items()}


def section(table: list[list[str]], accuracy: dict[str, float], runs: int) -> str:
    headers = ["model", "target", "mode", "size KB (x fp32)", "cosine", "cosine min", "SNR dB", "fits the output",
               "latency us median", "gate"]  # fmt: skip
    return "\n".join([
        START,
        "## int8 for sequence models: a transformer encoder and an LSTM (tests/seq_models.py)",
        "",
        f"Measured {date.today().isoformat()} by `python benchmarks/seq_int8.py`. Both read the 8 rows of a "
        "scikit-learn digit as 8 tokens; their weights are almost all in Linear layers / the LSTM. The transformer "
        f"(1 block, width 128, held-out accuracy {accuracy['transformer']:.1%} through a training head) returns a "
        "64-d embedding, judged by per-sample cosine and nearest-neighbour retrieval agreement over the 360 "
        f"validation samples; the LSTM (hidden 256, {accuracy['lstm']:.1%} at the last step) returns class "
        "probabilities at every step, judged per time step (worst step's mean cosine). `dynamic` on these "
        "Linear-dominated models is the Linear-layer form (torchao 8da8w for ExecuTorch, LSTM rewritten as "
        "Linear layers; litert-torch's dynamic-range recipe for TFLite); `8da4w`: int4 weights in groups of 32. "
        f"`auto` with `--objective size`. Latency: {runs} runs, 1 thread, batch 1, on a shared 2-core host.",
        "",
        *markdown_table(headers, table),
        END,
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        table, accuracy = measure(Path(folder), args.runs)
    text = section(table, accuracy, args.runs)
    print(text)
    replace_section(ROOT / "benchmarks" / "RESULTS.md", START, END, text)


if __name__ == "__main__":
    main()
