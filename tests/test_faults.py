"""The fault suite (issue 12): hostile input, a flaky CI, killed runs.

Each case asserts its exit code and its one-line message; most are regression tests of a fix (named in the
docstring), the rest keep cases that were already handled. Where a check must happen before any model loads, the
source is a factory that never returns: a check that came too late would hang the test instead of passing it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from edgex.artifacts import prepare_output_dir, remove_inside, sweep_temps
from edgex.build.cells import CellOutcome
from edgex.build.runner import _prune, read_state
from edgex.errors import UsageError
from edgex.exporting import ExportConfig, plan_jobs
from edgex.report.files import write_text_atomic
from edgex.sources import resolve_source
from edgex.workers import sweep_worker_logs
from tests.fault_targets import mutations
from tests.helpers import (
    DEMO_CALIB,
    DEMO_DIR,
    DEMO_KERAS,
    DEMO_LABELS,
    DEMO_VAL,
    ROOT,
    assert_one_line_error,
    in_worker,
    leftovers,
    run_edgex,
)

HANGS = "tests.fault_targets:hang_forever"  # a PyTorch factory that never returns
DEMO_ONNX = DEMO_DIR / "digits.onnx"
QUICK = 90  # seconds: a case checked up front finishes in a few; one checked after loading HANGS never does
DEAD_PID = 4_000_000  # above Linux's pid_max: never a live process


def export_hanging(tmp_path: Path, *extra: str | Path) -> subprocess.CompletedProcess[str]:
    return run_edgex("export", HANGS, "--to", "executorch", "--out", tmp_path / "out", *extra, timeout=QUICK)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real .tflite and .pte files of the demo model (float, dynamic-range, XNNPACK, portable) to damage."""
    folder = tmp_path_factory.mktemp("artifacts")
    paths = in_worker("tf", "tests.fault_targets:tflite_files", str(folder))
    paths += in_worker("executorch", "tests.fault_targets:pte_files", str(folder))
    return {Path(p).stem.removeprefix("digits_"): Path(p) for p in paths}


def _npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


# --- paths: every write and delete stays inside the output folder ---------------------------------------------


@pytest.mark.parametrize("name", ["../escaped", "sub/../../escaped", "ABSOLUTE"])
def test_artifact_name_cannot_leave_the_output_folder(tmp_path: Path, name: str) -> None:
    """Was: `--name ../../x` or an absolute name wrote the artifact outside --out."""
    name = str(tmp_path / "escaped") if name == "ABSOLUTE" else name
    result = run_edgex("export", "demo", "--name", name, "--out", tmp_path / "out", "--runs", "0", timeout=QUICK)
    assert_one_line_error(result, 2, "--name")  # refused at parse time (cli options)
    assert not [p for p in tmp_path.rglob("*escaped*")]
    with pytest.raises(UsageError, match="outside the output folder"):  # and by the export API itself
        plan_jobs(ExportConfig(source="demo", name=name, out_dir=tmp_path / "out"), resolve_source(str(DEMO_KERAS)))


def _tampered_state(cell: Path, victims: list[str]) -> None:
    state = {
        "schema": "edgex.cell/1",
        "cell": "m/t",
        "built": "2026-01-01T00:00:00+00:00",
        "cacheable": True,
        "fingerprint": {"digest": "0", "parts": {}},
        "outcome": {"cell": "m/t", "report": None, "artifacts": [{"file": v, "sha256": "0"} for v in victims]},
    }
    cell.mkdir(parents=True)
    (cell / ".edgex-cell.json").write_text(json.dumps(state))


def test_tampered_cell_state_is_ignored_and_deletes_nothing(tmp_path: Path) -> None:
    """Was: a rebuild deleted every path a cell's .edgex-cell.json listed, '../x' and absolute ones included."""
    outside, absolute = tmp_path / "victim.txt", tmp_path / "victim-abs.txt"
    for victim in (outside, absolute):
        victim.write_text("keep me")
    cell = tmp_path / "out" / "m" / "t"
    _tampered_state(cell, ["../../../victim.txt", str(absolute)])
    assert read_state(cell) is None  # untrusted: as if never built
    tampered = json.loads((cell / ".edgex-cell.json").read_text())
    _prune(cell, tampered, CellOutcome("m/t"))  # even handed the raw file, pruning stays in the cell
    assert outside.read_text() == "keep me" and absolute.read_text() == "keep me"
    assert remove_inside(cell, "../../../victim.txt") is False
    (cell / "old.tflite").write_text("x")
    assert remove_inside(cell, "old.tflite") is True and not (cell / "old.tflite").exists()


