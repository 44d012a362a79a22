"""The compiler-output parser on outputs written in the documented format, and the Edge TPU settings (no framework)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgex.edgetpu import ops
from edgex.edgetpu.options import EdgeTPUOptions, parse_percent
from edgex.edgetpu.parser import format_bytes, parse_operator_table, parse_output, parse_size
from edgex.errors import UsageError

DATA = Path(__file__).parent / "data" / "edgetpu"


def read(name: str) -> str:
    return (DATA / name).read_text()


def test_success_with_operation_table_on_stdout() -> None:
    report = parse_output(read("success_stdout.txt"))
    assert report.version == "16.0.384591198"
    assert report.compile_ms == 394
    assert report.succeeded_text
    assert (report.input_model, report.output_model) == ("digits_int8.tflite", "digits_int8_edgetpu.tflite")
    assert report.log_name == "digits_int8_edgetpu.log"
    assert report.input_bytes == round(91.80 * 1024)
    assert report.on_chip_used_bytes == 95 * 1024
    assert report.on_chip_remaining_bytes == round(7.81 * 1024 * 1024)
    assert report.off_chip_bytes == 0
    assert (report.subgraphs, report.total_ops) == (1, 9)
    # No "Number of operations that will run on ..." lines when everything maps: counts come from the table.
    assert (report.reported_tpu_ops, report.reported_cpu_ops) == (None, None)
    assert (report.tpu_ops, report.cpu_ops, report.percent_on_tpu) == (9, 0, 100.0)
    assert {(row.op, row.count) for row in report.operators} == {
        ("QUANTIZE", 2),
        ("SOFTMAX", 1),
        ("CONV_2D", 2),
        ("FULLY_CONNECTED", 2),
        ("RESHAPE", 1),
        ("MAX_POOL_2D", 1),
    }
    assert report.failure is None and report.errors == []


def test_table_only_in_the_log_is_read_from_the_log() -> None:
    stdout = read("logonly_stdout.txt")
    assert parse_output(stdout).operators == []
    report = parse_output(stdout, read("success.log"))
    assert report.tpu_ops == 9 and report.cpu_ops == 0
    assert sum(row.count for row in report.operators) == report.total_ops


def test_partial_mapping_every_documented_status() -> None:
    report = parse_output(read("partial_stdout.txt"))
    assert (report.reported_tpu_ops, report.reported_cpu_ops) == (19, 11)
    assert report.tpu_ops == sum(row.count for row in report.operators if row.on_tpu) == 19
    assert sum(row.count for row in report.operators) == report.total_ops == 30
    assert report.percent_on_tpu == pytest.approx(100 * 19 / 30)
    assert report.off_chip_bytes == round(1.54 * 1024 * 1024)
    statuses = {row.status for row in report.operators}
    assert statuses == {
        ops.MAPPED,
        ops.SUBGRAPH,
        ops.VERSION_NOT_SUPPORTED,
        ops.UNSPECIFIED,
        ops.NOT_SUPPORTED,
        ops.UNSUPPORTED_TYPE,
        ops.UNSUPPORTED_RANK,
        ops.NOT_CONSTANT,
    }
    # one row per (operator, status): QUANTIZE appears under three statuses
    assert sorted((row.count, row.status) for row in report.operators if row.op == "QUANTIZE") == [
        (1, ops.SUBGRAPH),
        (1, ops.UNSPECIFIED),
        (2, ops.MAPPED),
    ]
    # a name of 31+ characters runs into the count column
    assert report.operators[-1].op == "TFLite_Detection_PostProcess_Extra_Long_Name"
    assert report.operators[-1].count == 1
    assert report.failure is None


def test_row_order_does_not_matter() -> None:
    table = read("success.log")
    shuffled = "Operator                       Count      Status\n\n" + "\n".join(
        sorted(line for line in table.splitlines() if "Mapped" in line)
    )
    as_set = {(r.op, r.count, r.status) for r in parse_operator_table(table)}
    assert as_set == {(r.op, r.count, r.status) for r in parse_operator_table(shuffled)}
    assert len(as_set) == 6


@pytest.mark.parametrize(
    ("name", "failure"),
    [
        ("fail_version.txt", "Didn't find op for builtin opcode 'CONV_2D' version '6'"),
        ("fail_not_quantized.txt", "Model not quantized"),
        ("fail_internal.txt", "Internal compiler error. Aborting!"),
        ("fail_large_activations.txt", "Compilation failed due to large activation tensors in model."),
        (
            "fail_dynamic.txt",
            "Attempting to use a delegate that only supports static-sized tensors with a graph that has "
            "dynamic-sized tensors.",
        ),
    ],
)
def test_failures_headline_is_the_specific_message(name: str, failure: str) -> None:
    report = parse_output(read(name))
    assert report.version == "16.0.384591198"
    assert report.failure == failure
    assert report.operators == [] and report.tpu_ops is None and report.percent_on_tpu is None
    assert not report.succeeded_text


def test_generic_failure_line_is_reported() -> None:
    report = parse_output("Edge TPU Compiler version 16.0.384591198\nCompilation failed! \n")
    assert report.failure == "Compilation failed!"


@pytest.mark.parametrize(
    ("text", "count"), [("0.00B", 0), ("512.00B", 512), ("95.00KiB", 97280), ("7.81MiB", 8189378), ("1.50GiB", 3 << 29)]
)
def test_sizes_parse_and_format(text: str, count: int) -> None:
    assert parse_size(text) == pytest.approx(count, abs=1)
    assert parse_size(format_bytes(count)) == pytest.approx(count, rel=0.001, abs=1)


def test_options_validate_and_normalise() -> None:
    settings = EdgeTPUOptions.from_mapping(
        {"min_runtime": 13, "min_tpu_ops": "87.5%", "timeout": "30", "other_target_key": 1}
    )
    assert (settings.min_runtime, settings.min_tpu_ops, settings.timeout) == (13, 87.5, 30.0)
    assert parse_percent("100%") == 100.0 and parse_percent(90) == 90.0
    for bad in ({"min_runtime": 9}, {"delegate_search_step": 2}, {"min_tpu_ops": "lots"}, {"min_tpu_ops": "120%"}):
        with pytest.raises(UsageError):
            EdgeTPUOptions.from_mapping(bad)
    with pytest.raises(UsageError, match="positive"):
        EdgeTPUOptions.from_mapping({"timeout": 0})


def test_parser_limits_match_reported_compiler_16_rejections() -> None:
    """Versions users saw compiler 16.0 reject are just above the table's limits (see edgex/edgetpu/ops.py)."""
    rejected = {"CONV_2D": 6, "TRANSPOSE_CONV": 4, "QUANTIZE": 3, "EXP": 2}
    for op, version in rejected.items():
        assert ops.MAX_PARSER_VERSION[op] == version - 1
    for op in ("GELU", "RELU_0_TO_1", "BUCKETIZE"):  # added to TFLite after the compiler
        assert op not in ops.MAX_PARSER_VERSION
    # the runtime rules the issue lists
    assert {name: ops.RULES[name].min_runtime for name in ("PACK", "EXPAND_DIMS", "QUANTIZE", "SUM")} == dict.fromkeys(
        ("PACK", "EXPAND_DIMS", "QUANTIZE", "SUM"), 13
    )
    assert all(ops.RULES[name].min_runtime == 14 for name in ("TRANSPOSE", "RSQRT", "REDUCE_MAX", "REDUCE_MIN"))
    assert "LEAKY_RELU" not in ops.RULES and "GATHER" not in ops.RULES


def test_ops_command_lists_the_published_table() -> None:
    from tests.helpers import run_edgex

    result = run_edgex("edgetpu", "ops", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["op"]: row for row in json.loads(result.stdout)}
    assert len(rows) == len(ops.RULES) and "LEAKY_RELU" not in rows
    assert (rows["PACK"]["min_runtime"], rows["CONV_2D"]["compiler_16_parses_up_to_version"]) == (13, 5)
    assert rows["SOFTMAX"]["limitation"] == "Supports only 1-D input tensor with a max of 16,000 elements."
