"""A build matrix beyond one machine: `--shard K/N`, `edgex report merge`, `--executor ray`.

The one-machine reference is the session's example build (tests/build_helpers.py); the shards build two of its
cells again, one shard in a local process and one as Ray tasks on a local Ray cluster this module starts, side by
side as two CI jobs would, and the merge of the two must be that build: the same sha256 per artifact, the same
manifest rows (timings aside), a folder a later `edgex build` finds up to date.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.build_helpers import EXAMPLE_CONFIG, ExampleBuild, build_args, example_build
from tests.helpers import ROOT, assert_one_line_error, run_edgex

# The two cheapest cells of the example, from both frameworks (Keras -> TFLite, PyTorch -> litert-torch).
SHARDED = ["demo/tflite-int8", "demo-torch/tflite-int8-int8io"]
TIMINGS = ("latency_median_ms", "reference_latency_median_ms", "latency_ratio")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> ExampleBuild:
    return example_build(tmp_path_factory)


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """A local Ray cluster of 2 CPUs; its workers import this checkout's edgex."""
    ray = pytest.importorskip("ray", reason="ray is not installed: pip install 'edgex[ray]'")
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(ROOT)  # the raylet and its workers inherit it
    try:
        context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    finally:
        if previous is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = previous
    try:
        yield str(context.address_info["gcs_address"])
    finally:
        ray.shutdown()


def _rows(manifest: dict[str, Any], cells: list[str]) -> list[dict[str, Any]]:
    """Manifest rows of `cells` without what differs between two honest builds: timings and the determinism
    measurement (the example build measured it, the shards did not)."""
    rows = []
    for entry in manifest["artifacts"]:
        if entry["cell"] not in cells:
            continue
        entry = {**entry, "deterministic": None}
        if entry["parity"] is not None:
            metrics = {k: v for k, v in entry["parity"]["metrics"].items() if k not in TIMINGS}
            entry["parity"] = {**entry["parity"], "metrics": metrics}
        rows.append(entry)
    return rows


def _shard_command(out: Path, shard: str, *extra: str) -> list[str]:
    selection = [arg for cell in SHARDED for arg in ("--only", cell)]
    args = [*build_args(out), "--report-json", out / "edgex-build.json", *selection, "--shard", shard, *extra]
    return [sys.executable, "-m", "edgex", *map(str, args)]


def test_shards_partition_the_cells_deterministically_and_stably() -> None:
    from edgex.build.config import load_config
    from edgex.build.shard import Shard

    ids = [cell.id for cell in load_config(EXAMPLE_CONFIG).cells()]
    many = [f"model{m}/target{t}" for m in range(8) for t in range(5)]
    for cells in (ids, many):
        for count in range(1, 7):
            shares = [Shard(k, count).select(cells, cells) for k in range(1, count + 1)]
            assert sorted(c for share in shares for c in share) == sorted(cells)  # union = all, disjoint
            assert max(map(len, shares)) - min(map(len, shares)) <= 1, shares  # balanced
            reverse = [sorted(Shard(k, count).select(cells[::-1], cells[::-1])) for k in range(1, count + 1)]
            assert reverse == [sorted(share) for share in shares]  # not the file's order
            assert all(share == [c for c in cells if c in share] for share in shares)  # kept in file order
    # Adding a cell moves at most one old cell across each of the N-1 cut points.
    for count in (2, 3, 4):
        before = {c: k for k in range(1, count + 1) for c in Shard(k, count).select(many, many)}
        grown = [*many, "model9/target0"]
        after = {c: k for k in range(1, count + 1) for c in Shard(k, count).select(grown, grown)}
        assert sum(before[c] != after[c] for c in many) <= count - 1
    assert Shard.parse(" 2/3 ") == Shard(2, 3)
    for bad in ("3/2", "0/2", "2", "a/b", "1/0", "-1/2"):
        with pytest.raises(ValueError, match="expected K/N with 1 <= K <= N"):
            Shard.parse(bad)
    result = run_edgex("build", "--config", EXAMPLE_CONFIG, "--shard", "3/2")
    assert_one_line_error(result, 2, "--shard", "expected K/N with 1 <= K <= N", "'3/2'")


def test_executor_ray_without_ray_is_exit_4_with_the_install_hint(tmp_path: Path) -> None:
    """Where ray is not installed (simulated: a None entry in sys.modules is how Python spells 'not importable')."""
    without_ray = "import sys; sys.modules['ray'] = None; from edgex.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", without_ray, "build", "--config", str(EXAMPLE_CONFIG), "--out", str(tmp_path / "out"),
         "--executor", "ray", "--only", "demo/tflite-int8"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert_one_line_error(result, 4, "--executor ray needs the Python package 'ray'", "pip install 'edgex[ray]'")
    assert not (tmp_path / "out").exists()


