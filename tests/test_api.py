"""The public Python API: edgex.export / validate / inspect on real models and data, in-memory models included.

Each in-memory case runs in its own `python -c` process: the caller imports keras or torch itself, as a user
would, and this test process never imports a framework (importing tensorflow before executorch segfaults).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import edgex
from edgex.results import RowStatus, RunReport
from tests.helpers import DEMO_CALIB, DEMO_KERAS, DEMO_LABELS, DEMO_VAL, ROOT, load_json, run_edgex
from tests.test_torch_executorch import CUMSUM_FACTORY

# Prints one JSON line the test reads: what a user would look at on the report, plus the output folder's listing.
SUMMARY = """
import json, os
print("EDGEX-RESULT " + json.dumps({
    "passed": report.passed,
    "exit_code": int(report.exit_code),
    "rows": [
        {"target": r.target, "mode": r.mode, "status": r.status.value, "error": r.error,
         "artifact": r.artifact.path if r.artifact else None,
         "top1_agreement": r.parity.headline().top1_agreement if r.parity else None}
        for r in report.rows
    ],
    "source": report.source.spec,
    "source_sha256": report.source.sha256,
    "calibration": report.calibration.origin if report.calibration else None,
    "validation": report.validation.origin if report.validation else None,
    "listing": sorted(os.listdir(OUT)),
}))
"""


def _python(script: str, timeout: float = 900) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script) + SUMMARY],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("EDGEX-RESULT "))
    return json.loads(line.removeprefix("EDGEX-RESULT "))


def test_export_in_memory_keras_model_to_int8_tflite(tmp_path) -> None:
    out = tmp_path / "dist"
    summary = _python(
        f"""
        import os, tempfile
        import keras, numpy as np
        import edgex

        OUT = {str(out)!r}
        model = keras.saving.load_model({str(DEMO_KERAS)!r})
        calib = np.load({str(DEMO_CALIB)!r})["image"]
        with np.load({str(DEMO_VAL)!r}) as stored:
            val = stored["image"]
        labels = np.load({str(DEMO_LABELS)!r})
        report = edgex.export(model, to="tflite", quantize="int8", calib=calib, validate=val, labels=labels,
                              out=OUT, name="digits_api", runs=0)
        # The in-memory model as the reference of a validation, too; its scratch folder goes as well.
        def scratch():
            return set(n for n in os.listdir(tempfile.gettempdir()) if n.startswith("edgex-validate-api-"))

        before = scratch()
        check = edgex.validate(model, report.rows[0].artifact.path, data=val, labels=labels, runs=0)
        assert check.passed and check.rows[0].parity.headline().top1_agreement >= 97.0, check.rows
        assert check.source.spec.startswith("keras.Model") and scratch() == before
        """
    )
    assert summary["passed"] is True and summary["exit_code"] == 0
    [row] = summary["rows"]
    assert (row["target"], row["mode"], row["status"]) == ("tflite", "int8", "passed")
    assert Path(row["artifact"]).name == "digits_api_int8.tflite" and Path(row["artifact"]).stat().st_size > 10_000
    assert row["top1_agreement"] >= 97.0
    assert summary["listing"] == ["digits_api_int8.tflite"]  # the scratch folder is gone
    assert summary["source"].startswith("keras.Model") and "in memory" in summary["source"]
    assert len(summary["source_sha256"]) == 64
    assert (summary["calibration"], summary["validation"]) == ("in-memory calib array", "in-memory validate array")
    # The artifact made from memory validates against the model file it was loaded from, via the API.
    report = edgex.validate(DEMO_KERAS, row["artifact"], data=DEMO_VAL, labels=DEMO_LABELS, runs=0)
    assert report.passed and report.rows[0].mode == "int8" and report.rows[0].parity is not None
    assert report.rows[0].parity.headline().top1_agreement >= 97.0
    inspected = edgex.inspect(row["artifact"])
    assert inspected["inputs"][0]["shape"] == [1, 8, 8, 1] and inspected["inputs"][0]["dtype"] == "int8"
    assert isinstance(inspected["summary"]["operators"], int) and inspected["summary"]["fully integer"] is True
    assert json.loads(run_edgex("inspect", row["artifact"], "--json").stdout) == inspected  # the CLI: same data


def test_export_in_memory_torch_module_to_pte_and_tflite(tmp_path) -> None:
    out = tmp_path / "dist"
    summary = _python(
        f"""
        import numpy as np, torch
        import edgex
        from edgex.demo.digits_torch import build

        OUT = {str(out)!r}
        module, examples = build()
        try:
            edgex.export(module, to="executorch", out=OUT)
        except edgex.UsageError as error:
            assert "example_inputs" in error.one_line(), error.one_line()
        else:
            raise AssertionError("an nn.Module without example_inputs was accepted")
        calib = np.load({str(DEMO_CALIB)!r})["image"][:64]
        val = np.load({str(DEMO_VAL)!r})["image"]
        report = edgex.export(module, example_inputs=examples, to=["executorch", "tflite"], quantize="int8",
                              calib=calib, validate=val, out=OUT, runs=0)
        """
    )
    assert summary["passed"] is True and summary["exit_code"] == 0, summary["rows"]
    rows = {row["target"]: row for row in summary["rows"]}
    assert set(rows) == {"executorch-xnnpack", "tflite"}
    for row in rows.values():
        assert row["mode"] == "int8" and row["status"] == "passed" and row["top1_agreement"] >= 97.0
        assert Path(row["artifact"]).exists()
    assert summary["listing"] == sorted(Path(row["artifact"]).name for row in rows.values())
    assert summary["source"] == "torch.nn.Module DigitsNet (in memory)"


def test_bad_keywords_and_inputs_raise_typed_errors(tmp_path) -> None:
    with pytest.raises(edgex.UsageError) as misspelt:
        edgex.export("demo", quantise="int8", out=tmp_path)
    assert "unknown option 'quantise'" in misspelt.value.message and "did you mean 'quantize'" in misspelt.value.hint
    with pytest.raises(edgex.UsageError, match="calibration_sample") as close:
        edgex.export("demo", calibration_sample=10, out=tmp_path)
    assert "did you mean 'calibration_samples'" in close.value.hint
    with pytest.raises(edgex.UsageError, match="timeout: expected a positive number"):  # the CLI's and toml's check
        edgex.export("demo", timeout=-5, out=tmp_path)
    with pytest.raises(edgex.UsageError) as validate_option:
        edgex.validate("demo", "x.tflite", max_abs_eror=0.1)
    assert "did you mean 'max_abs_error'" in validate_option.value.hint
    with pytest.raises(edgex.UsageError, match="no such file"):
        edgex.export(tmp_path / "nope.keras", out=tmp_path / "out")
    with pytest.raises(edgex.UsageError, match=r"cannot export a builtins\.dict"):
        edgex.export({"not": "a model"}, out=tmp_path / "out")
    with pytest.raises(edgex.UsageError, match="unknown target"):
        edgex.export("demo", to="tflit", out=tmp_path / "out")
    assert not any(p.name.startswith(".edgex") for p in (tmp_path / "out").iterdir())  # no scratch folder left


def test_in_memory_data_dict_keeps_every_input_name(tmp_path) -> None:
    """A dict of arrays is saved under its input names, even a name np.savez would take as its own keyword."""
    from edgex.api import _Saved

    arrays = {"image": np.arange(6, dtype=np.float32).reshape(2, 3), "allow_pickle": np.array([[1], [2]], np.int64)}
    path = _Saved(tmp_path).data(arrays, "validation")
    with np.load(path) as saved:
        assert sorted(saved.files) == ["allow_pickle", "image"]
        for name, array in arrays.items():
            assert saved[name].dtype == array.dtype and np.array_equal(saved[name], array)


def test_row_scoped_converter_error_keeps_the_other_rows(tmp_path) -> None:
    """XNNPACK takes cumsum in no precision: fp32 runs it on a portable kernel, fp16 is refused inside the converter
    (a UsageError in the worker). That row fails with its reason; the fp32 row is still exported and validated."""
    factory = tmp_path / "scorer.py"
    factory.write_text(CUMSUM_FACTORY)
    data = tmp_path / "x.npy"
    np.save(data, np.random.default_rng(0).standard_normal((32, 8)).astype(np.float32))
    result = run_edgex(
        "export",
        f"{factory}:build",
        "--to",
        "executorch",
        "-q",
        "none",
        "-q",
        "fp16",
        "--validate",
        data,
        "--runs",
        "0",
        "--out",
        tmp_path / "dist",
        "--report-json",
        tmp_path / "r.json",
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "edgex: error" not in result.stderr  # not an aborted run: the table shows both rows
    rows = {row["mode"]: row for row in load_json(tmp_path / "r.json")["rows"]}
    assert rows["none"]["status"] == "passed" and rows["none"]["parity"]["outputs"][0]["max_abs_error"] < 1e-5
    assert rows["fp16"]["status"] == "export_failed" and rows["fp16"]["error_exit_code"] == 2
    assert "fp16 is unsupported for this model" in rows["fp16"]["error"] and "cumsum" in rows["fp16"]["error"]
    assert "❌" in result.stdout and "fp16 is unsupported" in result.stdout
    assert sorted(p.name for p in (tmp_path / "dist").iterdir()) == ["scorer_xnnpack_fp32.pte"]


def test_report_round_trips_through_json(demo_export) -> None:
    """to_dict -> from_dict -> to_dict is the identity on a real export report (every mode, parity and latency)."""
    document = load_json(demo_export["out"] / "report.json")
    report = RunReport.from_dict(document)
    assert report.to_dict() == document
    assert [row.status for row in report.rows] == [RowStatus.PASSED] * 5
    assert report.rows[0].parity is not None and report.rows[0].parity.exported_latency is not None
    assert report.rows[0].parity.exported_latency.runs == 20 and report.source.signature is not None
    assert report.passed and report.exit_code == 0


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_python_api_example_runs(tmp_path) -> None:
    code = _readme_example()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "dist" / "digits_int8.tflite").exists()
    assert "passed True" in result.stdout and "'shape': [1, 8, 8, 1]" in result.stdout