def test_build_with_a_tampered_cell_state_deletes_nothing_outside(tmp_path: Path) -> None:
    """The same through `edgex build --force` of a cell that fails fast (its validation data holds NaN)."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    _npz(tmp_path / "nan.npz", image=np.full((4, 8, 8, 1), np.nan, np.float32))
    (tmp_path / "edgex.toml").write_text(
        '[build]\nout = "out"\n[models.m]\nsource = "demo"\nvalidation = "nan.npz"\n'
        '[targets.t]\ntarget = "tflite"\nquantize = "none"\n'
    )
    _tampered_state(tmp_path / "out" / "m" / "t", ["../../../victim.txt", str(victim)])
    result = run_edgex("build", "--config", tmp_path / "edgex.toml", "--force", "--runs", "0", timeout=QUICK)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "NaN" in result.stdout + result.stderr
    assert victim.read_text() == "keep me"


def test_build_file_name_cannot_leave_the_output_folder(tmp_path: Path) -> None:
    """Was: `name = "../../x"` in edgex.toml wrote outside the build folder (refused at parse time or per cell)."""
    (tmp_path / "edgex.toml").write_text(
        '[build]\nout = "out"\n[models.m]\nsource = "demo"\nname = "../../escaped"\n'
        '[targets.t]\ntarget = "tflite"\nquantize = "none"\n'
    )
    result = run_edgex("build", "--config", tmp_path / "edgex.toml", "--runs", "0", timeout=QUICK)
    assert_one_line_error(result, 2, "name")
    assert not [p for p in tmp_path.parent.rglob("escaped*")]


# --- data: checked up front, bad data is bad input (exit 2), never a parity verdict --------------------------


def _bad_data_cases(tmp_path: Path) -> dict[str, tuple[list[str | Path], tuple[str, ...]]]:
    good = np.load(DEMO_VAL)["image"][:20]
    nan = good.copy()
    nan[3, 2, 2, 0] = np.nan
    inf = good.copy()
    inf[0, 0, 0, 0] = np.inf
    return {
        "nan-calibration": (["-q", "int8", "--calib", _npz(tmp_path / "c.npz", image=nan)], ("calibration", "NaN")),
        "inf-validation": (["--validate", _npz(tmp_path / "v.npz", image=inf)], ("validation", "NaN/Inf")),
        "all-nan-validation": (
            ["--validate", _npz(tmp_path / "n.npz", image=np.full_like(good, np.nan))],
            ("validation", "NaN/Inf"),
        ),
        "complex": (["--validate", _npz(tmp_path / "x.npz", image=good.astype(np.complex64))], ("complex",)),
        "strings": (["--validate", _npz(tmp_path / "s.npz", image=np.array(["a", "b"]))], ("string",)),
        "objects": (
            ["--validate", _npz(tmp_path / "o.npz", image=np.array([{"a": 1}, None], dtype=object))],
            ("not a readable numpy file", "pickle"),
        ),
        "std-zero": (["--validate", DEMO_VAL, "--std", "0"], ("--std 0",)),
        "missing-validation": (["--validate", tmp_path / "nope.npz"], ("nope.npz", "no such file")),
        "missing-labels": (["--validate", DEMO_VAL, "--labels", tmp_path / "nope.npy"], ("labels", "no such file")),
        "negative-labels": (
            ["--validate", DEMO_VAL, "--labels", _npy(tmp_path / "neg.npy", -np.ones(359, np.int64))],
            ("negative class id",),
        ),
        "nan-labels": (
            ["--validate", DEMO_VAL, "--labels", _npy(tmp_path / "nanl.npy", np.full(359, np.nan))],
            ("integer class ids",),
        ),
        "report-json-is-a-folder": (["--report-json", tmp_path], ("--report-json", "is a folder")),
        "report-under-a-file": (["--junit", DEMO_VAL / "junit.xml"], ("--junit", "is a file, not a folder")),
    }


def _npy(path: Path, array: np.ndarray) -> Path:
    np.save(path, array)
    return path


BAD_DATA = [
    "nan-calibration", "inf-validation", "all-nan-validation", "complex", "strings", "objects", "std-zero",
    "missing-validation", "missing-labels", "negative-labels", "nan-labels", "report-json-is-a-folder",
    "report-under-a-file",
]  # fmt: skip


@pytest.mark.parametrize("case", BAD_DATA)
def test_bad_data_and_report_paths_are_refused_before_the_model_loads(tmp_path: Path, case: str) -> None:
    """Was: NaN calibration crashed the TF worker (exit 3), NaN/Inf validation or --std 0 failed parity (exit 1),
    all-NaN data gave 100 % agreement, complex arrays were cast, string/object arrays gave exit 70, a missing
    validation file or a folder as --report-json was noticed only after the model loaded (or after the run)."""
    args, words = _bad_data_cases(tmp_path)[case]
    clock = time.perf_counter()
    result = export_hanging(tmp_path, *args)
    assert_one_line_error(result, 2, *words)
    assert time.perf_counter() - clock < QUICK
    assert leftovers(tmp_path / "out") == []


@pytest.mark.parametrize(
    ("labels", "words"),
    [(np.arange(359) % 10 + 100, ("up to class 109", "'probs' has 10 classes")), (np.full(359, 10), ("class 10",))],
)
def test_labels_out_of_range_for_the_class_output(tmp_path: Path, labels: np.ndarray, words: tuple[str, ...]) -> None:
    """Was: labels 100..109 for a 10-class model gave PASS with 0 % accuracy."""
    labels_path = _npy(tmp_path / "labels.npy", labels.astype(np.int64))
    result = run_edgex(
        "validate", DEMO_ONNX, DEMO_ONNX, "--data", DEMO_VAL, "--labels", labels_path, "--runs", "0", timeout=300
    )
    assert_one_line_error(result, 2, *words)


def test_labels_in_range_still_pass(tmp_path: Path) -> None:
    """The good case beside it: the demo's own labels, the model against itself."""
    result = run_edgex(
        "validate", DEMO_ONNX, DEMO_ONNX, "--data", DEMO_VAL, "--labels", DEMO_LABELS, "--runs", "0", timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout


def test_validate_an_artifact_of_another_input_shape(tmp_path: Path) -> None:
    """Was: exit 3 with onnxruntime's error code; now exit 2 naming both shapes."""
    other = tmp_path / "small.onnx"
    in_worker("onnx", "tests.fault_targets:onnx_with_input", str(other), [1, 4, 4, 1])
    report = tmp_path / "report.json"
    result = run_edgex(
        "validate", DEMO_ONNX, other, "--data", DEMO_VAL, "--runs", "0", "--report-json", report, timeout=300
    )
    assert result.returncode == 2, result.stdout + result.stderr  # row-scoped: on the artifact's row
    assert "FAIL exit 2" in result.stdout and "Traceback" not in result.stderr
    row = json.loads(report.read_text())["rows"][0]
    assert row["error_exit_code"] == 2
    assert all(word in row["error"] for word in ("small.onnx", "4x4x1", "8x8x1"))


# --- workers: bounded by --timeout, never outliving the CLI ---------------------------------------------------


def test_a_factory_that_never_returns_times_out(tmp_path: Path) -> None:
    """Was: loading ignored --timeout and hung forever."""
    result = export_hanging(tmp_path, "--timeout", "20")
    assert_one_line_error(result, 2, "timed out after 20 s", "--timeout")


def _descendants_when_started(process: subprocess.Popen[str]) -> list[psutil.Process]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        children = psutil.Process(process.pid).children(recursive=True)
        if len(children) >= 2:  # the reference's worker and the converter's
            time.sleep(3)  # let them start and import
            return psutil.Process(process.pid).children(recursive=True)
        time.sleep(0.2)
    raise AssertionError("the CLI started no workers")


@pytest.mark.parametrize(
    ("signum", "code", "line"),
    [(signal.SIGTERM, 143, "edgex: terminated"), (signal.SIGINT, 130, "edgex: aborted"), (signal.SIGKILL, -9, "")],
)
def test_workers_die_with_the_cli(tmp_path: Path, signum: int, code: int, line: str) -> None:
    """Was: after SIGTERM or SIGKILL of the CLI the workers kept running (parent 1); SIGTERM printed nothing."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "edgex", "export", HANGS, "--to", "executorch", "--out", str(tmp_path / "o")]
    # As from a terminal: a runner that starts jobs in the background passes SIGINT on ignored, and Python keeps it so.
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    workers: list[psutil.Process] = []
    try:
        workers = _descendants_when_started(process)
        os.kill(process.pid, signum)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == code, stderr
        if line:
            assert [text for text in stderr.splitlines() if text.strip()] == [stderr.strip()], stderr
            assert stderr.strip().startswith(line) and "Traceback" not in stderr
        _, alive = psutil.wait_procs(workers, timeout=15)
        assert alive == [], [p.cmdline() for p in alive]
    finally:
        for leftover in [psutil.Process(process.pid), *workers] if process.poll() is None else workers:
            if leftover.is_running():
                leftover.kill()


# --- outputs: no stray files, the verdict equals the exit code ------------------------------------------------


def test_a_failed_report_write_leaves_no_temp_file(tmp_path: Path) -> None:
    """Was: a report path that is a folder left `.edgex-tmp-*` beside it."""
    (tmp_path / "report.json").mkdir()
    with pytest.raises(UsageError, match="cannot write report"):
        write_text_atomic(tmp_path / "report.json", "{}")
    assert leftovers(tmp_path) == ["report.json"]


def test_temp_files_of_dead_runs_are_swept_and_live_ones_kept(tmp_path: Path) -> None:
    """Was: what a SIGKILLed run left in --out stayed there forever."""
    dead_file, dead_dir = tmp_path / f".edgex-tmp-{DEAD_PID}-abc.tflite", tmp_path / f".edgex-tmp-{DEAD_PID}-onnx2tf-x"
    legacy, live = tmp_path / ".edgex-route-old", tmp_path / f".edgex-tmp-{os.getpid()}-mine"
    dead_file.write_text("half an artifact")
    (dead_dir / "out").mkdir(parents=True)
    legacy.mkdir()
    live.write_text("a run in progress")
    (tmp_path / "model.tflite").write_text("an artifact")
    prepare_output_dir(tmp_path)
    assert leftovers(tmp_path) == sorted([live.name, "model.tflite"])
    assert sweep_temps(tmp_path) == []


def test_worker_logs_of_dead_runs_are_swept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Was: a SIGKILLed run's worker logs stayed in the system temp dir."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    names = [f"edgex-tf-{DEAD_PID}-abc.log", f"edgex-litert-torch-{DEAD_PID}-x_1.log", f"edgex-tf-{os.getpid()}-a.log",
             "edgex-tf-kept-abc.log", "other.log"]  # fmt: skip
    (tmp_path / f"edgex-run-{DEAD_PID}-abc" / "sub").mkdir(parents=True)  # a dead pool's TMPDIR for its workers
    for name in names:
        (tmp_path / name).write_text("log")
    sweep_worker_logs()
    assert leftovers(tmp_path) == sorted(names[2:])


def test_onnx_to_tflite_export_leaves_nothing_in_temp_and_replaces_symlinks(tmp_path: Path) -> None:
    """Was: every ONNX->TFLite export left a ~1 MB `edgex-onnx2tf-*` folder in the system temp dir. Also kept: an
    artifact path that is a symlink is replaced, the file it pointed to is untouched."""
    temp, out = tmp_path / "tmp", tmp_path / "out"
    temp.mkdir()
    out.mkdir()
    outside = tmp_path / "outside.tflite"
    outside.write_text("not yours")
    (out / "digits_fp32.tflite").symlink_to(outside)
    env_tmp = {"TMPDIR": str(temp)}
    result = _run_with_env(env_tmp, "export", DEMO_ONNX, "--to", "tflite", "-q", "none", "--out", out, "--force",
                           "--validate", DEMO_VAL, "--runs", "0")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert leftovers(temp) == []
    assert leftovers(out) == ["digits_fp32.tflite"]
    assert not (out / "digits_fp32.tflite").is_symlink()
    assert outside.read_text() == "not yours"


def _run_with_env(env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-m", "edgex", *map(str, args)], env=full, capture_output=True, text=True, timeout=600
    )


def test_malformed_reports_are_bad_input(tmp_path: Path) -> None:
    """Was: `edgex report` on a truncated or hand-edited report gave exit 70."""
    documents = {
        "run.json": {"schema": "edgex.report/1"},
        "build.json": {"schema": "edgex.build/1", "cells": [{"id": "m/t"}]},
        "rows.json": {"schema": "edgex.build/1", "cells": "not a list"},
    }
    for name, document in documents.items():
        (tmp_path / name).write_text(json.dumps(document))
        result = run_edgex("report", tmp_path / name, "--html", tmp_path / "r.html")
        assert_one_line_error(result, 2, name, "damaged")
    (tmp_path / "cut.json").write_text('{"schema": "edgex.report/1", "rows": [')
    assert_one_line_error(run_edgex("report", tmp_path / "cut.json", "--junit", tmp_path / "j.xml"), 2, "not JSON")


# --- readers: damaged artifacts are bad input -----------------------------------------------------------------


def test_a_truncated_pte_is_not_inspected_as_whole(artifacts: dict[str, Path], tmp_path: Path) -> None:
    """Was: a .pte cut to half its size was inspected (exit 0) as if whole."""
    for name in ("xnnpack", "portable"):
        whole = artifacts[name].read_bytes()
        half = tmp_path / f"half_{name}.pte"
        half.write_bytes(whole[: len(whole) // 2])
        assert run_edgex("inspect", artifacts[name]).returncode == 0
        assert_one_line_error(run_edgex("inspect", half), 2, half.name, "truncated")


def test_truncated_and_garbage_files_are_bad_input(artifacts: dict[str, Path], tmp_path: Path) -> None:
    """Kept: bad model files (cut, random bytes, empty) give exit 2 and one line."""
    whole = artifacts["fp32"].read_bytes()
    cases = {
        "half.tflite": whole[: len(whole) // 2],
        "noise.tflite": np.random.default_rng(0).bytes(4096),
        "empty.pte": b"",
        "noise.pte": b"\x10\x00\x00\x00ET12" + np.random.default_rng(1).bytes(4096),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        assert_one_line_error(run_edgex("inspect", tmp_path / name), 2, name)
    (tmp_path / "noise.onnx").write_bytes(cases["noise.tflite"])
    result = run_edgex("validate", tmp_path / "noise.onnx", DEMO_ONNX, "--data", DEMO_VAL, timeout=300)
    assert_one_line_error(result, 2, "noise.onnx")


FUZZ_PER_FILE = 5000  # 4 real files: 20 000 damaged inputs


@pytest.mark.parametrize(("reader", "kind", "names"), [("tflite", "litert", ("fp32", "dynamic")),
                                                       ("pte", "pte-schema", ("xnnpack", "portable"))])  # fmt: skip
def test_readers_survive_damaged_files(
    artifacts: dict[str, Path], reader: str, kind: str, names: tuple[str, ...]
) -> None:
    """10 000 mutations per format (truncations, bit flips, extreme 32-bit fields, cut and repeated spans) through
    the reader and the inspection summary: each parses or is a UsageError, none takes over 2 s. Found: a .pte
    reader that failed on its second file in a process, and methodless programs that gave exit 70."""
    for seed, name in enumerate(names):
        tally = in_worker(kind, "tests.fault_targets:fuzz_reader", reader, str(artifacts[name]), FUZZ_PER_FILE, seed)
        assert tally["unexpected"] == [], tally["unexpected"][:10]
        assert tally["parsed"] + tally["usage_errors"] == FUZZ_PER_FILE
        assert tally["usage_errors"] > FUZZ_PER_FILE // 10 and tally["parsed"] > 0  # both outcomes exercised
        assert tally["slowest_s"] < 2.0


def test_damaged_files_through_the_cli(artifacts: dict[str, Path], tmp_path: Path) -> None:
    """A few mutations end to end: `edgex inspect` answers exit 0 or a one-line exit 2, never a traceback."""
    for name, suffix in (("dynamic", ".tflite"), ("portable", ".pte")):
        for index, data in enumerate(mutations(artifacts[name].read_bytes(), 5, seed=99)):
            path = tmp_path / f"m{index}{suffix}"
            path.write_bytes(data)
            result = run_edgex("inspect", path, "--json")
            if result.returncode != 0:
                assert_one_line_error(result, 2, path.name)
            else:
                assert json.loads(result.stdout)


# --- kept good cases --------------------------------------------------------------------------------------------


def test_pickled_code_in_weights_is_refused_and_never_runs(tmp_path: Path) -> None:
    """Kept: --weights is loaded with weights_only=True; a pickle that would run a command is refused (exit 2)."""
    marker = tmp_path / "pwned"
    in_worker("torch", "tests.fault_targets:evil_checkpoint", str(tmp_path / "evil.pt"), str(marker))
    result = run_edgex(
        "export", "edgex.demo.digits_torch:build", "--weights", tmp_path / "evil.pt", "--to", "executorch",
        "--out", tmp_path / "out", "--runs", "0", timeout=300,
    )  # fmt: skip
    assert_one_line_error(result, 2, "evil.pt")
    assert not marker.exists()


def test_onnx_external_data_outside_the_model_folder_is_refused(tmp_path: Path) -> None:
    """Kept: an ONNX file whose weights point at '../secret.bin' is refused, not read."""
    (tmp_path / "secret.bin").write_bytes(np.ones(640, np.float32).tobytes())
    (tmp_path / "model").mkdir()
    evil = tmp_path / "model" / "evil.onnx"
    in_worker("onnx", "tests.fault_targets:onnx_with_input", str(evil), [1, 8, 8, 1], "../secret.bin")
    result = run_edgex("validate", evil, DEMO_ONNX, "--data", DEMO_VAL, "--runs", "0", timeout=300)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "evil.onnx" in result.stderr


def test_an_output_folder_under_a_file_is_refused(tmp_path: Path) -> None:
    """Kept: an unwritable --out (a path through a file) is exit 2 before any model loads."""
    (tmp_path / "a-file").write_text("x")
    result = export_hanging(tmp_path, "--out", tmp_path / "a-file" / "dist", "-q", "none")
    assert_one_line_error(result, 2, "not writable")


def test_calibration_sanity_with_good_data_still_reaches_the_model(tmp_path: Path) -> None:
    """The checks refuse bad data only: the demo's own files pass them and the hanging factory is reached."""
    result = export_hanging(tmp_path, "-q", "int8", "--calib", DEMO_CALIB, "--validate", DEMO_VAL, "--timeout", "15")
    assert_one_line_error(result, 2, "timed out")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGKILL, -9)])
