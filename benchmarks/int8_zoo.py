"""Full int8 vs `-q auto` vs fp32 on real zoo models whose full int8 fails (benchmarks/zoo_models.py), TFLite.

Writes its section of benchmarks/RESULTS.md (between the int8-zoo markers). Needs the zoo cache
(`python benchmarks/zoo_fetch.py`). Usage: `python benchmarks/int8_zoo.py [--only MODEL]` (minutes per model).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.int8_planted import _row_cells  # noqa: E402
from benchmarks.markdown import markdown_table, replace_section  # noqa: E402
from benchmarks.zoo_fetch import cache_dir  # noqa: E402
from benchmarks.zoo_models import MODELS  # noqa: E402
from edgex import api  # noqa: E402

START, END = "<!-- int8-zoo:start -->", "<!-- int8-zoo:end -->"
# Zoo models whose full int8 fails its gate on the zoo's data (ZOO.md, int8 rows), with the route `auto` takes.
FAILING_INT8 = {"fer-emotion": "tflite"}


def measure(folder: Path, names: list[str], runs: int) -> list[list[str]]:
    cache = cache_dir(None)
    table = []
    for model in (m for m in MODELS if m.name in names):
        target = FAILING_INT8[model.name]
        calib, val = model.write_data(folder / model.name)
        report = api.export(
            model.source_spec(cache), to=target, quantize=["none", "int8", "auto"], calib=calib, validate=val,
            out=folder / model.name / "out", runs=runs,
        )
        fp32, int8, auto = report.rows
        table += [[model.name, *_row_cells(target, row, fp32)] for row in (fp32, int8, auto)]
    return table


def section(table: list[list[str]], runs: int) -> str:
    headers = ["model", "target", "mode", "size KB (x fp32)", "top-1 agree %", "cosine", "SNR dB",
               "latency us median", "gate"]
    return "\n".join([
        START,
        "## int8 that fails on real models: full int8 vs `-q auto` vs fp32",
        "",
        f"Measured {date.today().isoformat()} by `python benchmarks/int8_zoo.py` on the zoo's calibration and "
        f"validation sets (benchmarks/zoo_models.py); latency: {runs} runs, 1 thread, batch 1; `auto` with the "
        "default `--objective latency`. The mode column names the layers `auto` kept in float.",
        "",
        *markdown_table(headers, table),
        END,
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", action="append", choices=sorted(FAILING_INT8))
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        table = measure(Path(folder), args.only or sorted(FAILING_INT8), args.runs)
    text = section(table, args.runs)
    print(text)
    replace_section(ROOT / "benchmarks" / "RESULTS.md", START, END, text)


if __name__ == "__main__":
    main()
