"""Stateful validation (--state IN=OUT): the validation set runs as one sequence, each side carrying its own state,
so an error in the state path that one independent call cannot show builds up and is measured."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import edgex
from tests.helpers import assert_one_line_error, load_json, run_edgex

FACTORY = Path(__file__).parent / "state_models.py"
STEPS = 32


@pytest.fixture(scope="module")
def val(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("state") / "val.npz"
    # h of samples 1.. is not the state a sequence would carry: a stateful run must ignore it
    x, h = rng.normal(0, 1, (STEPS, 8)), rng.normal(0, 0.5, (STEPS, 16))
    np.savez(path, x=x.astype(np.float32), h=h.astype(np.float32))
    return path


def test_state_is_carried_on_both_sides(val: Path, tmp_path: Path) -> None:
    report_json = tmp_path / "export.json"
    exported = run_edgex("export", f"{FACTORY}:build", "--to", "onnx", "--to", "executorch", "--out", tmp_path / "a",
                         "--validate", val, "--state", "h=output_1", "--runs", "0", "--report-json", report_json)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    rows = load_json(report_json)["rows"]
    assert [row["target"] for row in rows] == ["onnx", "executorch-xnnpack"]
    for row in rows:
        assert row["status"] == "passed"
        parity = row["parity"]
        assert parity["state"] == {"h": "output_1"} and parity["samples"] == STEPS
        assert min(m["cosine_min"] for m in parity["outputs"]) > 0.99999
        assert any(note.startswith(f"stateful: {STEPS} calls in sequence (output_1 -> h)") for note in row["notes"])

    # The same weights, its state output off by 0.05: call by call only that output differs; carried, y drifts too.
    drifting = run_edgex("export", f"{FACTORY}:build_drifting", "--to", "onnx", "--out", tmp_path / "d", "--runs", "0")
    assert drifting.returncode == 0, drifting.stdout + drifting.stderr
    artifact = next((tmp_path / "d").glob("*.onnx"))
    independent = edgex.validate(f"{FACTORY}:build", artifact, data=val, runs=0).rows[0].parity
    carried = edgex.validate(f"{FACTORY}:build", artifact, data=val, runs=0, state=["h=output_1"]).rows[0].parity
    assert independent is not None and carried is not None
    assert independent.state == {} and carried.state == {"h": "output_1"}
    y_independent, h_independent = independent.outputs
    y_carried, h_carried = carried.outputs
    assert y_independent.cosine_min > 0.99999 and y_independent.max_abs_error < 1e-5
    assert y_carried.cosine_min < 0.99 and y_carried.max_abs_error > 0.01
    assert h_independent.max_abs_error == pytest.approx(0.05, abs=1e-4)  # one call's drift
    assert h_carried.max_abs_error > 0.1 and h_carried.cosine < h_independent.cosine  # drift accumulated
    assert not carried.passed


@pytest.mark.parametrize(
    ("state", "words"),
    [
        ("h=h_next", ["--state h=h_next", "inputs are x, h", "outputs are output_0, output_1"]),
        ("h=output_0", ["--state h=output_0", "output 'output_0' has shape 1x4", "input 'h' 1x16"]),
        ("h", ["'h' is not IN=OUT"]),
    ],
)
def test_state_names_and_shapes_are_checked(val: Path, tmp_path: Path, state: str, words: list[str]) -> None:
    artifact = tmp_path / "any.onnx"
    artifact.write_bytes(b"")
    result = run_edgex("validate", f"{FACTORY}:build", artifact, "--data", val, "--state", state, "--runs", "0")
    assert_one_line_error(result, 2, *words)
