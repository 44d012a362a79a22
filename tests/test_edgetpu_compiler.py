"""Driving edgetpu_compiler: the subprocess wrapper against tests/fakes/fake_edgetpu_compiler (a clearly named test
double), end-to-end exports through it, compiled-model inspection and validation, and the real compiler or Edge TPU
when this machine has them (skipped otherwise)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from edgex.edgetpu.compiler import ENV_VAR, EXECUTABLE, INSTALL_HINT, compile_model, find_compiler
from edgex.edgetpu.finalize import finalize
from edgex.edgetpu.options import EdgeTPUOptions
from edgex.edgetpu.parser import format_bytes
from edgex.edgetpu.runtime import tpu_status
from edgex.errors import ConversionError, ExitCode, MissingDependencyError, UsageError
from edgex.exporters import ExportOptions
from edgex.inspection.tflite import read_tflite
from edgex.targets import FinalizeRequest, get_target
from tests.helpers import ROOT, leftovers, load_json, run_edgex

FAKE = ROOT / "tests" / "fakes" / "fake_edgetpu_compiler"
REAL_COMPILER = os.environ.get(ENV_VAR) or shutil.which(EXECUTABLE)
TPU_USABLE, TPU_REASON = tpu_status()


@pytest.fixture(scope="module", autouse=True)
def fake_environment() -> Any:
    """The fake's `#!/usr/bin/env python3` must find this Python (it reads models with ai-edge-litert)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        patch.delenv(ENV_VAR, raising=False)
        for name in ("FAKE_EDGETPU_MODE", "FAKE_EDGETPU_MAPPED", "FAKE_EDGETPU_ARGV_LOG"):
            patch.delenv(name, raising=False)
        yield


@pytest.fixture(scope="module")
def demo_compiled(tmp_path_factory: pytest.TempPathFactory, fake_environment: None) -> dict[str, Any]:
    """`edgex export demo --to edgetpu` through the fake compiler (everything maps)."""
    out = tmp_path_factory.mktemp("edgetpu_export")
    report = out / "report.json"
    result = run_edgex(
        "export", "demo", "--to", "edgetpu", "--edgetpu-compiler", FAKE, "--out", out, "--runs", "3",
        "--report-json", report,
    )  # fmt: skip
    return {"result": result, "out": out, "report": load_json(report) if report.exists() else {}}


@pytest.fixture
def int8_model(demo_compiled: dict[str, Any], tmp_path: Path) -> Path:
    """A fresh copy of the demo's int8 model in its own folder, to compile in isolation."""
    target = tmp_path / "model" / "digits_int8.tflite"
    target.parent.mkdir()
    shutil.copy(demo_compiled["out"] / "digits_int8.tflite", target)
    return target


