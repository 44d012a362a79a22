"""Model formats: one module per format holds everything edgex knows about it.

A format module defines a `register(registry)` hook that adds its `Format` record (detection, the runner loader and
its worker kind, inspector, I/O and recipe readers, version modules, install hint) and, for formats that ship to
devices, its deployment targets. The runner code itself lives in the same module and runs only inside workers, so
importing a format module stays cheap.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Format:
    name: str  # node name in the format graph: keras, savedmodel, tflite, ...
    description: str
    worker: str  # worker kind that loads it (edgex.workers.PRELOAD)
    loader: str  # 'module:function' run in that worker: (SourceRef, threads) -> runner
    extra: str  # pip extra that provides `module`
    module: str  # Python package the loader needs
    detect: Callable[[str], bool] = field(compare=False)
    extension: str | None = None  # file written for it (artifact or route intermediate); None: not writable
    deploy_only: bool = False  # a format models ship in, not one they are trained or saved in
    inspector: str | None = None  # 'module:function' (Path) -> Inspection, for `edgex inspect`
    io_reader: str | None = None  # 'module:function' (Path) -> {"inputs": [...], "outputs": [...]} for manifests
    recipe_reader: str | None = None  # 'module:function' (Path) -> recipe name, for thresholds of a given artifact
    distributions: tuple[str, ...] = ()  # distributions whose versions change what this format's runner computes
    install_hint: str | None = None  # when `pip install edgex[extra]` is not how to get it

    def installed(self) -> bool:
        """Whether the loader's package is importable here (cheap: no import)."""
        return importlib.util.find_spec(self.module.split(".")[0]) is not None

    def hint(self) -> str:
        return self.install_hint or f"pip install 'edgex[{self.extra}]'"
