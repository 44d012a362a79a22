"""Real-model zoo: every fetched model x route x mode through the real CLI; writes benchmarks/ZOO.md.

Each cell is one `python -m edgex export ...` subprocess with a timeout, exactly as a user would run it; the cell's
verdict, time and parity figures come from its JSON report, its error from the report's row (else stderr).
Usage: `python benchmarks/zoo.py [--only MODEL] [--quick] [--mode fp32|int8] [--cache DIR]` after
`python benchmarks/zoo_fetch.py` (`make zoo` does both).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

# Run as a script (`python benchmarks/zoo.py`): the repository root must be importable for `benchmarks.*`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.markdown import replace_section
from benchmarks.zoo_fetch import cache_dir, restore
from benchmarks.zoo_models import MODELS, ZooModel

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "benchmarks" / "ZOO.md"
MODE_FLAG = {"fp32": "none", "int8": "int8"}
ICONS = {"passed": "✅", "parity": "✗", "failed": "❌"}


@dataclass
class Cell:
    """One model x route x mode, as measured."""

    model: str
    route: str
    mode: str
    verdict: str  # passed, parity (exported, parity failed), failed
    exit_code: int
    seconds: float
    export_seconds: float | None = None
    cosine: float | None = None
    snr_db: float | None = None
    top1: float | None = None
    error: str = ""
    upstream: str = ""
    source_modified: bool = False  # the run rewrote the model file it was given


def _command(model: ZooModel, route: str, mode: str, cache: Path, work: Path) -> list[str]:
    calib, val = model.write_data(work / "data")
    out = work / "out" / model.name / f"{route}-{mode}"
    return [
        sys.executable, "-m", "edgex", "export", model.source_spec(cache), "--to", route, "-q", MODE_FLAG[mode],
        "--calib", str(calib), "--validate", str(val), "--report-json", str(out / "report.json"),
        "--out", str(out), "--force", "--runs", "0", "--warmup", "0", *model.extra_args,
    ]  # fmt: skip


def _first_error_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("edgex: error") or "Error" in line]
    return (errors or lines or ["(no output)"])[0][:300]


def _parity_figures(parity: dict | None) -> tuple[float | None, float | None, float | None]:
    """The worst cosine and SNR over all outputs, and top-1 agreement where the report has it."""
    if not parity:
        return None, None, None
    outputs = parity.get("outputs") or []
    cosines = [o["cosine"] for o in outputs if o.get("cosine") is not None]
    snrs = [o["snr_db"] for o in outputs if o.get("snr_db") is not None]
    top1 = [o["top1_agreement"] for o in outputs if o.get("top1_agreement") is not None]
    return (min(cosines) if cosines else None, min(snrs) if snrs else None, min(top1) if top1 else None)


def run_cell(model: ZooModel, route: str, mode: str, cache: Path, work: Path, timeout: float) -> Cell:
    command = _command(model, route, mode, cache, work)
    report_path = Path(command[command.index("--report-json") + 1])
    report_path.unlink(missing_ok=True)
    restore(cache)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EDGEX_ZOO_CACHE": str(cache), "COLUMNS": "200"}
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, check=False, cwd=ROOT)
        exit_code, stderr = done.returncode, done.stderr
    except subprocess.TimeoutExpired:
        exit_code, stderr = -1, f"TimeoutExpired: no result after {timeout:.0f} s"
    cell = Cell(model.name, route, mode, "failed", exit_code, time.perf_counter() - start)
    cell.upstream = model.upstream.get(f"{route}/{mode}", "")
    source = Path(model.source_spec(cache)).resolve()
    cell.source_modified = any(path.resolve() == source for path in restore(cache))
    row = _report_row(report_path)
    if row is not None:
        cell.export_seconds = row.get("export_seconds")
        cell.cosine, cell.snr_db, cell.top1 = _parity_figures(row.get("parity"))
        if row.get("error"):
            cell.error = row["error"].splitlines()[0][:300]
        elif row.get("parity"):
            cell.error = "; ".join(_failed_check(c) for c in row["parity"].get("checks", []) if not c["passed"])
    exported = exit_code == 1 and row is not None and row.get("artifact")
    cell.verdict = "passed" if exit_code == 0 else "parity" if exported else "failed"
    if cell.verdict != "passed" and not cell.error:
        cell.error = _first_error_line(stderr)
    return cell


def _failed_check(check: dict) -> str:
    """A failed parity gate as 'top1_agreement 91.7% < 97% (predictions)'."""
    value, threshold, unit = check["value"], check["threshold"], check.get("unit", "")
    below = {">=": "<", "<=": ">"}.get(check["comparison"], "vs")
    return f"{check['name']} {value:.4g}{unit} {below} {threshold:g}{unit} ({check.get('output', '')})"


def _report_row(path: Path) -> dict | None:
    if not path.exists():
        return None
    rows = json.loads(path.read_text()).get("rows") or []
    return rows[0] if rows else None


def _figure(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def write_markdown(cells: list[Cell], path: Path, command: str) -> None:
    fp32 = [c for c in cells if c.mode == "fp32"]
    passed = sum(c.verdict == "passed" for c in fp32)
    lines = [
        "# edgex real-model zoo",
        "",
        f"Last run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: `{command}` (2 shared CPU cores; rows not in that run are",
        "kept from earlier runs, see ZOO.json). Models ship inside",
        "pinned registry packages (`benchmarks/zoo_fetch.py`); inputs are structured faces/scenes and synthetic",
        "speech (`benchmarks/zoo_models.py`). Parity is against the original model on the validation set, with",
        "edgex's default gates. ✅ passed, ✗ exported but parity failed, ❌ failed (exit code and first error line).",
        "",
        f"fp32: **{passed}/{len(fp32)}** cells ✅. ⚠️ in the error column: the run rewrote the source model file"
        " in place (the zoo restores it from the wheel before every cell).",
        "",
        "| model | route | mode | | exit | convert s | total s | cosine (min) | SNR dB (min) | top-1 % | error"
        " | upstream |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        error = ("⚠️ source file rewritten in place; " if c.source_modified else "") + c.error.replace("|", "\\|")
        lines.append(
            f"| {c.model} | {c.route} | {c.mode} | {ICONS[c.verdict]} | {c.exit_code} | {_figure(c.export_seconds, 1)}"
            f" | {c.seconds:.0f} | {_figure(c.cosine, 5)} | {_figure(c.snr_db, 1)} | {_figure(c.top1, 1)}"
            f" | {error} | {c.upstream} |"
        )
    path.write_text("\n".join(lines) + "\n")


RESULTS = ROOT / "benchmarks" / "RESULTS.md"
RESULTS_START, RESULTS_END = "<!-- zoo:start -->", "<!-- zoo:end -->"


def write_results_section(cells: list[Cell], path: Path = RESULTS) -> None:
    """The zoo's conversion time and parity per model x route in benchmarks/RESULTS.md (between markers)."""
    lines = [
        RESULTS_START,
        "## Real-model zoo: conversion time and parity (from `benchmarks/zoo.py`, details in ZOO.md)",
        "",
        "| model | route | mode | verdict | convert s | cosine (min) | SNR dB (min) | top-1 % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        lines.append(
            f"| {c.model} | {c.route} | {c.mode} | {ICONS[c.verdict]} | {_figure(c.export_seconds, 1)}"
            f" | {_figure(c.cosine, 5)} | {_figure(c.snr_db, 1)} | {_figure(c.top1, 1)} |"
        )
    lines.append(RESULTS_END)
    replace_section(path, RESULTS_START, RESULTS_END, "\n".join(lines))


