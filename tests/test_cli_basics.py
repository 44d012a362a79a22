"""CLI start-up, lazy imports, targets registry, and one-line errors with distinct exit codes."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import DEMO_KERAS, assert_one_line_error, leftovers, run_edgex

HEAVY = ("tensorflow", "torch", "keras", "executorch", "onnxruntime", "jax", "litert_torch")


def test_help_and_targets_do_not_import_frameworks() -> None:
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "import edgex.cli\n"
        "runner = CliRunner()\n"
        "assert runner.invoke(edgex.cli.cli, ['--help']).exit_code == 0\n"
        "result = runner.invoke(edgex.cli.cli, ['targets'])\n"
        "assert result.exit_code == 0, result.output\n"
        "assert 'tflite' in result.output\n"
        "assert runner.invoke(edgex.cli.cli, ['routes']).exit_code == 0\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print('LOADED', loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout


def test_version_and_help() -> None:
    assert run_edgex("--version").stdout.strip().startswith("edgex, version")
    help_text = run_edgex("export", "--help").stdout
    for option in ("--quantize", "--calib", "--validate", "--io-dtype", "--max-top1-drop", "--min-cosine", "--junit"):
        assert option in help_text


def test_targets_json_lists_tflite_with_modes() -> None:
    import json

    rows = {row["name"]: row for row in json.loads(run_edgex("targets", "--json").stdout)}
    assert rows["tflite"]["modes"] == ["none", "fp16", "dynamic", "int8", "int16x8", "auto"]
    assert rows["tflite"]["available"] is True
    assert set(rows["tflite"]["from"]) >= {"keras", "savedmodel"}


def test_missing_file(tmp_path) -> None:
    assert_one_line_error(
        run_edgex("export", tmp_path / "nope.keras", "--out", tmp_path / "out"), 2, "nope.keras", "no such file"
    )
    assert leftovers(tmp_path / "out") == []


def test_unknown_target_suggests_the_closest(tmp_path) -> None:
    assert_one_line_error(
        run_edgex("export", DEMO_KERAS, "--to", "tflit", "--out", tmp_path),
        2,
        "unknown target",
        "did you mean 'tflite'",
    )


def test_unknown_mode_and_unsupported_io_dtype(tmp_path) -> None:
    assert_one_line_error(run_edgex("export", DEMO_KERAS, "-q", "int4", "--out", tmp_path), 2, "did you mean 'int8'")
    assert_one_line_error(
        run_edgex("export", DEMO_KERAS, "-q", "fp16", "--io-dtype", "uint8", "--out", tmp_path), 2, "--io-dtype uint8"
    )


def test_full_integer_without_calibration_is_refused(tmp_path) -> None:
    model = tmp_path / "model.keras"
    model.write_bytes(DEMO_KERAS.read_bytes())
    assert_one_line_error(
        run_edgex("export", model, "-q", "int8", "--out", tmp_path / "out"), 2, "needs calibration data", "--calib"
    )
    assert leftovers(tmp_path / "out") == []


def test_corrupt_model(tmp_path) -> None:
    corrupt = tmp_path / "broken.keras"
    corrupt.write_bytes(DEMO_KERAS.read_bytes()[:5000])
    assert_one_line_error(run_edgex("export", corrupt, "--out", tmp_path / "out"), 2, "broken.keras", "corrupt")
    assert leftovers(tmp_path / "out") == []


def test_unwritable_output_folder(tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert_one_line_error(run_edgex("export", DEMO_KERAS, "--out", blocker / "dist"), 2, "not writable")


def test_debug_shows_the_traceback(tmp_path) -> None:
    result = run_edgex("--debug", "export", tmp_path / "nope.keras")
    assert result.returncode == 2
    assert "Traceback" in result.stderr
