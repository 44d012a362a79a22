"""A GRU cell with its state as an explicit input and output, forward(x, h) -> (y, h_next): the shape of the
streaming models (keyword spotters, VAD) whose state the caller carries between calls (tests/test_state.py)."""

from __future__ import annotations

import torch
from torch import nn

FEATURES, HIDDEN = 8, 16


class GRUStep(nn.Module):
    """One step; `drift` is added to the state output only, so y of one call is unchanged and only the next call,
    fed that state, sees it (what a stateful validation must catch and a per-call one cannot)."""

    def __init__(self, drift: float = 0.0) -> None:
        super().__init__()
        self.cell = nn.GRUCell(FEATURES, HIDDEN)
        self.head = nn.Linear(HIDDEN, 4)
        self.drift = drift

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h_next = self.cell(x, h)
        return self.head(h_next), h_next + self.drift


def _built(drift: float) -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return GRUStep(drift).eval(), (torch.zeros(1, FEATURES), torch.zeros(1, HIDDEN))


def build() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    return _built(0.0)


def build_drifting() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """The same weights, its state output off by 0.05 per call."""
    return _built(0.05)
