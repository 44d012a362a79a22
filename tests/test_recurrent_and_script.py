"""Models that torch.export handles badly: a long LSTM and GRU (ExecuTorch unrolls them) and a TorchScript submodule
(torch.export refuses it; ONNX goes through the TorchScript-based exporter)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from tests.helpers import covers, load_json, run_edgex

LSTM_FACTORY = """
import torch


class Tagger(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(8, 16, 2, batch_first=True)
        self.gru = torch.nn.GRU(16, 8)
        self.head = torch.nn.Linear(16, 3)

    def forward(self, frames):
        steps, (hidden, _) = self.lstm(frames)
        smoothed, last = self.gru(steps.transpose(0, 1))
        return self.head(hidden[-1]) + smoothed.mean(dim=0)[:, :3] + last[0, :, :3]


def build():
    torch.manual_seed(0)
    return Tagger().eval(), (torch.zeros(1, 60, 8),)
"""

SCRIPTED_CHILD_FACTORY = """
import torch


class Detector(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(1, 4, 5, stride=2)
        self.head = torch.nn.Linear(4, 1)
        self.state = torch.zeros(1, 4)

    @torch.jit.export
    def reset_states(self):
        self.state = torch.zeros(1, 4)

    def forward(self, x, sr: int):
        if not sr % 16000:  # `not` on an int: the TorchScript exporter's stock symbolic refuses it
            x = x * 2.0
        features = torch.relu(self.conv(x.unsqueeze(1))).mean(dim=2)
        self.state = self.state + features
        return torch.sigmoid(self.head(self.state))


class Wrapped(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.vad = torch.jit.script(Detector().eval())
        self.rate = 16000

    def forward(self, x):
        self.vad.reset_states()
        return self.vad(x, self.rate)


def build():
    torch.manual_seed(0)
    return Wrapped().eval(), (torch.zeros(1, 256),)
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def _export(tmp_path: Path, factory: Path, target: str, data: np.ndarray) -> tuple[int, str, dict]:
    np.save(tmp_path / "x.npy", data)
    report = tmp_path / f"{target}.json"
    result = run_edgex(
        "export", f"{factory}:build", "--to", target, "--validate", tmp_path / "x.npy",
        "--out", tmp_path / "dist", "--runs", "0", "--report-json", report,
    )  # fmt: skip
    return result.returncode, result.stdout + result.stderr, load_json(report)["rows"][0] if report.exists() else {}


@covers("executorch")
def test_lstm_and_gru_are_exported_as_loops_not_unrolled(tmp_path) -> None:
    factory = _write(tmp_path, "tagger.py", LSTM_FACTORY)
    frames = np.random.default_rng(0).normal(size=(6, 60, 8)).astype(np.float32)
    code, output, row = _export(tmp_path, factory, "executorch", frames)
    assert code == 0, output
    delegation = row["details"]["delegation"]
    assert delegation["scan_loops"] == ["lstm", "gru"]
    assert "recurrent layers run as a loop" in output
    # Unrolled, 3 layers x 60 steps are ~3500 edge nodes; as loops the graph stays small.
    assert delegation["delegated_nodes"] + delegation["non_delegated_nodes"] < 200
    cosine = next(c for c in row["parity"]["checks"] if c["name"].startswith("cosine"))
    assert cosine["value"] > 0.99999


@covers("torch.onnx")
def test_scripted_submodule_exports_to_onnx_through_torchscript(tmp_path) -> None:
    factory = _write(tmp_path, "wrapped.py", SCRIPTED_CHILD_FACTORY)
    chunks = np.random.default_rng(1).normal(size=(8, 256)).astype(np.float32)
    code, output, row = _export(tmp_path, factory, "onnx", chunks)
    assert code == 0, output
    note = next(n for n in row["notes"] if n.startswith("TorchScript-based exporter"))
    # Tracing cannot call the scripted module's other method, so it was scripted; the note keeps torch.export's error.
    assert note.startswith("TorchScript-based exporter (scripted); torch.export: TypeError: Detector.reset_states()")
    assert "ONNX opset 17" in row["notes"]
    assert row["status"] == "passed"
    assert all(c["passed"] for c in row["parity"]["checks"])