def test_two_shards_one_on_ray_merge_into_the_local_build(
    built: ExampleBuild, ray_address: str, tmp_path: Path
) -> None:
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(ROOT)}
    shards = [tmp_path / "shard-1", tmp_path / "shard-2"]
    clock = time.perf_counter()
    jobs = [  # two CI jobs at once: shard 1 in local processes, shard 2 as Ray tasks on the module's cluster
        subprocess.Popen(_shard_command(shards[0], "1/2"), env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE),
        subprocess.Popen(_shard_command(shards[1], "2/2", "--executor", "ray", "--ray-address", ray_address),
                         env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE),
    ]
    outputs = [job.communicate(timeout=600) for job in jobs]
    seconds = time.perf_counter() - clock
    for job, (stdout, stderr) in zip(jobs, outputs, strict=True):
        assert job.returncode == 0, stdout + stderr
    reports = [json.loads((folder / "edgex-build.json").read_text()) for folder in shards]
    owned = [report["shard"]["cells"] for report in reports]
    assert sorted(owned) == sorted([[SHARDED[0]], [SHARDED[1]]]), owned  # one cell each, none twice
    assert [report["shard"]["of"] for report in reports] == [SHARDED, SHARDED]
    assert "1 cells: 1 built" in outputs[1][0]

    merged = tmp_path / "merged"
    result = run_edgex("report", "merge", shards[1] / "edgex-build.json", shards[0], "--out", merged,
                       "--junit", merged / "junit.xml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "merged 2 shards: 2 cells, 2 artifacts" in result.stdout and "PASS exit 0" in result.stdout
    manifest = json.loads((merged / "edgex-manifest.json").read_text())
    # Byte-identical artifacts: the files on disk, and the manifest rows, are the one-machine build's.
    assert [e["cell"] for e in manifest["artifacts"]] == SHARDED  # the build file's order, not the shards'
    local = _rows(built.manifest, SHARDED)
    assert _rows(manifest, SHARDED) == local
    for entry in local:
        assert (merged / entry["path"]).read_bytes() == (built.out / entry["path"]).read_bytes(), entry["path"]
    assert (merged / "demo" / "labels.txt").read_text() == (built.out / "demo" / "labels.txt").read_text()
    report = json.loads((merged / "edgex-build.json").read_text())
    assert [c["id"] for c in report["cells"]] == SHARDED and report["exit_code"] == 0 and "shard" not in report
    assert [m["shard"] for m in report["merged"]] == ["1/2", "2/2"]
    suites = [s.get("name") for s in ET.parse(merged / "junit.xml").getroot().findall("testsuite")]
    assert suites == SHARDED
    # The merged folder is a build cache: one machine finds every cell up to date and writes the same manifest.
    again = run_edgex(*build_args(merged), "--report-json", merged / "again.json",
                      *[arg for cell in SHARDED for arg in ("--only", cell)])
    assert again.returncode == 0 and "2 cells: 0 built, 2 up to date" in again.stdout, again.stdout + again.stderr
    assert json.loads((merged / "edgex-manifest.json").read_text()) == manifest
    print(f"2 shards side by side (one on Ray): {seconds:.1f} s")

    # Shards that do not make one build are refused with one line before anything is written.
    refused = tmp_path / "refused"
    result = run_edgex("report", "merge", shards[0], shards[0], "--out", refused)
    assert_one_line_error(result, 2, f"cell {owned[0][0]} is in both", "pass each shard once")
    _refused([shards[0]], refused, "missing shard 2/2")
    assert not refused.exists()
    with _edited(shards[1] / "edgex-build.json") as report:
        report["shard"]["count"] = 3
    _refused(shards, refused, "split the matrix differently")
    with _edited(shards[1] / "edgex-build.json") as report:
        report["shard"]["count"] = 2
        report["shard"]["of"] = [*SHARDED, "demo/edgetpu"]
    _refused(shards, refused, "different build files or --only")
    with _edited(shards[1] / "edgex-build.json") as report:
        report["shard"]["of"] = SHARDED
    _refused([built.out], refused, "not a shard (built without --shard)")
    _refused(shards, shards[0] / "edgex-manifest.json", "not a folder")
    # An address no Ray answers at fails in seconds (Ray itself would retry for minutes).
    unreachable = run_edgex(*build_args(tmp_path / "unreachable"), "--only", SHARDED[0], "--executor", "ray",
                            "--ray-address", "127.0.0.1:1")
    assert_one_line_error(unreachable, 2, "--ray-address 127.0.0.1:1: no Ray cluster answers there")
    artifact = shards[0] / manifest["artifacts"][[e["cell"] for e in manifest["artifacts"]].index(owned[0][0])]["path"]
    artifact.write_bytes(artifact.read_bytes() + b"\0")
    _refused(shards, refused, "missing or not the file")


def _refused(shards: list[Path], out: Path, words: str) -> None:
    from edgex.build.merge import merge
    from edgex.errors import UsageError

    with pytest.raises(UsageError, match=re.escape(words)):
        merge(shards, out)


@contextlib.contextmanager
def _edited(path: Path) -> Iterator[dict[str, Any]]:
    """Edit a JSON file in place: `with _edited(path) as document: ...` writes it back."""
    document = json.loads(path.read_text())
    yield document
    path.write_text(json.dumps(document))
