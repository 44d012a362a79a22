"""Sequence models for the int8 tests and benchmarks: a small transformer encoder and an LSTM, trained here.

Both read the rows of scikit-learn's bundled 8x8 digits as a sequence of 8 tokens of 8 pixels ([N, 8, 8], values
0..1), and their weights are almost all in Linear layers (the shape of sentence encoders and keyword spotters), so
the size figures of linear-layer recipes mean something. The transformer returns a 64-d embedding (not class
scores: parity is judged by cosine and retrieval), the LSTM per-step class probabilities [N, 8, 10] (a sequence
output: parity per time step). `train(kind, weights, data_dir)` trains one in a few seconds and writes its
weights plus calibration/validation .npz files; the factories load the weights with `--weights`.
`python -m tests.seq_models FOLDER` trains both into FOLDER (what benchmarks/seq_int8.py does).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional

TOKENS, PIXELS, CLASSES = 8, 8, 10


class EncoderBlock(nn.Module):
    """Pre-norm self-attention + feed-forward, written with plain Linear layers and matmuls (what XNNPACK and
    LiteRT take whole)."""

    def __init__(self, width: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        self.up = nn.Linear(width, hidden)
        self.down = nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, width = x.shape
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(batch, tokens, self.heads, width // self.heads).transpose(1, 2)

        q, k, v = split(q), split(k), split(v)
        attention = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(width // self.heads), dim=-1)
        mixed = (attention @ v).transpose(1, 2).reshape(batch, tokens, width)
        x = x + self.proj(mixed)
        return x + self.down(functional.gelu(self.up(self.norm2(x))))


class DigitsEncoder(nn.Module):
    """Rows of a digit -> a 64-d embedding (mean-pooled tokens, projected)."""

    def __init__(self, width: int = 128, layers: int = 1, heads: int = 4, hidden: int = 512) -> None:
        super().__init__()
        self.embed = nn.Linear(PIXELS, width)
        self.position = nn.Parameter(torch.zeros(1, TOKENS, width))
        self.blocks = nn.ModuleList(EncoderBlock(width, heads, hidden) for _ in range(layers))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, 64)

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        x = self.embed(rows) + self.position
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x).mean(dim=1))


class DigitsLSTM(nn.Module):
    """Rows of a digit read one per step by an LSTM -> class probabilities at every step [N, 8, 10]."""

    def __init__(self, hidden: int = 256) -> None:
        super().__init__()
        self.lstm = nn.LSTM(PIXELS, hidden, batch_first=True)
        self.classify = nn.Linear(hidden, CLASSES)

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        states, _ = self.lstm(rows)
        return torch.softmax(self.classify(states), dim=-1)


def transformer() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return DigitsEncoder().eval(), (torch.zeros(1, TOKENS, PIXELS),)


def lstm() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return DigitsLSTM().eval(), (torch.zeros(1, TOKENS, PIXELS),)


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.images / 16.0).astype(np.float32), digits.target.astype(np.int64)


def train(kind: str, weights: str, data_dir: str) -> dict[str, float]:
    """Train `kind` ('transformer' or 'lstm') on 80 % of the digits; write its weights, calib.npz (the first 200
    training samples) and val.npz (the held-out 20 %) under data_dir. Returns the held-out accuracy."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    epochs = 8 if kind == "transformer" else 30  # a few seconds each on one core
    images, labels = _digits()
    order = np.random.default_rng(0).permutation(len(images))
    split = int(0.8 * len(images))
    train_ids, val_ids = order[:split], order[split:]
    model, _ = transformer() if kind == "transformer" else lstm()
    classifier = nn.Linear(64, CLASSES) if kind == "transformer" else nn.Identity()
    parameters = [*model.parameters(), *classifier.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=2e-3)
    x, y = torch.from_numpy(images), torch.from_numpy(labels)

    def logits(batch: torch.Tensor) -> torch.Tensor:
        if kind == "transformer":
            return classifier(model(batch))
        return torch.log(model(batch) + 1e-9)  # per step [B, 8, 10]

    model.train()
    for _ in range(epochs):
        for start in range(0, split, 64):
            ids = torch.from_numpy(train_ids[start : start + 64])
            out = logits(x[ids])
            target = y[ids] if out.dim() == 2 else y[ids, None].expand(-1, TOKENS)
            loss = functional.cross_entropy(out.reshape(-1, CLASSES), target.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        held_out = logits(x[torch.from_numpy(val_ids)])
        final = held_out if held_out.dim() == 2 else held_out[:, -1]
        accuracy = float((final.argmax(-1).numpy() == labels[val_ids]).mean())
    torch.save(model.state_dict(), weights)
    folder = Path(data_dir)
    np.savez(folder / "calib.npz", rows=images[train_ids[:200]])
    np.savez(folder / "val.npz", rows=images[val_ids])
    return {"accuracy": accuracy, "parameters": float(sum(p.numel() for p in model.parameters()))}


def unrolled_lstm_error() -> float:
    """Largest difference between nn.LSTMs (2 layers, bidirectional, batch-first or not, with a given state) and
    their Linear-layer rewrite (edgex/quantize/linear.py)."""
    from edgex.quantize.linear import unroll_lstms

    torch.manual_seed(0)
    worst = 0.0
    for batch_first in (True, False):
        holder = nn.Sequential(nn.LSTM(5, 7, num_layers=2, bidirectional=True, batch_first=batch_first)).eval()
        x = torch.randn(3, 4, 5)
        state = (torch.randn(4, 4 if not batch_first else 3, 7), torch.randn(4, 4 if not batch_first else 3, 7))
        with torch.no_grad():
            expected = holder[0](x, state)
            assert unroll_lstms(holder) == 1 and not isinstance(holder[0], nn.LSTM)
            found = holder[0](x, state)
        pairs = [(expected[0], found[0]), (expected[1][0], found[1][0]), (expected[1][1], found[1][1])]
        worst = max(worst, *(float((a - b).abs().max()) for a, b in pairs))
    return worst


if __name__ == "__main__":
    import sys

    for name in ("transformer", "lstm"):
        (Path(sys.argv[1]) / name).mkdir(parents=True, exist_ok=True)
        print(name, train(name, str(Path(sys.argv[1]) / f"{name}.pt"), str(Path(sys.argv[1]) / name)))
