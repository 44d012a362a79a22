"""Pre-flight prediction on real int8 models exported by edgex (no compiler here: `--to edgetpu` ends with exit 4)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from edgex.edgetpu import ops
from edgex.edgetpu.compiler import ENV_VAR
from edgex.edgetpu.preflight import COMPILE_FAILS, check_model
from edgex.inspection.tflite import read_tflite
from tests.helpers import in_worker, leftovers, load_json, run_edgex

DEMO_OPS = [
    "QUANTIZE",
    "CONV_2D",
    "CONV_2D",
    "MAX_POOL_2D",
    "RESHAPE",
    "FULLY_CONNECTED",
    "FULLY_CONNECTED",
    "SOFTMAX",
    "QUANTIZE",
]


@pytest.fixture(scope="module")
def no_compiler() -> Any:
    """PATH without any edgetpu_compiler (only this Python's folder) and no $EDGEX_EDGETPU_COMPILER."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", str(Path(sys.executable).parent))
        patch.delenv(ENV_VAR, raising=False)
        yield


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, no_compiler: None) -> dict[str, dict[str, Any]]:
    """Real int8 models: three small Keras models and the demo, exported the way users would."""
    folder = tmp_path_factory.mktemp("edgetpu_models")
    names = in_worker("tf", "tests.test_edgetpu_models:build_all", str(folder))
    assert names == ["conv_pool", "gather_late", "grouped", "leaky_early"]

    def keras_run(name: str, *args: str) -> list[str | Path]:
        return [folder / f"{name}.keras", *args, "--calib", folder / f"{name}_calib.npz"]

    runs: dict[str, list[str | Path]] = {
        name: keras_run(name, "--to", "edgetpu") for name in ("gather_late", "grouped", "leaky_early")
    }
    runs["conv_pool_batch2"] = keras_run("conv_pool", "--to", "tflite", "-q", "int8", "--batch-size", "2")
    runs["demo"] = ["demo", "--to", "edgetpu", "--runs", "0"]
    runs["demo_dynamic"] = ["demo", "--to", "tflite", "-q", "int8", "--dynamic-batch", "--runs", "0"]
    results = {}
    for name, args in runs.items():
        out = folder / f"out_{name}"
        result = run_edgex("export", *args, "--out", out, "--report-json", folder / f"{name}.json")
        stem = "digits" if name.startswith("demo") else name.removesuffix("_batch2")
        results[name] = {
            "result": result,
            "out": out,
            "report": load_json(folder / f"{name}.json"),
            "model": out / f"{stem}_int8.tflite",
        }
    return results


def test_demo_without_compiler_writes_int8_prints_100_percent_and_exits_4(exported: dict) -> None:
    run = exported["demo"]
    result = run["result"]
    assert result.returncode == 4, result.stdout + result.stderr
    assert run["model"].is_file()
    assert leftovers(run["out"]) == ["digits_int8.tflite"]  # no compiled model, no temporary files
    stdout = result.stdout
    assert "Edge TPU pre-flight" in stdout and "9/9 ops predicted on the Edge TPU (100.0%)" in stdout
    assert stdout.index("Edge TPU pre-flight") < stdout.index("FAIL exit 4")
    assert "apt-get install edgetpu-compiler" in stdout and "--edgetpu-compiler" in stdout
    row = run["report"]["rows"][0]
    assert (row["target"], row["mode"], row["error_exit_code"]) == ("edgetpu", "int8", 4)
    preflight = row["details"]["edgetpu"]["preflight"]
    assert [op["op"] for op in preflight["ops"]] == DEMO_OPS
    assert (preflight["tpu_ops"], preflight["percent_on_tpu"], preflight["compiles"]) == (9, 100.0, True)
    assert preflight["min_runtime"] == 14 and preflight["first_fallback"] is None
    # parity still ran, on the int8 model, and the report says TPU latency was not measured
    assert row["parity"]["outputs"][0]["top1_agreement"] >= 97.0
    assert any("Edge TPU latency not measured" in note for note in row["notes"])
    assert "Edge TPU latency not measured" in stdout
    # the Edge TPU defaults: uint8 I/O, batch 1
    model = read_tflite(run["model"])
    assert [model.tensors[i].dtype for i in model.inputs + model.outputs] == ["uint8", "uint8"]
    assert model.tensors[model.inputs[0]].shape == (1, 8, 8, 1)


def test_demo_parameters_fit_the_on_chip_cache(exported: dict) -> None:
    path = exported["demo"]["model"]
    result = check_model(path)
    model = read_tflite(path)
    assert result.parameter_bytes == sum(t.buffer_bytes for t in model.tensors if t.constant) > 80_000
    assert result.parameter_bytes < ops.ON_CHIP_PARAMETER_BYTES
    assert any("of the ~8 MiB on-chip cache" in note for note in result.notes)


def test_unsupported_op_early_sends_every_later_op_to_the_cpu(exported: dict) -> None:
    result = check_model(exported["leaky_early"]["model"])
    names = [op.op for op in result.ops]
    first = names.index("LEAKY_RELU")
    assert first == 2 and [op.on_tpu for op in result.ops[:first]] == [True, True]
    leaky = result.ops[first]
    assert (leaky.on_tpu, leaky.status) == (False, ops.NOT_SUPPORTED)
    assert "not in the Edge TPU's supported operations" in leaky.reason
    later = result.ops[first + 1 :]
    assert len(later) >= 5 and all(not op.on_tpu and op.status == ops.SUBGRAPH for op in later)
    assert "CONV_2D" in [op.op for op in later]  # a supported op, on the CPU only because of the partition rule
    assert result.first_fallback is leaky and result.tpu_ops == 2 and result.falls_back


