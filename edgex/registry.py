"""The one registry of formats, converters, targets and quantization recipes, filled through plugin hooks.

Built-in modules and third-party plugins register the same way: a module with a `register(registry)` function.
Built-ins are the modules of `edgex.formats`, `edgex.exporters` and `edgex.quantize.recipes` (found by listing the
packages, so a new module needs no table entry anywhere); plugins are the `edgex.plugins` entry points of installed
distributions. Every other table in edgex (routes, inspectors, mode readers, the routes and targets views, build
fingerprints) is derived from these records.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from types import ModuleType
from typing import TYPE_CHECKING, TypeVar, cast

from edgex.errors import UsageError
from edgex.suggest import did_you_mean

if TYPE_CHECKING:
    from edgex.exporters import Converter
    from edgex.formats import Format
    from edgex.quantize.recipes import Recipe
    from edgex.targets import Target

PLUGIN_GROUP = "edgex.plugins"
Item = TypeVar("Item")
BUILTIN_PACKAGES = ("edgex.formats", "edgex.exporters", "edgex.quantize.recipes")


class DuplicateRegistration(UsageError):
    """Two modules registered the same name: the later one would silently shadow the earlier."""


@dataclass
class Registry:
    formats: dict[str, Format] = field(default_factory=dict)
    converters: dict[str, Converter] = field(default_factory=dict)
    targets: dict[str, Target] = field(default_factory=dict)
    recipes: dict[str, Recipe] = field(default_factory=dict)
    plugins: dict[str, str] = field(default_factory=dict)  # plugin name -> distribution (or 'edgex' for built-ins)
    _current: str = "edgex"

    def add_format(self, item: Format) -> Format:
        return self._add(self.formats, item.name, item, "format")

    def add_converter(self, item: Converter) -> Converter:
        return self._add(self.converters, item.name, item, "converter")

    def add_target(self, item: Target) -> Target:
        return self._add(self.targets, item.name, item, "target")

    def add_recipe(self, item: Recipe) -> Recipe:
        return self._add(self.recipes, item.name, item, "quantization recipe")

    def _add(self, table: dict[str, Item], name: str, item: Item, kind: str) -> Item:
        if name in table:
            raise DuplicateRegistration(
                f"{self._current} registers {kind} '{name}', which is already registered",
                hint="give it another name",
            )
        table[name] = item
        return item

    # Lookups with one-line errors and did-you-mean hints.
    def format(self, name: str) -> Format:
        if name not in self.formats:
            raise UsageError(f"unknown format '{name}'", hint=did_you_mean(name, self.formats))
        return self.formats[name]

    def recipe(self, name: str) -> Recipe:
        if name not in self.recipes:
            raise UsageError(f"unknown quantization recipe '{name}'", hint=did_you_mean(name, self.recipes))
        return self.recipes[name]

    def target(self, name: str) -> Target:
        key = name.strip().lower()
        by_alias = {alias: t for t in self.targets.values() for alias in t.aliases}
        if key in self.targets:
            return self.targets[key]
        if key in by_alias:
            return by_alias[key]
        raise UsageError(f"unknown target '{name}'", hint=did_you_mean(key, [*self.targets, *by_alias]))


RegisterHook = Callable[[Registry], None]


def _builtin_modules() -> list[ModuleType]:
    modules = []
    for package_name in BUILTIN_PACKAGES:
        package = importlib.import_module(package_name)
        if not hasattr(package, "__path__"):
            modules.append(package)
            continue
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            if not info.name.startswith("_"):
                modules.append(importlib.import_module(f"{package_name}.{info.name}"))
    return modules


def _hook(target: object, where: str) -> RegisterHook:
    hook = getattr(target, "register", None) if isinstance(target, ModuleType) else target
    if not callable(hook):
        raise UsageError(f"{where} has no register(registry) function", hint="see docs/contributing.md")
    # A plugin's hook comes from an entry point or a module attribute, untyped by nature: declared here.
    return cast(RegisterHook, hook)


def _load_plugins(registry: Registry) -> None:
    for point in sorted(entry_points(group=PLUGIN_GROUP), key=lambda p: p.name):
        distribution = point.dist.name if point.dist is not None else "unknown distribution"
        where = f"edgex plugin '{point.name}' ({distribution})"
        registry._current = where
        try:
            hook = _hook(point.load(), where)
            hook(registry)
        except DuplicateRegistration:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not break edgex: say which and go on
            message = f"edgex: warning: {where} failed to load and is ignored: {type(exc).__name__}: {exc}"
            print(message, file=sys.stderr)
            continue
        registry.plugins[point.name] = distribution
    registry._current = "edgex"


@cache
def get_registry() -> Registry:
    """Every built-in and plugin registration, loaded once per process (cheap: no framework is imported)."""
    registry = Registry()
    for module in _builtin_modules():
        if hasattr(module, "register"):
            registry._current = f"module {module.__name__}"
            _hook(module, module.__name__)(registry)
    registry._current = "edgex"
    _load_plugins(registry)
    check_consistency(registry)
    return registry


def check_consistency(registry: Registry) -> None:
    """Records that name each other must agree: a missed name fails loudly here instead of degrading silently."""
    for converter in registry.converters.values():
        for fmt in (*converter.sources, converter.produces):
            if fmt not in registry.formats:
                raise UsageError(f"converter '{converter.name}' names unknown format '{fmt}'")
        for name in converter.recipes:
            if name not in registry.recipes:
                raise UsageError(f"converter '{converter.name}' names unknown recipe '{name}'")
        if registry.formats[converter.produces].extension is None:
            raise UsageError(f"converter '{converter.name}' makes '{converter.produces}', a format without a file")
    for target in registry.targets.values():
        if target.format not in registry.formats:
            raise UsageError(f"target '{target.name}' names unknown format '{target.format}'")
        for name in (*target.recipes, target.default_recipe):
            if name not in registry.recipes:
                raise UsageError(f"target '{target.name}' names unknown recipe '{name}'")
