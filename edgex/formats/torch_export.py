"""torch.export programs (.pt2): reference runner on ExportedProgram.module()."""

from __future__ import annotations

from pathlib import Path

from edgex.formats import Format
from edgex.registry import Registry


def _detect(spec: str) -> bool:
    return Path(spec).suffix.lower() == ".pt2"



def register(registry: Registry) -> None:
    registry.add_format(
        Format(
            name="torch-export",
            description="torch.export program (.pt2)",
            worker="torch",
            loader="edgex.formats.torch_factory:load",
            extra="torch",
            module="torch",
            detect=_detect,
            extension=".pt2",
            distributions=("torch",),
        )
    )