def test_unsupported_op_late_keeps_the_prefix_on_the_edge_tpu(exported: dict) -> None:
    result = check_model(exported["gather_late"]["model"])
    names = [op.op for op in result.ops]
    first = names.index("GATHER")
    assert names[:first] == ["QUANTIZE", "CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED"]
    assert all(op.on_tpu and op.status == ops.MAPPED for op in result.ops[:first])
    assert result.ops[first].status == ops.NOT_SUPPORTED
    assert [op.status for op in result.ops[first + 1 :]] == [ops.SUBGRAPH] * (len(names) - first - 1)
    assert result.percent == pytest.approx(100 * first / len(names))
    assert f"from op #{first} (GATHER) on" in result.summary()
    # the export report carries the same prediction
    preflight = exported["gather_late"]["report"]["rows"][0]["details"]["edgetpu"]["preflight"]
    assert preflight["first_fallback"]["op"] == "GATHER" and preflight["tpu_ops"] == first


def test_four_dimensional_tensor_breaks_the_rank_rule(exported: dict) -> None:
    run = exported["conv_pool_batch2"]
    assert run["result"].returncode == 0, run["result"].stdout
    result = check_model(run["model"])
    first = result.ops[0]
    assert (first.op, first.on_tpu, first.status) == ("CONV_2D", False, ops.UNSUPPORTED_RANK)
    assert "[2, 8, 8, 1]" in first.reason and "3 innermost" in first.reason
    assert result.tpu_ops == 0 and all(op.status == ops.SUBGRAPH for op in result.ops[1:])


def test_dynamic_shape_fails_compilation(exported: dict) -> None:
    assert exported["demo_dynamic"]["result"].returncode == 0
    result = check_model(exported["demo_dynamic"]["model"])
    assert len(result.blockers) == 1 and "dynamic-sized tensors" in result.blockers[0]
    assert "[-1, 8, 8, 1]" in result.blockers[0]
    assert result.tpu_ops == 0 and all(op.status == COMPILE_FAILS for op in result.ops)
    assert result.summary().startswith("compilation will fail")


def test_op_version_newer_than_compiler_16_fails_compilation(exported: dict) -> None:
    run = exported["grouped"]
    assert run["result"].returncode == 4  # exported fine; only the compiler is missing
    result = check_model(run["model"])
    assert result.blockers == [
        "Didn't find op for builtin opcode 'CONV_2D' version '6' (compiler 16.0 parses up to version 5); version 6 "
        "comes from a grouped convolution (Conv2D groups > 1): use groups=1, or split it into convolutions and a "
        "concatenation"
    ]
    conv = [op for op in result.ops if op.op == "CONV_2D"]
    assert conv and all(op.version == 6 and "version '6'" in op.reason for op in conv)
    assert result.tpu_ops == 0 and not result.as_dict()["compiles"]


def test_old_runtime_leaves_leading_quantize_on_cpu_without_splitting(exported: dict) -> None:
    result = check_model(exported["demo"]["model"], min_runtime=12)
    first, last = result.ops[0], result.ops[-1]
    assert (first.op, first.on_tpu, first.status) == ("QUANTIZE", False, ops.NOT_SUPPORTED)
    assert "needs Edge TPU runtime >= 13 (compiling for 12)" in first.reason
    assert all(op.on_tpu for op in result.ops[1:-1])
    assert (last.op, last.on_tpu) == ("QUANTIZE", False)
    assert result.tpu_ops == 7


def test_check_command_table_json_and_strict(exported: dict) -> None:
    demo = exported["demo"]["model"]
    table = run_edgex("edgetpu", "check", demo)
    assert table.returncode == 0 and "9/9 ops predicted on the Edge TPU (100.0%)" in table.stdout
    as_json = run_edgex("edgetpu", "check", demo, "--json", "--strict")
    assert as_json.returncode == 0
    body = json.loads(as_json.stdout)
    assert [op["op"] for op in body["ops"]] == DEMO_OPS and body["percent_on_tpu"] == 100.0
    old = json.loads(run_edgex("edgetpu", "check", demo, "--json", "--min-runtime", "12").stdout)
    assert (old["min_runtime"], old["tpu_ops"]) == (12, 7)
    leaky = run_edgex("edgetpu", "check", exported["leaky_early"]["model"], "--strict")
    assert leaky.returncode == 1 and "LEAKY_RELU" in leaky.stdout
    assert run_edgex("edgetpu", "check", exported["leaky_early"]["model"]).returncode == 0
    assert run_edgex("edgetpu", "check", exported["demo_dynamic"]["model"], "--strict").returncode == 1
    missing = run_edgex("edgetpu", "check", exported["demo"]["out"] / "nope.tflite")
    assert missing.returncode == 2 and "no such file" in missing.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dynamic-batch"], "needs static shapes"),
        (["--batch-size", "4"], "runs batch 1"),
        (["--io-dtype", "float32"], "--io-dtype float32 is not valid for --to edgetpu"),
        (["--edgetpu-compiler", "/nonexistent/edgetpu_compiler"], "no such file"),
        (["--delegate-search-step", "2"], "needs --search-delegate"),
        (["-q", "fp16"], "fp16"),
    ],
)
def test_edgetpu_target_rejects_what_it_cannot_build_before_converting(
    tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "out"
    result = run_edgex("export", "demo", "--to", "edgetpu", "--out", out, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert leftovers(out) == []  # rejected before anything was converted
