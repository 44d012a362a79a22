"""torch.export programs (.pt2): reference runner on ExportedProgram.module()."""

from __future__ import annotations

from pathlib import Path

from edgex.sources import SourceFormat, register


def _detect(spec: str) -> bool:
    return Path(spec).suffix.lower() == ".pt2"


register(
    SourceFormat(
        name="torch-export",
        description="torch.export program (.pt2)",
        worker="torch",
        loader="edgex.sources.torch_module:load",
        extra="torch",
        module="torch",
        detect=_detect,
    )
)
