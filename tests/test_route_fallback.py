"""Route fallback: when the preferred route fails, the next available routes are tried and every attempt is
reported; --route forces one route and disables fallback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers import load_json, run_edgex

SPECTROGRAM = """
import torch


class Spectrogram(torch.nn.Module):
    def forward(self, audio):
        window = torch.hann_window(64)
        return torch.stft(audio, 64, hop_length=16, window=window, return_complex=True).abs()


def build():
    return Spectrogram(), (torch.rand(1, 512),)
"""


@pytest.fixture(scope="module")
def spectrogram(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("stft")
    (folder / "stft.py").write_text(SPECTROGRAM)
    t = np.arange(512) / 16000
    tones = [np.sin(2 * np.pi * f * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)) for f in np.linspace(100, 3000, 20)]
    np.save(folder / "audio.npy", np.stack(tones).astype(np.float32))
    return {"factory": folder / "stft.py", "audio": folder / "audio.npy"}


def test_every_route_is_tried_and_reported(spectrogram: dict[str, Path], tmp_path: Path) -> None:
    """An STFT front-end: litert-torch has no complex tensors, onnx2tf and onnx2torch fail on the ONNX export."""
    report = tmp_path / "r.json"
    result = run_edgex("export", f"{spectrogram['factory']}:build", "--to", "tflite", "--validate",
                       spectrogram["audio"], "--out", tmp_path, "--runs", "0", "--report-json", report)
    assert result.returncode == 3
    row = load_json(report)["rows"][0]
    routes = [attempt["route"] for attempt in row["details"]["attempts"]]
    assert routes == [
        "torch > tflite (litert-torch)",
        "torch > onnx (torch.onnx) > tflite (onnx2tf)",
        "torch > onnx (torch.onnx) > torch-export (onnx2torch) > tflite (litert-torch)",
    ]
    assert "complex" in row["details"]["attempts"][0]["error"]
    assert row["error"].startswith("litert-torch failed") and "also failed: 2 fallback route(s)" in row["error"]
    assert not list(tmp_path.glob("*.tflite")) and not list(tmp_path.glob(".edgex-*"))


def test_forced_route_disables_fallback(spectrogram: dict[str, Path], tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    result = run_edgex("export", f"{spectrogram['factory']}:build", "--to", "tflite", "--route", "torch>tflite",
                       "--out", tmp_path, "--runs", "0", "--report-json", report)
    assert result.returncode == 3
    row = load_json(report)["rows"][0]
    assert [a["route"] for a in row["details"]["attempts"]] == ["torch > tflite (litert-torch)"]
