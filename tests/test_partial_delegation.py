"""ExecuTorch partial delegation: when XNNPACK lowering raises, the operator kinds that break it stay on portable
kernels, the rest is delegated, the report says what stayed out, and --min-delegated still gates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers import ROOT, load_json, run_edgex
from tests.onnx_models import textured_images

FACTORY = f"{ROOT / 'tests' / 'face_landmarks.py'}:face_landmarks"


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("faces")
    np.save(folder / "val.npy", textured_images(60, 3, 24, seed=5))
    return folder / "val.npy"


def test_breaking_operator_stays_on_portable_kernels(faces: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    result = run_edgex("export", FACTORY, "--to", "executorch", "--validate", faces, "--out", tmp_path,
                       "--runs", "2", "--report-json", report)
    assert result.returncode == 0, result.stdout + result.stderr
    row = load_json(report)["rows"][0]
    delegation = row["details"]["delegation"]
    assert delegation["excluded_ops"] == ["prelu.default"]
    assert "ChannelsLastTaggedReshapePass" in delegation["lowering_error"]
    assert 0.5 < delegation["delegated_share"] < 1.0
    assert any("kept on portable kernels: prelu.default" in note for note in row["notes"])
    assert row["status"] == "passed" and row["parity"]["outputs"][0]["cosine"] > 0.9999


def test_min_delegated_still_gates(faces: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    result = run_edgex("export", FACTORY, "--to", "executorch", "--validate", faces, "--out", tmp_path,
                       "--runs", "0", "--min-delegated", "0.9", "--report-json", report)
    assert result.returncode == 1, result.stdout + result.stderr
    row = load_json(report)["rows"][0]
    assert row["status"] == "parity_failed"
    assert any(c["name"] == "delegated_share" and not c["passed"] for c in row["parity"]["checks"] + row["checks"])