def _load_cells(path: Path) -> dict[tuple[str, str, str], Cell]:
    """Cells of earlier runs, so `--only MODEL` reruns one model and keeps the rest of the table."""
    known = {m.name: m for m in MODELS}
    rows = json.loads(path.read_text()) if path.exists() else []
    cells = {(r["model"], r["route"], r["mode"]): Cell(**r) for r in rows if r["model"] in known}
    for cell in cells.values():  # upstream notes are kept in MODELS, which may be newer than the run
        note = known[cell.model].upstream.get(f"{cell.route}/{cell.mode}", "")
        cell.upstream = note if cell.verdict != "passed" else ""
    return cells


def _save_cells(table: dict[tuple[str, str, str], Cell], path: Path) -> None:
    path.write_text(json.dumps([asdict(c) for c in _ordered(table)], indent=1) + "\n")


def _ordered(table: dict[tuple[str, str, str], Cell]) -> list[Cell]:
    """Zoo order: model as listed in MODELS, then fp32 before int8, then route."""
    rank = {m.name: i for i, m in enumerate(MODELS)}
    return sorted(table.values(), key=lambda c: (rank[c.model], c.mode != "fp32", c.route))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="model name (repeatable)")
    parser.add_argument("--route", action="append", help="only this route (repeatable) [every route of the model]")
    parser.add_argument("--quick", action="store_true", help="one model per source framework, fp32 to tflite")
    parser.add_argument("--mode", action="append", choices=sorted(MODE_FLAG), help="fp32 and/or int8 [both]")
    parser.add_argument("--fresh", action="store_true", help="drop the cells of earlier runs kept in the JSON table")
    parser.add_argument("--cache", help="zoo cache [default: $EDGEX_ZOO_CACHE, then benchmarks/.zoo-cache]")
    parser.add_argument("--work", default=str(ROOT / "dist" / "zoo"), help="data, artifacts and reports")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per cell")
    parser.add_argument("--output", default=str(OUTPUT), help="Markdown table to write (cells also go to its .json)")
    args = parser.parse_args()
    cache, work = cache_dir(args.cache), Path(args.work).resolve()
    models = [m for m in MODELS if not args.only or m.name in args.only]
    if args.only and len(models) != len(set(args.only)):
        parser.error(f"--only: unknown model; known: {', '.join(m.name for m in MODELS)}")
    if args.quick:
        models = [next(m for m in models if m.framework == kind) for kind in dict.fromkeys(m.framework for m in models)]
    modes = ["fp32"] if args.quick else args.mode or ["fp32", "int8"]
    plan = [(m, r, "fp32") for m in models for r in (m.fp32_routes[:1] if args.quick else m.fp32_routes)]
    plan = [p for p in plan if "fp32" in modes] + [
        (m, r, "int8") for m in models for r in m.int8_routes if "int8" in modes
    ]
    plan = [p for p in plan if not args.route or p[1] in args.route]
    output = Path(args.output)
    table = {} if args.fresh else _load_cells(output.with_suffix(".json"))
    command = "python benchmarks/zoo.py " + " ".join(sys.argv[1:])
    cells = []
    for model, route, mode in plan:
        cell = run_cell(model, route, mode, cache, work, args.timeout)
        cells.append(cell)
        table[(cell.model, cell.route, cell.mode)] = cell
        icon = ICONS[cell.verdict]
        print(f"{icon} {model.name:16} {route:13} {mode:5} {cell.seconds:6.0f} s  {cell.error}", flush=True)
        _save_cells(table, output.with_suffix(".json"))
        write_markdown(_ordered(table), output, command)
    if output == OUTPUT:  # the repository's own table: its figures go into RESULTS.md too
        write_results_section(_ordered(table))
    failed = [c for c in cells if c.verdict == "failed" and c.mode == "fp32"]
    sys.exit(1 if args.quick and failed else 0)


if __name__ == "__main__":
    main()
