"""The option spec (one record per flag and edgex.toml key) and the argument checks made at parse time."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from edgex.build import config as build_config
from edgex.build.cells import CellJob, export_config
from edgex.build.config import ConfigError, load_config
from edgex.cli import cli
from edgex.options import (
    BUILD,
    MODEL,
    MODEL_THRESHOLDS,
    OPTIONS,
    PREPROCESSING,
    TARGET,
    TARGET_OPTIONS,
    TARGET_THRESHOLDS,
    options_for,
)
from edgex.parity.thresholds import Thresholds
from edgex.sources import DynamicDim
from tests.helpers import DEMO_KERAS, ROOT, assert_one_line_error, leftovers, run_edgex, tf_factory

NEW_BUILD_KEYS = {"route": TARGET, "channels_last_io": TARGET, "dynamic_dims": MODEL, "keep_intermediates": TARGET}


def _command(name: str) -> click.Command:
    command = cli.commands[name]
    assert isinstance(command, click.Command)
    return command


def _flags(command: click.Command) -> dict[str, click.Option]:
    return {param.name: param for param in command.params if isinstance(param, click.Option) and param.name}


def test_every_export_flag_has_a_build_key_or_a_reason() -> None:
    records = {option.name: option for option in options_for("export")}
    flags = _flags(_command("export"))
    assert set(flags) == set(records) | {"debug", "quiet", "verbose"}  # how edgex reports, not what it builds
    for name, record in records.items():
        assert record.places or record.cli_only, f"--{name} has no build-file key and no reason why"
        assert not (record.places and record.cli_only), name
        spelt = {flag for declaration in record.flags for flag in declaration.split("/")}
        assert set(flags[name].opts + flags[name].secondary_opts) == spelt, name
    for record in OPTIONS:
        assert record.flags or record.file_only, f"build key {record.key} has no flag and no reason why"
    assert {option.name for option in options_for("export") if option.cli_only} == {
        "force", "backend", "report_md", "keep_failed"
    }
    for key, place in NEW_BUILD_KEYS.items():
        assert any(option.key == key and place in option.places for option in records.values()), key


def test_help_and_build_keys_come_from_the_same_records() -> None:
    help_text = run_edgex("export", "--help").stdout
    for option in options_for("export"):
        for flag in option.flags:
            assert flag in help_text, flag
    tables = {
        BUILD: build_config.BUILD_KEYS,
        MODEL: build_config.MODEL_KEYS,
        TARGET: build_config.TARGET_KEYS,
        PREPROCESSING: build_config.PREPROCESSING_KEYS,
        MODEL_THRESHOLDS: build_config.THRESHOLD_KEYS,
        TARGET_OPTIONS: build_config.TARGET_OPTION_KEYS,
    }
    for place, table in tables.items():
        keys = {option.key for option in OPTIONS if place in option.places}
        sub_tables = {"model": {"preprocessing", "thresholds"}, "target": {"thresholds", "options"}}.get(place, set())
        assert set(table) == keys | sub_tables, place
    thresholds = {option.key for option in OPTIONS if TARGET_THRESHOLDS in option.places}
    assert thresholds == {field.name for field in Thresholds.__dataclass_fields__.values()}
    build = _command("build")
    parsed = build.make_context("build", [])  # no flags given: every override is None and the file decides
    for option in options_for("build"):
        assert parsed.params[option.name] is None, option.name
    validate_flags = _flags(_command("validate"))
    assert {option.name for option in options_for("validate")} <= set(validate_flags)


def test_new_build_keys_reach_the_export(tmp_path: Path) -> None:
    (tmp_path / "edgex.toml").write_text(
        f"""
[models.m]
source = "{DEMO_KERAS}"
dynamic_dims = ["batch=1..8", "seq:1=2..64"]
name = "digits-x"

