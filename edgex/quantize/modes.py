"""Quantization modes: one vocabulary for every format; each target says which modes it supports."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from edgex.errors import UsageError
from edgex.suggest import did_you_mean


class QuantMode(StrEnum):
    NONE = "none"  # float32
    FP16 = "fp16"  # float16 weights
    DYNAMIC = "dynamic"  # int8 weights, float activations quantized on the fly
    INT8 = "int8"  # full integer: int8 weights and activations, calibrated
    INT16X8 = "int16x8"  # int16 activations, int8 weights, calibrated

    @property
    def file_tag(self) -> str:
        """The tag in artifact names: <stem>_<tag>.<ext>."""
        return "fp32" if self is QuantMode.NONE else self.value

    @property
    def needs_calibration(self) -> bool:
        return self in (QuantMode.INT8, QuantMode.INT16X8)


@dataclass(frozen=True)
class ModeHelp:
    mode: QuantMode
    summary: str


MODE_HELP = (
    ModeHelp(QuantMode.NONE, "float32, no quantization"),
    ModeHelp(QuantMode.FP16, "float16 weights (about half the size; float compute where fp16 is unsupported)"),
    ModeHelp(QuantMode.DYNAMIC, "dynamic-range: int8 weights, activations quantized at run time"),
    ModeHelp(QuantMode.INT8, "full integer int8 (weights and activations), needs calibration data"),
    ModeHelp(QuantMode.INT16X8, "int16 activations with int8 weights, needs calibration data"),
)


def mode_from_name(stem: str) -> QuantMode | None:
    """The mode tag edgex puts at the end of artifact names (<stem>_..._<tag>), if there is one."""
    tags = {mode.file_tag: mode for mode in QuantMode}
    return tags.get(stem.rpartition("_")[2])


def parse_modes(values: tuple[str, ...] | list[str], supported: tuple[QuantMode, ...], target: str) -> list[QuantMode]:
    """Expand 'all' and comma lists; keep order, drop duplicates; reject modes the target does not support."""
    modes: list[QuantMode] = []
    known = {m.value for m in QuantMode} | {"all"}
    for value in values:
        for part in value.split(","):
            part = part.strip().lower()
            if not part:
                continue
            if part not in known:
                raise UsageError(f"unknown quantization mode '{part}'", hint=did_you_mean(part, known))
            chosen = list(supported) if part == "all" else [QuantMode(part)]
            for mode in chosen:
                if mode not in supported:
                    raise UsageError(
                        f"target '{target}' does not support --quantize {mode.value}",
                        hint=f"it supports: {', '.join(m.value for m in supported)}",
                    )
                if mode not in modes:
                    modes.append(mode)
    return modes
