"""silero-vad 6.2.3 TorchScript archive (MIT) behind a one-tensor forward: its forward(x, sr) takes the sample
rate as a Python int, which no edgex input can carry, so this fixes sr = 16000 as a user would. The archive keeps
its recurrent state between calls; resetting it per call makes each chunk's output independent of call order
(batched reference vs one-by-one exported runs).
"""

from __future__ import annotations

import torch
from torch import nn

from benchmarks.zoo_factories._cache import cached

RATE, CHUNK = 16000, 512


class SileroVad16k(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.vad = torch.jit.load(str(cached("silero_vad/silero_vad/data/silero_vad.jit")), map_location="cpu")
        self.rate = RATE  # an attribute, not a global, so torch.jit.script can compile this wrapper

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.vad.reset_states()
        return self.vad(x, self.rate)


def build() -> tuple[nn.Module, tuple[torch.Tensor]]:
    return SileroVad16k().eval(), (torch.zeros(1, CHUNK),)
