"""Load a Python object named as 'pkg.module:name' (pkgutil.resolve_name) or 'path/to/file.py:name' (imported from
the file, its folder on the import path meanwhile): factories, data generators, metrics."""

from __future__ import annotations

import importlib.util
import pkgutil
import re
import sys
from pathlib import Path
from typing import Any

from edgex.errors import UsageError

_MODULE_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def looks_like_pyspec(spec: str) -> bool:
    """'pkg.mod:func' or 'dir/file.py:func' (a path with a colon that is not a Windows drive)."""
    if ".py:" in spec:
        return True
    return bool(_MODULE_SPEC.match(spec))


def load_object(spec: str, what: str) -> Any:
    """Import the module part of `spec` and return its attribute; one-line UsageErrors for every failure."""
    module_part, _, attribute = spec.rpartition(":")
    if not module_part or not attribute:
        raise UsageError(f"{what} '{spec}' is not of the form 'pkg.module:name' or 'path/file.py:name'")
    if module_part.endswith(".py"):
        path = Path(module_part).expanduser().resolve()
        if not path.is_file():
            raise UsageError(f"{what} '{spec}': no such file {path}")
        module_name = f"edgex_user_{path.stem}_{abs(hash(str(path)))}"
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise UsageError(f"{what} '{spec}': cannot import {path}")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[module_name] = module
        sys.path.insert(0, str(path.parent))  # let the file import its neighbours
        try:
            loader_spec.loader.exec_module(module)
        except Exception as exc:  # noqa: BLE001 - user code: report it on one line
            raise UsageError(f"{what} '{spec}': importing {path.name} failed: {type(exc).__name__}: {exc}") from None
        finally:
            sys.path.remove(str(path.parent))
    else:
        return _resolve(spec, module_part, attribute, what)
    return _attribute(module, module_part, attribute, spec, what)


def _resolve(spec: str, module_part: str, attribute: str, what: str) -> Any:
    """'pkg.module:name' through pkgutil.resolve_name, its failures as one line each."""
    try:
        return pkgutil.resolve_name(spec)
    except ModuleNotFoundError as exc:
        raise UsageError(
            f"{what} '{spec}': module '{exc.name}' not found", hint="check the name or add its folder to PYTHONPATH"
        ) from None
    except AttributeError:
        if module_part in sys.modules:  # the module imported: the name is what is missing
            return _attribute(sys.modules[module_part], module_part, attribute, spec, what)
        raise UsageError(f"{what} '{spec}': importing {module_part} failed (AttributeError)") from None
    except Exception as exc:  # noqa: BLE001 - user code: report it on one line
        raise UsageError(f"{what} '{spec}': importing {module_part} failed: {type(exc).__name__}: {exc}") from None


def _attribute(module: Any, module_part: str, attribute: str, spec: str, what: str) -> Any:
    try:
        return getattr(module, attribute)
    except AttributeError:
        public = [name for name in dir(module) if not name.startswith("_")]
        from edgex.suggest import did_you_mean

        raise UsageError(
            f"{what} '{spec}': {module_part} has no attribute '{attribute}'", hint=did_you_mean(attribute, public)
        ) from None
