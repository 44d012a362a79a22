"""Shared by the build, manifest, HTML and sample-app tests: the repository's own edgex.toml built once per session,
digit images as an app would get them, reference outputs from the real models, and a headless Chromium."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers import DEMO_LABELS, DEMO_VAL, ROOT, run_edgex

EXAMPLE_CONFIG = ROOT / "edgex.toml"
DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")  # its class_names
WEB_APP = ROOT / "sample_apps" / "web"
CHROMIUM = Path("/usr/bin/chromium")
IMAGE_COUNT = 120  # of the 359 held-out digits: enough for agreement percentages, quick in a browser


@dataclass
class ExampleBuild:
    out: Path
    first: subprocess.CompletedProcess[str]
    first_seconds: float
    second: subprocess.CompletedProcess[str]
    second_seconds: float

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads((self.out / "edgex-manifest.json").read_text())

    @property
    def report(self) -> dict[str, Any]:
        return json.loads((self.out / "edgex-build.json").read_text())

    def entry(self, cell: str) -> dict[str, Any]:
        return next(e for e in self.manifest["artifacts"] if e["cell"] == cell and e["accelerator"] is None)


def build_args(out: Path) -> list[str | Path]:
    """The example build's options: a later run with other timing options would rebuild (they are cell inputs),
    and without its own report paths it would write into the repository's dist/ (the config's)."""
    return ["build", "--config", EXAMPLE_CONFIG, "--out", out, "--runs", "5", "--warmup", "2",
            "--junit", out / "junit.xml", "--report-html", out / "report.html"]


def _build(out: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], float]:
    clock = time.perf_counter()
    result = run_edgex(*build_args(out), *extra, timeout=900)
    return result, time.perf_counter() - clock


def example_build(factory: pytest.TempPathFactory) -> ExampleBuild:
    """The example matrix built once per session (2 parallel jobs, determinism measured), then built again."""
    out = factory.getbasetemp() / "example-build"
    cached = out / "session.json"
    if cached.exists():
        data = json.loads(cached.read_text())
        return ExampleBuild(
            out,
            subprocess.CompletedProcess(*data["first"]),
            data["first_seconds"],
            subprocess.CompletedProcess(*data["second"]),
            data["second_seconds"],
        )
    first, first_seconds = _build(out, "--jobs", "2", "--check-determinism")
    second, second_seconds = _build(out)
    record = {
        "first": [first.args, first.returncode, first.stdout, first.stderr],
        "first_seconds": first_seconds,
        "second": [second.args, second.returncode, second.stdout, second.stderr],
        "second_seconds": second_seconds,
    }
    cached.write_text(json.dumps(record, default=str))
    return ExampleBuild(out, first, first_seconds, second, second_seconds)


def digit_images(folder: Path, count: int = IMAGE_COUNT) -> tuple[list[Path], np.ndarray, np.ndarray]:
    """Held-out digits as 8-bit PNGs (what a camera app has), the float inputs those PNGs decode to, and labels."""
    from PIL import Image

    images = np.load(DEMO_VAL)["image"][:count]
    labels = np.load(DEMO_LABELS)[:count]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, image in enumerate(images):
        path = folder / f"digit_{index:03d}.png"
        Image.fromarray(np.round(image[..., 0] * 255).astype(np.uint8), "L").save(path)
        paths.append(path)
    decoded = np.stack([np.asarray(Image.open(p), dtype=np.float32)[..., None] / 255.0 for p in paths])
    (folder / "index.json").write_text(json.dumps([p.name for p in paths]))
    return paths, decoded.astype(np.float32), labels


def reference_outputs(source: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run a model (a file or 'pkg.module:factory') on `arrays` in its framework's own worker process."""
    from edgex.sources import resolve_source
    from edgex.sources.remote import RemoteRunner
    from edgex.workers import WorkerPool

    with WorkerPool(threads=1) as pool:
        runner = RemoteRunner(pool, resolve_source(source), threads=1)
        try:
            runner.load()
            return runner.run(arrays)
        finally:
            runner.close()


def browser_missing() -> str | None:
    """Why the browser tests cannot run here (printed as the skip reason), or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (make browser installs Debian's chromium as root)"
    if shutil.which("node") is None:
        return "node is not installed"
    if not (WEB_APP / "node_modules" / "playwright-core").is_dir():
        return f"npm packages missing in {WEB_APP} (make browser runs npm ci there)"
    return None


def browse(url: str, *, until: str | None = None, evaluate: str | None = None, screenshot: Path | None = None,
           timeout: float = 180) -> dict[str, Any]:
    """Open `url` in headless Chromium through sample_apps/web/browse.mjs; returns its JSON answer."""
    request = {"url": url, "until": until, "evaluate": evaluate, "screenshot": str(screenshot) if screenshot else None}
    result = subprocess.run(
        ["node", str(WEB_APP / "browse.mjs"), json.dumps(request)],
        capture_output=True, text=True, timeout=timeout, cwd=WEB_APP,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, f"browse.mjs printed nothing (rc {result.returncode}): {result.stderr[-2000:]}"
    answer = json.loads(lines[-1])
    assert answer["state"] != "driver-error", answer
    return answer


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_args: Any) -> None:
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """A static file server for `folder` on 127.0.0.1 (a free port), stopped on exit."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
