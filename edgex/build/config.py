"""The build matrix file: `edgex.toml` (or `[tool.edgex]` in pyproject.toml), read with tomllib and validated.

Every problem is one line naming the file, the line and the key, with the valid keys as a hint; relative paths
resolve against the folder of the config file, so a build runs the same from any working directory.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgex.data.images import ImagePreprocess
from edgex.errors import EdgexError, UsageError
from edgex.options import (
    BUILD,
    MODEL,
    MODEL_THRESHOLDS,
    PREPROCESSING,
    TARGET,
    TARGET_OPTIONS,
    Table,
    conflict,
    describe,
    file_keys,
    place_options,
)
from edgex.pyspec import looks_like_pyspec
from edgex.sources import DynamicDim
from edgex.suggest import did_you_mean

CONFIG_NAME = "edgex.toml"
PYPROJECT = "pyproject.toml"
RANDOM_DATA = "random"
PATH_OPTIONS = ("compiler",)  # target options that are paths, resolved against the config file


class ConfigError(UsageError):
    """A problem in the build file; the message leads with file:line and the dotted key."""


@dataclass(frozen=True)
class BuildSettings:
    out: Path
    threads: int = 1
    warmup: int = 5
    runs: int = 50
    timeout: float = 1200.0
    jobs: int = 1
    junit: Path | None = None
    report_html: Path | None = None
    report_json: Path | None = None  # default: <out>/edgex-build.json
    check_determinism: bool = False
    executor: str = "local"  # 'local' (processes, --jobs) or 'ray' (edgex/build/ray_executor.py)
    ray_address: str | None = None  # None: $RAY_ADDRESS, else a local Ray started for the build


@dataclass(frozen=True)
class ModelEntry:
    id: str
    source: str  # absolute path, 'abs/file.py:factory' or 'pkg.module:factory'
    name: str | None = None  # artifact stem; default: the source's
    signature: str | None = None
    input_shapes: tuple[tuple[int, ...], ...] = ()
    input_dtypes: tuple[str, ...] = ()
    dynamic_dims: tuple[DynamicDim, ...] = ()  # PyTorch export: dimensions that may vary
    const_inputs: tuple[tuple[str, str], ...] = ()  # inputs fed the same value on every call
    state: tuple[tuple[str, str], ...] = ()  # (input, output fed to it on the next call): stateful validation
    weights: Path | None = None
    depends: tuple[Path, ...] = ()  # files the factory reads that the build cannot see (hashed with the source)
    calibration: str | None = None
    calibration_samples: int | None = None
    validation: str | None = None
    validation_samples: int | None = None
    labels: Path | None = None  # validation labels
    class_names: tuple[str, ...] = ()  # written to <out>/<model>/labels.txt for apps
    class_output: str | None = None
    preprocessing: ImagePreprocess = field(default_factory=ImagePreprocess)
    thresholds: dict[str, float] = field(default_factory=dict)
    targets: tuple[str, ...] = ()  # target entry ids; empty: every target
    metrics: tuple[str, ...] = ()  # task metrics, 'module:function' or 'file.py:function' (edgex/parity/task.py)


@dataclass(frozen=True)
class TargetEntry:
    id: str
    target: str  # registry name (edgex targets)
    modes: tuple[str, ...] = ()  # empty: the target's default mode
    io_dtype: str | None = None
    batch_size: int | None = 1  # None: keep the source's dynamic batch
    thresholds: dict[str, float] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    optional: bool = False  # a missing tool (exit 4) is reported but does not fail the build
    timeout: float | None = None
    route: str | None = None  # forced conversion route, 'keras>onnx>torch-export>pte'
    channels_last_io: bool = False
    keep_intermediates: bool = False
    per_tensor: bool = False  # granularity = "per-tensor"
    objective: str = "latency"  # -q auto: never slower than fp32 ('latency') or smallest that passes ('size')


@dataclass(frozen=True)
class Cell:
    model: ModelEntry
    target: TargetEntry

    @property
    def id(self) -> str:
        return f"{self.model.id}/{self.target.id}"


@dataclass(frozen=True)
class BuildConfig:
    path: Path
    settings: BuildSettings
    models: dict[str, ModelEntry]
    targets: dict[str, TargetEntry]

    @property
    def root(self) -> Path:
        return self.path.parent

    def cells(self) -> list[Cell]:
        """Every model x its targets, in file order."""
        return [
            Cell(model, self.targets[target_id])
            for model in self.models.values()
            for target_id in (model.targets or tuple(self.targets))
        ]


def find_config(explicit: Path | None, cwd: Path) -> Path:
    if explicit is not None:
        if not explicit.is_file():
            raise UsageError(f"--config {explicit}: no such file")
        return explicit.resolve()
    for folder in (cwd.resolve(), *cwd.resolve().parents):  # the nearest one up the tree, as ruff and pytest do
        for name in (CONFIG_NAME, PYPROJECT):
            candidate = folder / name
            if candidate.is_file() and (name == CONFIG_NAME or _has_tool_table(candidate)):
                return candidate
    raise UsageError(
        f"no {CONFIG_NAME} (or [tool.edgex] in {PYPROJECT}) in {cwd} or its parent folders",
        hint="write one (see docs/build.md) or name it with --config",
    )


def _has_tool_table(path: Path) -> bool:
    try:
        return "edgex" in tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {})
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
        return False


def load_config(path: Path) -> BuildConfig:
    try:
        text = path.read_text(encoding="utf-8")
        document = tomllib.loads(text)
    except OSError as exc:
        raise UsageError(f"{path}: unreadable ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    prefix: tuple[str, ...] = ()
    if path.name == PYPROJECT or ("tool" in document and "models" not in document):
        prefix = ("tool", "edgex")
        document = document.get("tool", {}).get("edgex")
        if not isinstance(document, dict):
            raise ConfigError(f"{path}: no [tool.edgex] table", hint="add one, or name an edgex.toml with --config")
    return _Reader(path, text, prefix).read(document)


class _Reader:
    """Validates one document; `where` keys are dotted paths below the edgex root table."""

    def __init__(self, path: Path, text: str, prefix: tuple[str, ...]) -> None:
        self.path = path
        self.locator = Locator(text, prefix)
        self.prefix = prefix

    def fail(self, key: tuple[str, ...], problem: str, hint: str | None = None) -> ConfigError:
        line = self.locator.line(key)
        where = f"{self.path}:{line}" if line else str(self.path)
        dotted = ".".join(self.prefix + key)
        return ConfigError(f"{where}: {dotted}: {problem}", hint=hint)

    def table(self, value: Any, key: tuple[str, ...], allowed: dict[str, Callable[[Any], Any]]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table, got {describe(value)}")
        checked = {}
        for name, item in value.items():
            if name not in allowed:
                raise self.fail((*key, name), "unknown key", hint=did_you_mean(name, allowed))
            try:
                checked[name] = allowed[name](item)
            except ValueError as exc:
                raise self.fail((*key, name), str(exc)) from None
        return checked

    def resolve(self, value: str) -> Path:
        return (self.path.parent / Path(value).expanduser()).resolve()

    def existing(self, value: str, key: tuple[str, ...]) -> Path:
        resolved = self.resolve(value)
        if not resolved.exists():
            raise self.fail(key, f"no such file or folder {resolved}")
        return resolved

    def read(self, document: dict[str, Any]) -> BuildConfig:
        top = self.table(document, (), dict.fromkeys(("build", "models", "targets"), Table().file))
        settings = self.settings(top.get("build", {}))
        if not top.get("targets"):
            raise self.fail(("targets",), "no targets", hint="add a [targets.NAME] table with target = 'tflite'")
        if not top.get("models"):
            raise self.fail(("models",), "no models", hint="add a [models.NAME] table with source = 'model.keras'")
        targets = {name: self.target(name, value) for name, value in top["targets"].items()}
        models = {name: self.model(name, value, targets) for name, value in top["models"].items()}
        return BuildConfig(self.path, settings, models, targets)

    def settings(self, value: Any) -> BuildSettings:
        raw = self.table(value, ("build",), BUILD_KEYS)
        paths: dict[str, Path] = {
            key: self.resolve(raw[key]) for key in ("junit", "report_html", "report_json") if key in raw
        }
        return BuildSettings(**{**raw, **paths, "out": self.resolve(raw.get("out", "dist"))})

    def target(self, name: str, value: Any) -> TargetEntry:
        from edgex.quantize.recipes import parse_recipes
        from edgex.targets import get_target

        key = ("targets", name)
        raw = self.table(value, key, TARGET_KEYS)
        try:
            target = get_target(raw.get("target", name))
        except EdgexError as exc:
            raise self.fail((*key, "target") if "target" in raw else key, exc.message, exc.hint) from None
        modes = raw.get("quantize", ())
        try:
            parse_recipes(modes, target.recipes, target.name)
        except EdgexError as exc:
            raise self.fail((*key, "quantize"), exc.message, exc.hint) from None
        pair = conflict(raw, place_options(TARGET))
        if pair is not None:
            raise self.fail((*key, pair[0].key), f"conflicts with {pair[1].key}", hint="keep one of them")
        options = self.table(raw.get("options", {}), (*key, "options"), TARGET_OPTION_KEYS)
        for option in PATH_OPTIONS:
            if option in options:
                options[option] = str(self.resolve(str(options[option])))
        return TargetEntry(
            id=name,
            target=target.name,
            modes=modes,
            io_dtype=raw.get("io_dtype"),
            batch_size=None if raw.get("dynamic_batch") else raw.get("batch_size", 1),
            thresholds=self.table(raw.get("thresholds", {}), (*key, "thresholds"), THRESHOLD_KEYS),
            options=options,
            optional=raw.get("optional", False),
            timeout=raw.get("timeout"),
            route=raw.get("route"),
            channels_last_io=raw.get("channels_last_io", False),
            keep_intermediates=raw.get("keep_intermediates", False),
            objective=raw.get("objective", "latency"),
            per_tensor=raw.get("granularity") == "per-tensor",
        )

    def model(self, name: str, value: Any, targets: dict[str, TargetEntry]) -> ModelEntry:
        from edgex.demo import resolve_demo

        key = ("models", name)
        raw = self.table(value, key, MODEL_KEYS)
        if "source" not in raw:
            raise self.fail(key, "missing required key 'source'", hint="a model file, folder, module:factory or demo")
        listed = raw.get("targets", ())
        for index, target_id in enumerate(listed):
            if target_id not in targets:
                raise self.fail((*key, "targets"), f"no target '{target_id}'", hint=did_you_mean(target_id, targets))
            if target_id in listed[:index]:
                raise self.fail((*key, "targets"), f"'{target_id}' is listed twice", hint="list each target once")
        demo = resolve_demo(raw["source"]) if not self.resolve(raw["source"]).exists() else None
        defaults: dict[str, Any] = {}
        if demo is not None:  # the bundled demo: its file and data, unless the config names others
            defaults = {"name": demo.stem, "calibration": str(demo.calibration)}
            if "validation" not in raw:
                defaults.update(validation=str(demo.validation), labels=demo.labels)
        preprocessing = self.table(raw.get("preprocessing", {}), (*key, "preprocessing"), PREPROCESSING_KEYS)
        return ModelEntry(
            id=name,
            source=demo.source if demo is not None else self.source(raw["source"], (*key, "source")),
            name=raw.get("name", defaults.get("name")),
            signature=raw.get("signature"),
            input_shapes=raw.get("input_shapes", ()),
            input_dtypes=raw.get("input_dtypes", ()),
            dynamic_dims=raw.get("dynamic_dims", ()),
            const_inputs=raw.get("const_inputs", ()),
            state=raw.get("state", ()),
            weights=self.existing(raw["weights"], (*key, "weights")) if "weights" in raw else None,
            depends=tuple(self.existing(item, (*key, "depends")) for item in raw.get("depends", ())),
            calibration=self.data(raw, "calibration", key) or defaults.get("calibration"),
            calibration_samples=raw.get("calibration_samples"),
            validation=self.data(raw, "validation", key) or defaults.get("validation"),
            validation_samples=raw.get("validation_samples"),
            labels=self.existing(raw["labels"], (*key, "labels")) if "labels" in raw else defaults.get("labels"),
            class_names=self.class_names(raw.get("class_names", ()), (*key, "class_names")),
            class_output=raw.get("class_output"),
            metrics=tuple(self.source(item, (*key, "metrics")) for item in raw.get("metrics", ())),
            preprocessing=ImagePreprocess(**preprocessing),
            thresholds=self.table(raw.get("thresholds", {}), (*key, "thresholds"), THRESHOLD_KEYS),
            targets=raw.get("targets", ()),
        )

    def source(self, value: str, key: tuple[str, ...]) -> str:
        if self.resolve(value).exists():
            return str(self.resolve(value))
        if looks_like_pyspec(value):
            module, _, function = value.rpartition(":")
            if module.endswith(".py"):
                return f"{self.existing(module, key)}:{function}"
            return value
        raise self.fail(key, f"no such file or folder {self.resolve(value)}", hint="or give 'pkg.module:factory'")

    def data(self, raw: dict[str, Any], name: str, key: tuple[str, ...]) -> str | None:
        if name not in raw:
            return None
        value = raw[name]
        if value == RANDOM_DATA and name == "calibration":
            return RANDOM_DATA
        if not self.resolve(value).exists() and looks_like_pyspec(value):
            module, _, function = value.rpartition(":")
            return f"{self.existing(module, (*key, name))}:{function}" if module.endswith(".py") else value
        return str(self.existing(value, (*key, name)))

    def class_names(self, value: tuple[str, ...] | str, key: tuple[str, ...]) -> tuple[str, ...]:
        """A list of names, or a text file with one name per line."""
        if isinstance(value, str):
            lines = self.existing(value, key).read_text(encoding="utf-8").splitlines()
            return tuple(line.strip() for line in lines if line.strip())
        return value


BUILD_KEYS = file_keys(BUILD)
MODEL_KEYS = file_keys(MODEL)
TARGET_KEYS = file_keys(TARGET)
PREPROCESSING_KEYS = file_keys(PREPROCESSING)
THRESHOLD_KEYS = file_keys(MODEL_THRESHOLDS)
TARGET_OPTION_KEYS = file_keys(TARGET_OPTIONS)


_HEADER = re.compile(r"^\s*\[\[?\s*(?P<path>[^\]]+?)\s*\]\]?\s*(?:#.*)?$")


def _split_dotted(text: str) -> tuple[str, ...]:
    """'models."demo-torch".preprocessing' -> ('models', 'demo-torch', 'preprocessing')."""
    parts = re.findall(r'"([^"]*)"|\'([^\']*)\'|([^.\s]+)', text)
    return tuple(next(p for p in groups if p) for groups in parts)


class Locator:
    """Finds the line of a dotted key in TOML text (tomllib keeps no positions): good enough to point at it."""

    def __init__(self, text: str, prefix: tuple[str, ...] = ()) -> None:
        self.lines = text.splitlines()
        self.prefix = prefix
        self.headers = [
            (number, _split_dotted(match["path"]))
            for number, line in enumerate(self.lines)
            if (match := _HEADER.match(line))
        ]

    def line(self, key: tuple[str, ...]) -> int | None:
        """1-based line of `key` (below the prefix), or of the nearest table that holds it."""
        full = self.prefix + key
        start, end, rest = 0, len(self.lines), full
        best: tuple[int, tuple[str, ...]] | None = None
        for number, path in self.headers:
            if full[: len(path)] == path and (best is None or len(path) > len(best[1])):
                best = (number, path)
        if best is not None:
            start, rest = best[0], full[len(best[1]) :]
            end = next((n for n, _ in self.headers if n > start), len(self.lines))
        elif self.headers:
            end = self.headers[0][0]
        if not rest:
            return start + 1
        found: int | None = None
        for name in rest:  # each key of the rest on or after the line of the previous one
            pattern = re.compile(rf"(^|[{{,\s.])[\"']?{re.escape(name)}[\"']?\s*[=.]")
            match = next((n for n in range(found or start, end) if pattern.search(self.lines[n])), None)
            if match is None:
                break
            found = match
        if found is not None:
            return found + 1
        return start + 1 if best is not None else None
