"""Named deployment targets (format + quantization recipes + runtime + constraints).

Targets are registered by the module of their format (edgex/formats/); this module holds the record and lookups.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgex.errors import EdgexError
from edgex.quantize.recipes import Recipe


@dataclass(frozen=True)
class Target:
    name: str
    format: str  # artifact format; also the source format used to load it for validation
    description: str
    recipes: tuple[str, ...]  # quantization recipes it supports (edgex/quantize/recipes.py), by name
    default_recipe: str
    runtime: str  # what runs it on the device
    constraints: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    name_tag: str | None = None  # extra tag in artifact names: <stem>_<tag>_<mode><ext>
    settings: tuple[tuple[str, Any], ...] = ()  # fixed converter settings, e.g. (("backend", "xnnpack"),)
    # Optional 'module:function' (FinalizeRequest) -> FinalizeOutcome, run in the parent after conversion
    # (e.g. compile for an accelerator). It decides what gets validated.
    finalize: str | None = None
    # Optional: this target's defaults and constraints applied to the run's ExportOptions (raise UsageError
    # for options the target cannot honour), e.g. forcing a static batch of 1.
    adjust_options: Callable[[Any], Any] | None = None
    # Optional: files `finalize` will write beside an artifact, refused up front like the artifact itself.
    companion_outputs: Callable[[Path], list[Path]] | None = None

    @property
    def extension(self) -> str:
        """Its format's file extension."""
        from edgex.registry import get_registry

        return get_registry().format(self.format).extension or ""

    def artifact_path(self, out_dir: Path, stem: str, recipe: Recipe) -> Path:
        tag = f"_{self.name_tag}" if self.name_tag else ""
        return out_dir / f"{stem}{tag}_{recipe.file_tag}{self.extension}"


@dataclass
class FinalizeRequest:
    target: Target
    source: Any  # SourceRef
    artifact: Path  # the converted artifact, already in place
    out_dir: Path
    force: bool
    options: Any  # ExportOptions (target_options holds this target's settings)
    on_step: Callable[[str], None]


@dataclass
class FinalizeOutcome:
    validate_path: Path | None = None  # what parity runs on (default: the converted artifact)
    validate_format: str | None = None  # its source format (default: the target's format)
    extra_artifacts: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sections: list[Any] = field(default_factory=list)  # ReportSection
    details: dict[str, Any] = field(default_factory=dict)
    checks: list[Any] = field(default_factory=list)  # parity.compare.Check gates (e.g. share of ops on the TPU)
    error: EdgexError | None = None  # the row fails with it; artifacts written so far are kept
    validate_anyway: bool = True  # run parity on validate_path even when `error` is set


def all_targets() -> dict[str, Target]:
    from edgex.registry import get_registry

    return dict(get_registry().targets)


def get_target(name: str) -> Target:
    """By name or alias, with a did-you-mean hint."""
    from edgex.registry import get_registry

    return get_registry().target(name)
