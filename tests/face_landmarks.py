"""A PyTorch model factory for edgex (loaded by edgex's torch worker, never imported by pytest)."""

from __future__ import annotations

import torch


class FaceLandmarks(torch.nn.Module):
    """An O-Net-like landmark CNN (PReLU, ceil-mode max pools, a permute before the dense layers): XNNPACK's
    ChannelsLastTaggedReshapePass rejects its PReLU partition, so a plain lowering fails."""

    def __init__(self) -> None:
        super().__init__()
        nn = torch.nn
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3), nn.PReLU(8), nn.MaxPool2d(3, 2, ceil_mode=True),
            nn.Conv2d(8, 16, 3), nn.PReLU(16), nn.MaxPool2d(3, 2, ceil_mode=True),
            nn.Conv2d(16, 16, 2), nn.PReLU(16),
        )
        self.head = nn.Sequential(nn.Linear(16 * 3 * 3, 32), nn.PReLU(32), nn.Linear(32, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        return self.head(x.permute(0, 3, 2, 1).reshape(x.shape[0], -1))


def face_landmarks() -> tuple[torch.nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return FaceLandmarks().eval(), (torch.rand(1, 3, 24, 24),)