[targets.pte]
target = "executorch"
route = "keras>onnx>torch-export>pte"
channels_last_io = true
keep_intermediates = true
"""
    )
    config = load_config(tmp_path / "edgex.toml")
    (cell,) = config.cells()
    job = CellJob(cell, tmp_path / "out", config.settings, force=False)
    exported = export_config(job)
    assert exported.source_options.dynamic_dims == (DynamicDim("batch", 0, 1, 8), DynamicDim("seq", 1, 2, 64))
    assert exported.route == "keras>onnx>torch-export>pte"
    assert exported.export_options.channels_last_io is True
    assert exported.keep_intermediates is True
    assert exported.name == "digits-x"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--timeout", "-5"), ("--timeout", "positive number", "-5")),
        (("--timeout", "0"), ("--timeout", "positive number")),
        (("-q", ""), ("--quantize", "int8")),
        (("-q", ","), ("--quantize", "int8")),
        (("--batch-size", "4", "--dynamic-batch"), ("--batch-size conflicts with --dynamic-batch", "keep one")),
        (("--input-shape", "1x-3x8x8"), ("--input-shape", "every dimension an integer >= 1")),
        (("--input-shape", "0x8"), ("--input-shape", "every dimension an integer >= 1")),
        (("--name", "../x"), ("--name", "not a plain file name", "no folders")),
        (("--name", "sub/x"), ("--name", "not a plain file name")),
        (("--name", "a" * 260), ("--name", "260 bytes is too long", "at most 200")),
        (("--dynamic-dim", "batch=8..2"), ("--dynamic-dim", "MIN <= MAX")),
        (("--min-runtime", "9"), ("--min-runtime", "from 10 to 14")),
    ],
)
def test_bad_arguments_are_refused_before_any_work(tmp_path: Path, args: tuple[str, ...], words: tuple[str]) -> None:
    out = tmp_path / "deep" / "out"
    result = run_edgex("export", DEMO_KERAS, "--out", out, *args)
    assert_one_line_error(result, 2, *words)
    assert leftovers(tmp_path) == []  # nothing written, not even the output folder


def test_absolute_name_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "escaped"
    assert_one_line_error(run_edgex("export", DEMO_KERAS, "--out", tmp_path / "out", "--name", target), 2, "--name")
    assert leftovers(tmp_path) == []


def _config_error(tmp_path: Path, model_lines: str) -> str:
    (tmp_path / "edgex.toml").write_text(
        f'[models.m]\nsource = "{DEMO_KERAS}"\n{model_lines}\n\n[targets.tflite]\n\n[targets.onnx]\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "edgex.toml")
    return caught.value.one_line()


def test_build_file_refuses_path_names_and_duplicate_targets(tmp_path: Path) -> None:
    message = _config_error(tmp_path, 'name = "../../x"')
    assert ":3: models.m.name: '../../x' is not a plain file name" in message
    assert "is too long" in _config_error(tmp_path, f'name = "{"n" * 201}"')
    message = _config_error(tmp_path, 'targets = ["tflite", "onnx", "tflite"]')
    assert ":3: models.m.targets: 'tflite' is listed twice; list each target once" in message
    message = _config_error(tmp_path, 'input_shapes = ["1x-1"]')
    assert "models.m.input_shapes: '1x-1' is not a shape" in message
    message = _config_error(tmp_path, "[targets.x]\ntarget = 'tflite'\nbatch_size = 2\ndynamic_batch = true")
    assert "targets.x.batch_size: conflicts with dynamic_batch" in message
    message = _config_error(tmp_path, "[targets.y]\nquantize = ''")
    assert "targets.y.quantize: expected mode names" in message


def test_build_cli_refuses_an_escaping_name_on_one_line(tmp_path: Path) -> None:
    (tmp_path / "edgex.toml").write_text(f'[models.m]\nsource = "{DEMO_KERAS}"\nname = "../../x"\n\n[targets.tflite]\n')
    assert_one_line_error(run_edgex("build", cwd=tmp_path), 2, "edgex.toml:3", "models.m.name", "no folders")
    assert leftovers(tmp_path) == ["edgex.toml"]


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (("targets",), 0),
        (("routes",), 0),
        (("edgetpu", "ops"), 0),
        (("inspect", "missing.tflite"), 2),
        (("edgetpu", "check", "missing.tflite"), 2),
        (("report", "missing.json", "--html", "r.html"), 2),
        (("build",), 2),
    ],
)
def test_debug_is_accepted_by_every_command(tmp_path: Path, command: tuple[str, ...], code: int) -> None:
    for args in (("--debug", *command), (*command, "--debug")):
        result = run_edgex(*args, cwd=tmp_path)
        assert result.returncode == code, (args, result.stderr)
        assert "No such option" not in result.stderr
        if code:
            assert result.stderr.startswith("edgex: error:"), result.stderr
            assert "Traceback" in result.stderr  # --debug shows it


def test_unknown_signature_names_the_available_ones(tmp_path: Path) -> None:
    saved = tmp_path / "two"
    tf_factory("savedmodel_two_signatures", str(saved))
    result = run_edgex("export", saved, "--signature", "tripple", "--out", tmp_path / "out")
    assert result.returncode == 2, result.stderr
    line = result.stderr.splitlines()[0]
    assert line.startswith("edgex: error:") and "no signature 'tripple'" in line
    assert "double" in line and "square" in line and "Traceback" not in result.stderr
    assert leftovers(tmp_path / "out") == []


def test_every_option_record_is_documented_in_the_build_reference() -> None:
    reference = (ROOT / "docs" / "build.md").read_text()
    for option in OPTIONS:
        if option.places:
            assert f"`{option.key}`" in reference, option.key
