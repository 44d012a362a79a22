"""Resemblyzer 0.1.4 speaker encoder (MIT): 3-layer LSTM over 40-band mel frames, ReLU'd linear, L2-normed.

The architecture mirrors resemblyzer/voice_encoder.py so the package's own state_dict (pretrained.pt) loads
unchanged; the package itself is not imported (it pulls librosa and webrtcvad).
"""

from __future__ import annotations

import torch
from torch import nn

from benchmarks.zoo_factories._cache import cached

MEL_CHANNELS, FRAMES, HIDDEN, EMBEDDING, LAYERS = 40, 160, 256, 256, 3


class VoiceEncoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(MEL_CHANNELS, HIDDEN, LAYERS, batch_first=True)
        self.linear = nn.Linear(HIDDEN, EMBEDDING)
        self.relu = nn.ReLU()

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(mels)
        embeds_raw = self.relu(self.linear(hidden[-1]))
        return embeds_raw / torch.norm(embeds_raw, dim=1, keepdim=True)


def build() -> tuple[nn.Module, tuple[torch.Tensor]]:
    model = VoiceEncoder()
    checkpoint = torch.load(cached("resemblyzer/resemblyzer/pretrained.pt"), map_location="cpu", weights_only=True)
    state = checkpoint["model_state"]
    # The training-time similarity scale/bias are not part of inference (the package loads with strict=False).
    model.load_state_dict({k: v for k, v in state.items() if not k.startswith("similarity_")}, strict=True)
    return model.eval(), (torch.zeros(1, FRAMES, MEL_CHANNELS),)
