"""CLI conventions: `-` is stdout for a report (the table moves to stderr), --quiet / -v, failed rows' reasons on
stderr, thresholds in percent with the old fraction spelling still read."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from edgex.options import Percent
from tests.helpers import DEMO_KERAS, DEMO_LABELS, DEMO_VAL, run_edgex


def test_report_on_stdout_quiet_and_verbose_runs(demo_export) -> None:
    artifact = demo_export["out"] / "digits_int8.tflite"
    common = (DEMO_KERAS, artifact, "--data", DEMO_VAL, "--labels", DEMO_LABELS, "--runs", "0")

    # --quiet, the JSON report on stdout, an SNR gate the int8 model cannot meet.
    failed = run_edgex("--quiet", "validate", *common, "--report-json", "-", "--min-snr-db", "80")
    assert failed.returncode == 1, failed.stderr
    report = json.loads(failed.stdout)  # stdout is the JSON document and nothing else
    assert report["verdict"] == "fail" and report["rows"][0]["status"] == "parity_failed"
    lines = failed.stderr.strip().splitlines()
    assert lines[-1].startswith("edgex: ✗ tflite int8: parity failed: snr[") and "< 80 dB" in lines[-1]
    assert any(line.startswith("FAIL exit 1 in ") for line in lines) and "┃" not in failed.stderr  # no table

    # -v (after the command), JUnit on stdout, thresholds spelt in percent: the table and step lines on stderr.
    percent = ("--min-top1-agreement", "97%", "--max-top1-drop", "2%")
    passed = run_edgex("validate", *common, "--junit", "-", "-v", *percent)
    assert passed.returncode == 0, passed.stderr
    suite = ET.fromstring(passed.stdout)
    failures = [int(element.get("failures", "0")) for element in suite.iter("testsuite")]
    assert failures and sum(failures) == 0 and len(list(suite.iter("testcase"))) >= 4
    assert "... " in passed.stderr and "┃" in passed.stderr and "PASS exit 0" in passed.stderr
    assert "edgex: ✗" not in passed.stderr and "✗" not in passed.stdout

    both = run_edgex("validate", *common, "--junit", "-", "--report-md", "-")
    assert both.returncode == 2 and "--report-md and --junit both write to stdout" in both.stderr
    clash = run_edgex("--quiet", "validate", *common, "--verbose")
    assert clash.returncode == 2 and "--quiet and --verbose exclude each other" in clash.stderr


@pytest.mark.parametrize(
    ("text", "percent", "fraction"),
    [("90%", 90.0, 0.9), ("90", 90.0, 0.9), ("0.9", 0.9, 0.9), ("1%", 1.0, 0.01), ("1", 1.0, 1.0), ("100", 100.0, 1.0)],
)
def test_percent_flags_read_percent_and_the_old_fraction_spelling(text: str, percent: float, fraction: float) -> None:
    assert Percent().text(text) == pytest.approx(percent)
    assert Percent(legacy_fraction=True, as_fraction=True).text(text) == pytest.approx(fraction)  # --min-delegated


def test_percent_flags_refuse_what_is_not_a_percentage() -> None:
    for bad in ("120%", "-5", "lots", "%"):
        with pytest.raises(ValueError, match="percentage"):
            Percent().text(bad)
    result = run_edgex("export", "demo", "--to", "executorch", "--min-delegated", "150%")
    assert result.returncode == 2 and "--min-delegated" in result.stderr and "0 to 100" in result.stderr


def test_build_finds_the_build_file_in_a_parent_folder(tmp_path) -> None:
    (tmp_path / "edgex.toml").write_text('[models.digits]\nsource = "demo"\n\n[targets.int8]\ntarget = "tflite"\n')
    (tmp_path / "app" / "src").mkdir(parents=True)
    result = run_edgex("build", "--only", "digits/int9", cwd=tmp_path / "app" / "src")
    assert result.returncode == 2 and "did you mean 'digits/int8'" in result.stderr  # the parent's cells
    elsewhere = run_edgex("build", cwd=tmp_path.parent)
    assert elsewhere.returncode == 2 and "no edgex.toml" in elsewhere.stderr and "parent folders" in elsewhere.stderr