def argv_log(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    log = tmp_path / "argv.json"
    monkeypatch.setenv("FAKE_EDGETPU_ARGV_LOG", str(log))
    return log


# --- end to end through the CLI --------------------------------------------------------------------------------


def test_export_compiles_and_reports_the_operation_table(demo_compiled: dict[str, Any]) -> None:
    result, out, report = demo_compiled["result"], demo_compiled["out"], demo_compiled["report"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert leftovers(out) == [
        "digits_int8.tflite",
        "digits_int8_edgetpu.log",
        "digits_int8_edgetpu.tflite",
        "report.json",
    ]
    assert "edgetpu_compiler operation table" in result.stdout
    assert "9/9 ops on the Edge TPU (100.0%), 1 Edge TPU subgraph(s)" in result.stdout
    row = report["rows"][0]
    assert [Path(a["path"]).name for a in row["extra_artifacts"]] == ["digits_int8_edgetpu.tflite"]
    compiler = row["details"]["edgetpu"]["compiler"]
    assert compiler["returncode"] == 0 and compiler["error"] is None
    assert compiler["report"]["version"] == "16.0.384591198"
    assert (compiler["report"]["tpu_ops"], compiler["report"]["cpu_ops"]) == (9, 0)
    argv = compiler["argv"]
    assert argv[1:3] == ["-s", "-o"] and Path(argv[3]).parent == out and argv[4:6] == ["-t", "180"]
    assert argv[-1] == str(out / "digits_int8.tflite")
    assert row["details"]["edgetpu"]["preflight"]["tpu_ops"] == 9
    if not TPU_USABLE:
        assert any(n.startswith("Edge TPU latency not measured") for n in row["notes"])
        assert row["parity"]["outputs"][0]["top1_agreement"] >= 97.0


def test_inspect_reads_the_darwinn_package(demo_compiled: dict[str, Any]) -> None:
    compiled = demo_compiled["out"] / "digits_int8_edgetpu.tflite"
    result = run_edgex("inspect", compiled, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert summary["custom ops"] == ["edgetpu-custom-op"]
    assert summary["edge tpu"] == "compiled: 1 edgetpu-custom-op of 1 operators"
    assert summary["darwinn min runtime"] == "14"
    assert summary["darwinn compiler"] == "16.0.384591198"
    assert summary["edge tpu executables"] == "2 (execution only, parameter caching)"
    int8 = read_tflite(demo_compiled["out"] / "digits_int8.tflite")
    assert summary["edge tpu parameters"] == format_bytes(sum(t.buffer_bytes for t in int8.tensors if t.constant))
    assert (summary["cpu ops before"], summary["cpu ops after"]) == ("(none)", "(none)")


@pytest.mark.skipif(TPU_USABLE, reason="an Edge TPU is present: the compiled model runs on it")
def test_validate_compiled_model_without_tpu_runs_its_int8_model(demo_compiled: dict[str, Any], tmp_path: Path) -> None:
    compiled = demo_compiled["out"] / "digits_int8_edgetpu.tflite"
    report = tmp_path / "validate.json"
    result = run_edgex("validate", "demo", compiled, "--runs", "3", "--report-json", report)
    assert result.returncode == 0, result.stdout + result.stderr
    row = load_json(report)["rows"][0]
    assert row["artifact"]["path"] == str(compiled)
    note = next(n for n in row["notes"] if n.startswith("ran digits_int8.tflite, the int8 model"))
    assert "digits_int8_edgetpu.tflite was compiled from" in note and note.endswith("Edge TPU latency not measured")
    assert row["runtime"].endswith("(int8 model on the CPU)")
    assert "Edge TPU latency not measured" in result.stdout
    assert row["parity"]["outputs"][0]["top1_agreement"] >= 97.0
    alone = tmp_path / "alone" / compiled.name
    alone.parent.mkdir()
    shutil.copy(compiled, alone)
    missing = run_edgex("validate", "demo", alone, "--runs", "0", "--report-json", tmp_path / "alone.json")
    assert missing.returncode == 4
    assert "is compiled for the Edge TPU and cannot run here" in load_json(tmp_path / "alone.json")["rows"][0]["error"]


def test_min_tpu_ops_gate_fails_with_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_EDGETPU_MODE", "map-prefix")
    monkeypatch.setenv("FAKE_EDGETPU_MAPPED", "4")
    report = tmp_path / "report.json"
    result = run_edgex(
        "export", "demo", "--to", "edgetpu", "--edgetpu-compiler", FAKE, "--out", tmp_path / "out", "--runs", "0",
        "--min-tpu-ops", "100%", "--report-json", report,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "✗" in result.stdout and "tpu_ops 44.4444% < 100% (FAILED)" in result.stdout
    row = load_json(report)["rows"][0]
    assert row["status"] == "parity_failed" and row["error"] is None
    assert row["checks"] == [
        {
            "name": "tpu_ops",
            "output": None,
            "value": pytest.approx(44.444, abs=1e-3),
            "threshold": 100.0,
            "comparison": ">=",
            "passed": False,
            "unit": "%",
        }
    ]
    assert (tmp_path / "out" / "digits_int8_edgetpu.tflite").is_file()  # the compiled model is kept
    assert "pre-flight predicted 9 ops on the Edge TPU; the compiler mapped 4" in row["notes"]
    statuses = {(r["op"], r["status"]) for r in row["details"]["edgetpu"]["compiler"]["report"]["operators"]}
    assert ("RESHAPE", "Operation not supported") in statuses


# --- finalize in-process: what each compiler outcome does to the row -------------------------------------------


def _finalize(model: Path, force: bool = False, **settings: Any):
    request = FinalizeRequest(
        target=get_target("edgetpu"),
        source=None,
        artifact=model,
        out_dir=model.parent,
        force=force,
        options=ExportOptions(io_dtype="uint8", target_options=settings),
        on_step=lambda _step: None,
    )
    return finalize(request)


def test_finalize_partial_mapping_warns_without_a_gate(int8_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_EDGETPU_MODE", "map-prefix")
    monkeypatch.setenv("FAKE_EDGETPU_MAPPED", "7")
    outcome = _finalize(int8_model, compiler=str(FAKE))
    assert outcome.error is None
    assert "warning: only 7 of 9 ops on the Edge TPU" in outcome.notes
    assert [section.title for section in outcome.sections] == [
        "Edge TPU pre-flight (compiler 16.0 rules, runtime 14)",
        "edgetpu_compiler operation table",
    ]
    assert ["SOFTMAX", "1", "Operation not supported"] in outcome.sections[1].rows
    compiled = read_tflite(outcome.extra_artifacts[0])
    assert [op.name for op in compiled.ops] == ["edgetpu-custom-op", "SOFTMAX", "QUANTIZE"]
    inspected = json.loads(run_edgex("inspect", outcome.extra_artifacts[0], "--json").stdout)
    assert inspected["summary"]["cpu ops after"] == "#1 SOFTMAX v2, #2 QUANTIZE v1"


def test_finalize_compiler_failure_keeps_int8_and_validates_it(
    int8_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_EDGETPU_MODE", "failure-text")
    outcome = _finalize(int8_model, compiler=str(FAKE))
    assert isinstance(outcome.error, ConversionError) and outcome.error.exit_code == ExitCode.CONVERSION_FAILED
    assert "Didn't find op for builtin opcode 'CONV_2D' version '6'" in outcome.error.message
    assert outcome.validate_anyway and outcome.validate_path is None  # parity runs on the int8 model
    assert leftovers(int8_model.parent) == ["digits_int8.tflite"]
    assert (
        outcome.sections[-1].notes[-1] == "Edge TPU latency not measured: parity ran on digits_int8.tflite on the CPU"
    )


def test_finalize_without_compiler_exit_4_after_preflight(int8_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    outcome = _finalize(int8_model)
    assert isinstance(outcome.error, MissingDependencyError) and outcome.error.exit_code == 4
    assert outcome.error.hint == INSTALL_HINT
    assert outcome.sections[0].notes[0] == "9/9 ops predicted on the Edge TPU (100.0%)"
    assert outcome.details["edgetpu"]["preflight"]["percent_on_tpu"] == 100.0


# --- the subprocess wrapper against the fake -------------------------------------------------------------------


def test_flags_are_passed_as_argv_without_a_shell(
    int8_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = argv_log(monkeypatch, tmp_path)
    odd = int8_model.with_name("my model; touch pwned.tflite")
    int8_model.rename(odd)
    options = EdgeTPUOptions(min_runtime=13, search_delegate=True, delegate_search_step=2, timeout=30)
    run = compile_model(FAKE, odd, odd.parent, options, force=False)
    assert run.error is None, run.transcript
    seen = json.loads(log.read_text())
    staging = seen["cwd"]
    assert seen["argv"][1:] == ["-s", "-o", staging, "-m", "13", "-d", "-k", "2", "-t", "30", str(odd)]
    assert Path(staging).parent == odd.parent and not Path(staging).exists()  # staging folder removed
    assert [p.name for p in run.outputs] == ["my model; touch pwned_edgetpu.tflite"]
    assert run.log is not None and run.log.name == "my model; touch pwned_edgetpu.log"
    assert not (odd.parent / "pwned.tflite").exists()
    assert run.report.tpu_ops == 9 and run.report.total_ops == 9


def test_segments_are_all_published(int8_model: Path) -> None:
    run = compile_model(FAKE, int8_model, int8_model.parent, EdgeTPUOptions(num_segments=3), force=False)
    assert run.error is None
    assert "-n" in run.argv and run.argv[run.argv.index("-n") + 1] == "3"
    assert [p.name for p in run.outputs] == [f"digits_int8_segment_{i}_of_3_edgetpu.tflite" for i in range(3)]
    assert all(p.is_file() for p in run.outputs)


def test_failure_text_with_exit_0_is_a_failure(int8_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_EDGETPU_MODE", "failure-text")
    run = compile_model(FAKE, int8_model, int8_model.parent, EdgeTPUOptions(), force=False)
    assert run.returncode == 0 and isinstance(run.error, ConversionError)
    assert run.error.message == "edgetpu_compiler failed: Didn't find op for builtin opcode 'CONV_2D' version '6'"
    assert "edgex edgetpu check" in (run.error.hint or "")
    assert "Model could not be parsed" in (run.error.details or "")
    assert run.outputs == [] and leftovers(int8_model.parent) == ["digits_int8.tflite"]


def test_nonzero_exit_is_a_failure(int8_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_EDGETPU_MODE", "nonzero-exit")
    run = compile_model(FAKE, int8_model, int8_model.parent, EdgeTPUOptions(), force=False)
    assert run.returncode == 1
    assert run.error is not None and run.error.message == (
        "edgetpu_compiler failed: Internal compiler error. Aborting! (exit code 1)"
    )
    assert leftovers(int8_model.parent) == ["digits_int8.tflite"]


def test_hang_past_timeout_is_killed(int8_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_EDGETPU_MODE", "hang")
    log = argv_log(monkeypatch, tmp_path)
    clock = time.monotonic()
    run = compile_model(FAKE, int8_model, int8_model.parent, EdgeTPUOptions(timeout=1), force=False, grace=1.0)
    assert time.monotonic() - clock < 15
    assert run.returncode is None and isinstance(run.error, ConversionError)
    assert run.error.message == "edgetpu_compiler did not finish within 2 s and was stopped"
    assert "Started a compilation timeout timer of 1 seconds." in run.stdout  # what it printed before hanging
    pid = json.loads(log.read_text())["pid"]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert leftovers(int8_model.parent) == ["digits_int8.tflite"]


def test_missing_output_file_is_a_failure_despite_success_text(
    int8_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_EDGETPU_MODE", "no-output")
    run = compile_model(FAKE, int8_model, int8_model.parent, EdgeTPUOptions(), force=False)
    assert run.returncode == 0 and run.report.succeeded_text
    assert (
        run.error is not None and run.error.message == "edgetpu_compiler failed: it wrote no digits_int8_edgetpu.tflite"
    )
    assert leftovers(int8_model.parent) == ["digits_int8.tflite"]


def test_existing_compiled_model_needs_force(int8_model: Path) -> None:
    existing = int8_model.with_name("digits_int8_edgetpu.tflite")
    existing.write_bytes(b"not a model")
    with pytest.raises(UsageError, match="already exists"):
        compile_model(FAKE, int8_model, int8_model.parent, EdgeTPUOptions(), force=False)
    assert existing.read_bytes() == b"not a model"
    run = compile_model(FAKE, int8_model, int8_model.parent, EdgeTPUOptions(), force=True)
    assert run.error is None and existing.read_bytes()[4:8] == b"TFL3"


def test_compiler_discovery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match=r"--edgetpu-compiler .*: no such file"):
        find_compiler(tmp_path / "missing")
    plain = tmp_path / "plain"
    plain.write_text("")
    with pytest.raises(UsageError, match="not executable"):
        find_compiler(plain)
    monkeypatch.setenv(ENV_VAR, str(FAKE))
    assert find_compiler() == FAKE
    monkeypatch.delenv(ENV_VAR)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(MissingDependencyError) as missing:
        find_compiler()
    assert missing.value.exit_code == 4 and "apt-get install edgetpu-compiler" in (missing.value.hint or "")
    (bin_dir / EXECUTABLE).symlink_to(FAKE)
    assert find_compiler() == bin_dir / EXECUTABLE


# --- real tools, when this machine has them ---------------------------------------------------------------------


@pytest.mark.skipif(REAL_COMPILER is None, reason="edgetpu_compiler is not installed (Coral apt repo, x86-64 only)")
def test_real_compiler_maps_the_demo_as_predicted(int8_model: Path) -> None:
    run = compile_model(Path(REAL_COMPILER or ""), int8_model, int8_model.parent, EdgeTPUOptions(), force=False)
    assert run.error is None, run.transcript
    assert run.report.version and run.report.total_ops == 9
    assert run.report.tpu_ops == 9 and run.report.subgraphs == 1
    compiled = read_tflite(run.outputs[0])
    assert [op.name for op in compiled.ops] == ["edgetpu-custom-op"]


@pytest.mark.skipif(not TPU_USABLE, reason=f"no usable Edge TPU here: {TPU_REASON}")
def test_validate_on_a_real_edge_tpu(demo_compiled: dict[str, Any], tmp_path: Path) -> None:
    report = tmp_path / "validate.json"
    compiled = demo_compiled["out"] / "digits_int8_edgetpu.tflite"
    result = run_edgex("validate", "demo", compiled, "--runs", "10", "--report-json", report)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Edge TPU delegate" in load_json(report)["rows"][0]["runtime"]
