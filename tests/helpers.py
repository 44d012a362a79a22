"""Test helpers: run the real CLI in a subprocess, build models in a real TensorFlow worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from edgex.errors import ConversionError
from edgex.workers import Worker

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = ROOT / "edgex" / "demo" / "digits"
DEMO_KERAS = DEMO_DIR / "digits.keras"
DEMO_CALIB = DEMO_DIR / "digits_calib.npz"
DEMO_VAL = DEMO_DIR / "digits_val.npz"
DEMO_LABELS = DEMO_DIR / "digits_val_labels.npy"


# converter name -> tests that run it end to end with parity asserted (see tests/test_routes.py's meta-test).
ROUTE_COVERAGE: dict[str, list[str]] = {}


def covers(*converters: str):
    """Mark a test as exercising these converters (registry introspection checks every edge has one)."""

    def mark(test):
        for name in converters:
            ROUTE_COVERAGE.setdefault(name, []).append(f"{test.__module__}.{test.__name__}")
        return test

    return mark


def run_edgex(*args: str | Path, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "edgex", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def in_worker(kind: str, target: str, *args: Any) -> Any:
    """Run a tests.factories function in a fresh framework worker (keeps frameworks out of pytest's process)."""
    worker = Worker(kind)
    try:
        return worker.call(target, *args, what=target, failure=ConversionError, timeout=600)
    finally:
        worker.close()


def tf_factory(name: str, *args: Any) -> Any:
    return in_worker("tf", f"tests.factories:{name}", *args)


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    """A user error: the exit code, exactly one 'edgex: error:' line naming `words`, and no traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("edgex: error:"), result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def load_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def leftovers(folder: Path) -> list[str]:
    """Anything in `folder` (artifacts or temp files) after a run that should have left nothing."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []
