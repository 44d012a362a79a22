"""TorchScript programs (.pt / .pth / .jit saved with torch.jit.save): reference runner, and a source for .ptl."""

from __future__ import annotations

from pathlib import Path

from edgex.formats import Format
from edgex.registry import Registry


def _detect(spec: str) -> bool:
    return Path(spec).suffix.lower() in (".pt", ".pth", ".jit") and Path(spec).is_file()



def register(registry: Registry) -> None:
    registry.add_format(
        Format(
            name="torchscript",
            description="TorchScript program (.pt, .pth, .jit from torch.jit.save; --input-shape if it records none)",
            worker="torch",
            loader="edgex.formats.torch_factory:load",
            extra="torch",
            module="torch",
            detect=_detect,
            distributions=("torch",),
        )
    )