def test_parallel_build_cells_die_with_the_cli(tmp_path: Path, signum: int, code: int) -> None:
    """`edgex build -j 2`: cell processes and their workers end with the CLI instead of running to the end."""
    models = "".join(f'[models.m{i}]\nsource = "{HANGS}"\ninput_shapes = [[1, 8, 8, 1]]\n' for i in (1, 2))
    (tmp_path / "edgex.toml").write_text(
        f'[build]\nout = "out"\n{models}[targets.t]\ntarget = "executorch"\nquantize = "none"\n'
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "edgex", "build", "--config", str(tmp_path / "edgex.toml"), "-j", "2"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    descendants: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(descendants) < 6:  # manager, 2 cells, their workers
            time.sleep(0.5)
            descendants = psutil.Process(process.pid).children(recursive=True)
        time.sleep(3)
        descendants = psutil.Process(process.pid).children(recursive=True)
        assert len(descendants) >= 5, [p.cmdline() for p in descendants]
        os.kill(process.pid, signum)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == code, stderr
        _, alive = psutil.wait_procs(descendants, timeout=15)
        assert alive == [], [p.cmdline() for p in alive]
    finally:
        for leftover in [psutil.Process(process.pid), *descendants] if process.poll() is None else descendants:
            if leftover.is_running():
                leftover.kill()
