"""TorchScript programs (.pt / .pth saved with torch.jit.save): reference runner, and a source for .ptl."""

from __future__ import annotations

from pathlib import Path

from edgex.sources import SourceFormat, register


def _detect(spec: str) -> bool:
    return Path(spec).suffix.lower() in (".pt", ".pth") and Path(spec).is_file()


register(
    SourceFormat(
        name="torchscript",
        description="TorchScript program (.pt, .pth from torch.jit.save; --input-shape if it records none)",
        worker="torch",
        loader="edgex.sources.torch_module:load",
        extra="torch",
        module="torch",
        detect=_detect,
    )
)
