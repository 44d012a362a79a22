"""MobileNetV2 (Sandler et al. 2018) in plain PyTorch, for latency and delegation benchmarks.

Defined here because torchvision's wheel cannot be imported beside the pinned CPU torch. Random weights are
enough for latency, size and delegation coverage; `build()` is an edgex factory.
"""

from __future__ import annotations

import torch
from torch import nn

# (expansion t, output channels c, repeats n, first stride s), as in the paper's Table 2.
SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def _conv(
    inputs: int, outputs: int, kernel: int, stride: int, groups: int = 1, activation: bool = True
) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(inputs, outputs, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(outputs),
    ]
    if activation:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, inputs: int, outputs: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = inputs * expansion
        layers = [] if expansion == 1 else [_conv(inputs, hidden, 1, 1)]
        layers += [_conv(hidden, hidden, 3, stride, groups=hidden), _conv(hidden, outputs, 1, 1, activation=False)]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and inputs == outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.residual else self.block(x)


class MobileNetV2(nn.Module):
    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv(3, 32, 3, 2)]
        channels = 32
        for expansion, outputs, repeats, stride in SETTINGS:
            for index in range(repeats):
                layers.append(InvertedResidual(channels, outputs, stride if index == 0 else 1, expansion))
                channels = outputs
        layers.append(_conv(channels, 1280, 1, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(1280, classes)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        # Global pooling as torchvision writes it; `.mean(dim=(2, 3))` is not taken by XNNPACK (edgex reports it).
        pooled = torch.flatten(nn.functional.adaptive_avg_pool2d(self.features(image), 1), 1)
        return torch.softmax(self.classifier(pooled), dim=1)


def build() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return MobileNetV2().eval(), (torch.zeros(1, 3, 224, 224),)
