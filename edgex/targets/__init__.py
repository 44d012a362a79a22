"""Named deployment targets (format + quantization modes + runtime + constraints), one module each."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from edgex.errors import UsageError
from edgex.quantize.modes import QuantMode
from edgex.suggest import did_you_mean


@dataclass(frozen=True)
class Target:
    name: str
    format: str  # artifact format; also the source format used to load it for validation
    extension: str
    description: str
    quant_modes: tuple[QuantMode, ...]
    default_mode: QuantMode
    runtime: str  # what runs it on the device
    constraints: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    def artifact_path(self, out_dir: Path, stem: str, mode: QuantMode) -> Path:
        return out_dir / f"{stem}_{mode.file_tag}{self.extension}"


_TARGETS: dict[str, Target] = {}
_MODULES = ("tflite",)


def register(target: Target) -> Target:
    _TARGETS[target.name] = target
    return target


def all_targets() -> dict[str, Target]:
    for module in _MODULES:
        importlib.import_module(f"edgex.targets.{module}")
    return dict(_TARGETS)


def get_target(name: str) -> Target:
    targets = all_targets()
    by_alias = {alias: t for t in targets.values() for alias in t.aliases}
    key = name.strip().lower()
    if key in targets:
        return targets[key]
    if key in by_alias:
        return by_alias[key]
    raise UsageError(f"unknown target '{name}'", hint=did_you_mean(key, [*targets, *by_alias]))
