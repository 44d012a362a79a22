"""What a build cell's artifacts depend on, hashed: a cell whose fingerprint is unchanged is up to date.

Parts: the source's bytes (a file, a folder, or for a factory the factory's folder of Python files plus the
weight files beside it, --weights and `depends`), each data file, the options that shape the cell, the installed
versions of edgex, Python and every framework (read with importlib.metadata: nothing is imported), a digest of
edgex's own code, and external tools a target runs (the Edge TPU compiler, or its absence).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import platform
import sys
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from edgex.artifacts import sha256_file, sha256_tree
from edgex.build.config import BuildSettings, Cell
from edgex.errors import EdgexError
from edgex.pyspec import looks_like_pyspec

# Distributions whose versions can change an artifact or its parity figures.
DISTRIBUTIONS = (
    "numpy",
    "tensorflow",
    "keras",
    "ai-edge-litert",
    "tflite-runtime",
    "torch",
    "executorch",
    "torchao",
    "litert-torch",
    "onnx",
    "onnxruntime",
    "onnx2tf",
    "onnx2torch",
)
# Files next to a factory module that hold weights it may load without telling anyone.
WEIGHT_SUFFIXES = {".pt", ".pth", ".ckpt", ".bin", ".safetensors", ".h5", ".keras", ".npz", ".npy", ".onnx"}
EDGEX_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Fingerprint:
    digest: str
    parts: dict[str, str]  # part name -> sha256 (or a short description), for "rebuilt because ..."

    def changed(self, previous: dict[str, str]) -> list[str]:
        """Names of the parts that differ from a previous fingerprint's."""
        names = sorted(set(self.parts) | set(previous))
        return [name for name in names if self.parts.get(name) != previous.get(name)]


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _files_digest(paths: list[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(set(paths)):
        digest.update(str(path.relative_to(root) if path.is_relative_to(root) else path.name).encode())
        digest.update(sha256_tree(path).encode())
    return digest.hexdigest()


def module_file(module: str, search: list[Path]) -> Path | None:
    """Where 'pkg.sub.mod' lives, found without importing anything (a package __init__ may import torch)."""
    parts = module.split(".")
    for folder in search:
        base = folder.joinpath(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    spec = importlib.util.find_spec(parts[0])  # an installed top-level package: finding it imports nothing
    if spec is None:
        return None
    if len(parts) == 1:
        return Path(spec.origin) if spec.origin else None
    return module_file(".".join(parts[1:]), [Path(p) for p in spec.submodule_search_locations or []])


def factory_files(module: Path) -> list[Path]:
    """The factory's folder: its Python files (a factory imports its neighbours) and weight files one level down."""
    folder = module.parent
    files = [p for p in folder.glob("*.py") if p.is_file()]
    files += [p for pattern in ("*", "*/*") for p in folder.glob(pattern) if p.suffix.lower() in WEIGHT_SUFFIXES]
    return [p for p in files if p.is_file()]


def _spec_digest(spec: str, root: Path) -> str:
    """A file/folder, 'file.py:function' or 'pkg.module:function' (model factories and data generators)."""
    path = Path(spec)
    if path.exists():
        return sha256_tree(path)
    if looks_like_pyspec(spec):
        module, _, function = spec.rpartition(":")
        search = [root, *(Path(p) for p in sys.path if p)]
        found = Path(module) if module.endswith(".py") else module_file(module, search)
        if found is not None and found.is_file():
            return _digest([function, _files_digest(factory_files(found), found.parent)])
    return _digest(["unresolved", spec])  # only the name is known; resolving fails later with a clear error


def _portable(spec: str) -> str:
    """The spec without the folders it lives in: moving a checkout must not rebuild it."""
    if looks_like_pyspec(spec):
        module, _, function = spec.rpartition(":")
        return f"{Path(module).name}:{function}" if module.endswith(".py") else spec
    return Path(spec).name


def edgex_code_digest() -> str:
    """edgex's own code: a converter fix changes artifacts even when the version number does not move."""
    return _files_digest([p for p in EDGEX_ROOT.rglob("*.py")], EDGEX_ROOT)


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in ("edgex", *DISTRIBUTIONS):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def tool_identity(cell: Cell) -> str | None:
    """External programs a target runs: their path and bytes, or their absence (so installing one rebuilds)."""
    if cell.target.target != "edgetpu":
        return None
    from edgex.edgetpu.compiler import find_compiler

    option = cell.target.options.get("compiler")
    try:
        compiler = find_compiler(Path(option) if option else None)
    except EdgexError as exc:
        return f"edgetpu_compiler unavailable: {exc.message}"
    return f"{compiler} {sha256_file(compiler)}"


def fingerprint(cell: Cell, settings: BuildSettings, overrides: dict[str, float], code: str, root: Path) -> Fingerprint:
    """`overrides`: thresholds from the command line; `code`: edgex_code_digest() (once per build); `root`: the
    config file's folder, where 'pkg.module:factory' sources are looked up first."""
    model, target = cell.model, cell.target
    parts = {"source": _spec_digest(model.source, root)}
    for name, spec in (("calibration", model.calibration), ("validation", model.validation)):
        if spec:
            parts[name] = _spec_digest(spec, root)
    for name, path in (("labels", model.labels), ("weights", model.weights)):
        if path is not None:
            parts[name] = sha256_tree(path)
    if model.depends:
        parts["depends"] = _files_digest(list(model.depends), root)
    model_fields = {**asdict(model), "source": _portable(model.source)}
    for key in ("calibration", "validation", "labels", "weights", "depends"):
        model_fields.pop(key)  # their bytes are hashed above; where they live does not matter
    model_fields.pop("targets")  # the matrix around the cell does not change it (class names do: they are embedded)
    options = {
        "model": model_fields,
        "target": asdict(target),
        "bench": [settings.threads, settings.warmup, settings.runs, settings.timeout],
        "overrides": overrides,
    }
    parts["options"] = _digest(options)
    parts["versions"] = _digest(versions())
    parts["edgex code"] = code
    tool = tool_identity(cell)
    if tool is not None:
        parts["tools"] = _digest(tool)
    return Fingerprint(_digest(parts), parts)
