"""The PyTorch twin of the Keras digits demo: same layers, same NHWC [N, 8, 8, 1] input, same data files.

`build()` is an edgex factory (`edgex export edgex.demo.digits_torch:build ...`, or `edgex export demo-torch`):
it returns the trained module (weights from digits/digits_torch.pt, loaded with weights_only=True) and an
example input.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional

WEIGHTS = Path(__file__).resolve().parent / "digits" / "digits_torch.pt"


class DigitsNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(64 * 4 * 4, 64)
        self.probs = nn.Linear(64, 10)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = image.permute(0, 3, 1, 2)  # NHWC in, like the Keras demo and Android camera buffers
        x = functional.relu(self.conv1(x))
        x = self.pool(functional.relu(self.conv2(x)))
        x = functional.relu(self.fc(torch.flatten(x, 1)))
        return functional.softmax(self.probs(x), dim=1)


def build() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    model = DigitsNet()
    model.load_state_dict(torch.load(WEIGHTS, weights_only=True))
    return model.eval(), (torch.zeros(1, 8, 8, 1),)
