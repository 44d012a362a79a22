"""Quantization recipes: what `-q NAME` means, as data.

A recipe says what it is (name, file tag, whether it needs calibration, its default parity thresholds); each
converter says which recipes it supports and holds the builder that applies a recipe on its backend (the
`RECIPE_BUILDERS` table of a converter module), so a new recipe plugs in as one record here (or in a plugin) plus
builders in the converters that can make it. Recipes cross into worker processes by name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from edgex.errors import UsageError
from edgex.parity.thresholds import Thresholds
from edgex.suggest import did_you_mean

if TYPE_CHECKING:
    from edgex.registry import Registry

FLOAT = "none"  # the float32 recipe: every route supports it, intermediates of a route always use it
AUTO = "auto"  # int8 where it holds: the export pipeline tries recipes and layer sets (edgex/exporting.py)
AUTO_MAX_FLOAT_LAYERS = 3  # -q auto keeps at most this many layers in float before it falls back
AUTO_FALLBACKS = ("int16x8", "fp16", FLOAT)  # then, in order, whichever the converter and target make


@dataclass(frozen=True)
class PT2ESpec:
    """How a PT2E quantizer (XNNPACK's or litert-torch's) is configured for a recipe: one shared helper uses it."""

    per_channel: bool = True
    dynamic: bool = False  # activations quantized at run time: no calibration pass


@dataclass(frozen=True)
class LinearSpec:
    """Dynamic int8 activations with int8 or int4 weights on Linear layers (and LSTMs, rewritten as Linear layers)
    only: the recipe for transformer- and RNN-shaped models, whose weights sit in matmuls. Converters use it for
    models whose Linear/RNN weights dominate (edgex/quantize/linear.py), or for every model when the recipe has
    no PT2E configuration."""

    weight_bits: int = 8
    group_size: int | None = None  # None: one scale per output channel; else one per group of input weights


@dataclass(frozen=True)
class Recipe:
    name: str  # what -q takes
    summary: str
    file_tag: str  # artifact names: <stem>_<tag>.<ext>
    thresholds: Thresholds  # default parity gates for artifacts made with it
    needs_calibration: bool = False
    pt2e: PT2ESpec | None = None  # set for recipes a PT2E quantizer can apply
    linear: LinearSpec | None = None  # set for recipes with a Linear-layer form (see LinearSpec)

    @property
    def is_float(self) -> bool:
        return self.name == FLOAT


BUILTIN = (
    Recipe(
        FLOAT,
        "float32, no quantization",
        "fp32",
        Thresholds(min_cosine=0.9999, min_snr_db=60.0, min_top1_agreement=99.5, max_top1_drop=0.5),
    ),
    Recipe(
        "fp16",
        "float16 weights (about half the size; float compute where fp16 is unsupported)",
        "fp16",
        Thresholds(min_cosine=0.999, min_snr_db=40.0, min_top1_agreement=99.0, max_top1_drop=0.5),
    ),
    Recipe(
        "dynamic",
        "dynamic-range: int8 weights, activations quantized at run time",
        "dynamic",
        Thresholds(min_cosine=0.995, min_snr_db=25.0, min_top1_agreement=98.0, max_top1_drop=1.0),
        pt2e=PT2ESpec(per_channel=True, dynamic=True),
        linear=LinearSpec(weight_bits=8),
    ),
    Recipe(
        "int8",
        "full integer int8 (weights and activations), needs calibration data",
        "int8",
        Thresholds(min_cosine=0.99, min_snr_db=15.0, min_top1_agreement=97.0, max_top1_drop=2.0),
        needs_calibration=True,
        pt2e=PT2ESpec(per_channel=True, dynamic=False),
    ),
    Recipe(
        AUTO,
        "int8 where it holds: full int8, else the fewest sensitive layers kept float, else int16x8/fp16/fp32",
        "auto",
        Thresholds(min_cosine=0.99, min_snr_db=15.0, min_top1_agreement=97.0, max_top1_drop=2.0),
        needs_calibration=True,
    ),
    Recipe(
        "8da4w",
        "int8 dynamic activations, int4 weights in groups of 32 on Linear layers (transformers, LSTMs)",
        "8da4w",
        Thresholds(min_cosine=0.99, min_snr_db=15.0, min_top1_agreement=97.0, max_top1_drop=2.0),
        linear=LinearSpec(weight_bits=4, group_size=32),
    ),
    Recipe(
        "int16x8",
        "int16 activations with int8 weights, needs calibration data",
        "int16x8",
        Thresholds(min_cosine=0.999, min_snr_db=30.0, min_top1_agreement=98.0, max_top1_drop=1.0),
        needs_calibration=True,
    ),
)


def register(registry: Registry) -> None:
    for recipe in BUILTIN:
        registry.add_recipe(recipe)


def get_recipe(name: str) -> Recipe:
    from edgex.registry import get_registry

    return get_registry().recipe(name)


def recipe_from_name(stem: str) -> Recipe | None:
    """The recipe whose tag edgex put at the end of an artifact name (<stem>_..._<tag>), if there is one."""
    from edgex.registry import get_registry

    tags = {recipe.file_tag: recipe for recipe in get_registry().recipes.values()}
    return tags.get(stem.rpartition("_")[2])


def parse_recipes(values: Iterable[str], supported: Iterable[str], target: str) -> list[Recipe]:
    """Expand 'all' and comma lists; keep order, drop duplicates; reject recipes the target does not support."""
    from edgex.registry import get_registry

    registry = get_registry()
    supported = tuple(supported)
    chosen: list[Recipe] = []
    known = {*registry.recipes, "all"}
    for value in values:
        parts = [part.strip().lower() for part in value.split(",")]
        if not any(parts):
            raise UsageError(f"--quantize '{value}' names no recipe", hint=f"choose from {', '.join(sorted(known))}")
        for part in filter(None, parts):
            if part not in known:
                raise UsageError(f"unknown quantization mode '{part}'", hint=did_you_mean(part, known))
            for name in [n for n in supported if n != AUTO] if part == "all" else (part,):  # all: each recipe once
                if name not in supported:
                    raise UsageError(
                        f"target '{target}' does not support --quantize {name}",
                        hint=f"it supports: {', '.join(supported)}",
                    )
                recipe = registry.recipes[name]
                if recipe not in chosen:
                    chosen.append(recipe)
    return chosen
