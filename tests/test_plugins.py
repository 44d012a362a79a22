"""Plugins: a package installed from tests/plugins/ adds a format, a converter and a target through the same
register(registry) hook the built-ins use; edgex routes shows them and an export through them runs and passes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgex.registry import DuplicateRegistration, Registry, check_consistency, get_registry
from tests.helpers import ROOT, load_json

PLUGIN_SOURCE = ROOT / "tests" / "plugins" / "edgex_ort"


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin installed by pip into a folder of its own (not into the project's environment)."""
    target = tmp_path_factory.mktemp("site")
    source = tmp_path_factory.mktemp("build") / "edgex_ort"
    shutil.copytree(PLUGIN_SOURCE, source)  # setuptools builds in the source folder: keep that out of the repository
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(source)],
        check=True, capture_output=True, text=True, cwd=source.parent, timeout=300,
    )
    assert (target / "edgex_ort.py").exists()
    return target


def run_with_plugin(plugin: Path, *args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": os.pathsep.join([str(plugin), str(ROOT)])}
    return subprocess.run(
        [sys.executable, "-m", "edgex", *map(str, args)], env=env, capture_output=True, text=True, timeout=600, cwd=cwd
    )


def test_routes_show_the_plugin(plugin_path: Path) -> None:
    result = run_with_plugin(plugin_path, "routes", "--json")
    assert result.returncode == 0, result.stderr
    graph = json.loads(result.stdout)
    assert "ort" in graph["formats"]
    edge = next(c for c in graph["converters"] if c["converter"] == "onnx2ort")
    assert edge["from"] == ["onnx"] and edge["to"] == "ort" and edge["available"]
    # Every source that reaches ONNX now reaches .ort, through the plugin's edge.
    ort_routes = {row["from"]: row["route"] for row in graph["routes"] if row["to"] == "ort"}
    assert set(ort_routes) >= {"keras", "torch", "onnx"}
    assert ort_routes["torch"] == "torch > onnx (torch.onnx) > ort (onnx2ort)"
    targets = run_with_plugin(plugin_path, "targets", "--json")
    assert any(row["name"] == "ort" for row in json.loads(targets.stdout))


def test_export_through_the_plugin_passes_parity(plugin_path: Path, tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    result = run_with_plugin(
        plugin_path, "export", "demo-torch", "--to", "ort", "--out", tmp_path / "out", "--runs", "3",
        "--report-json", report_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    row = load_json(report_path)["rows"][0]
    artifact = tmp_path / "out" / "digits_torch_fp32.ort"
    assert row["status"] == "passed" and row["route"].endswith("ort (onnx2ort)")
    assert artifact.exists() and artifact.read_bytes()[4:8] == b"ORTM"  # the ORT flatbuffer's file identifier
    (output,) = row["parity"]["outputs"]
    assert output["cosine"] > 0.9999 and output["top1_agreement"] == 100.0


def test_without_the_plugin_there_is_no_such_target(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edgex", "export", "demo-torch", "--to", "ort", "--out", tmp_path],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2 and "unknown target 'ort'" in result.stderr


def test_broken_plugin_is_named_and_ignored(tmp_path: Path) -> None:
    site = tmp_path / "site"
    info = site / "edgex_broken-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: edgex-broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[edgex.plugins]\nbroken = edgex_broken\n")
    (site / "edgex_broken.py").write_text("raise ImportError('needs a library that is not installed')\n")
    result = run_with_plugin(site, "routes", "--json")
    assert result.returncode == 0
    assert "edgex plugin 'broken' (edgex-broken) failed to load and is ignored" in result.stderr
    assert "tflite" in json.loads(result.stdout)["formats"]


def test_registrations_agree() -> None:
    """Every record names records that exist; every table edgex used to keep by hand is derived from them."""
    from edgex.inspection import inspectors
    from edgex.report.routes_view import shown_formats
    from edgex.routes import graph_formats

    registry = get_registry()
    check_consistency(registry)
    assert graph_formats() <= set(registry.formats)
    assert set(inspectors()) == {".tflite", ".pte"}
    sources, targets = shown_formats()
    assert set(targets) == {"tflite", "pte", "ptl", "onnx"} and "keras" in sources and "tflite" not in sources
    for target in registry.targets.values():
        assert target.default_recipe in target.recipes
        assert target.extension == registry.formats[target.format].extension
    for converter in registry.converters.values():
        assert "none" in converter.recipes  # every route can carry a float intermediate


def test_a_duplicate_name_is_refused() -> None:
    registry = Registry()
    recipe = get_registry().recipes["int8"]
    registry.add_recipe(recipe)
    with pytest.raises(DuplicateRegistration, match="already registered"):
        registry.add_recipe(recipe)
