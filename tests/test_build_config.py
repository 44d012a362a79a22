"""edgex.toml validation (file:line, key, suggestions), path resolution, [tool.edgex], and input fingerprints."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from edgex.build.config import ConfigError, find_config, load_config
from edgex.build.fingerprint import edgex_code_digest, fingerprint
from edgex.errors import UsageError
from tests.helpers import DEMO_CALIB, DEMO_VAL, ROOT, assert_one_line_error, run_edgex

GOOD = """
[build]
out = "artifacts"
runs = 3

[models.digits]
source = "model/digits.keras"
calibration = "data/calib.npz"
validation = "data/val.npz"
preprocessing = { scale = 0.5, mean = [0.1], std = [2.0] }

[targets.tflite-int8]
target = "tflite"
quantize = ["int8"]
io_dtype = "uint8"
thresholds = { min_cosine = 0.98 }
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A config folder with real files: relative paths must resolve against it, not the working directory."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "digits.keras").write_bytes((ROOT / "edgex/demo/digits/digits.keras").read_bytes())
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "calib.npz").write_bytes(DEMO_CALIB.read_bytes())
    (tmp_path / "data" / "val.npz").write_bytes(DEMO_VAL.read_bytes())
    (tmp_path / "edgex.toml").write_text(GOOD)
    return tmp_path


def _error(project: Path, text: str) -> str:
    (project / "edgex.toml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(project / "edgex.toml")
    return caught.value.one_line()


def test_a_valid_file_resolves_paths_against_its_folder(project: Path, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)  # elsewhere
    config = load_config(project / "edgex.toml")
    model = config.models["digits"]
    assert model.source == str(project / "model" / "digits.keras")
    assert model.calibration == str(project / "data" / "calib.npz")
    assert model.preprocessing.scale == 0.5 and model.preprocessing.mean == (0.1,)
    assert config.settings.out == project / "artifacts" and config.settings.runs == 3
    target = config.targets["tflite-int8"]
    assert target.modes == ("int8",) and target.io_dtype == "uint8" and target.thresholds == {"min_cosine": 0.98}
    assert [cell.id for cell in config.cells()] == ["digits/tflite-int8"]


def test_unknown_key_names_file_line_and_the_closest_key(project: Path) -> None:
    message = _error(project, GOOD.replace('validation = "data/val.npz"', 'validaton = "data/val.npz"'))
    assert message.startswith(f"{project / 'edgex.toml'}:9: models.digits.validaton: unknown key")
    assert "did you mean 'validation'?" in message


def test_nested_keys_wrong_types_targets_and_modes(project: Path) -> None:
    message = _error(project, GOOD.replace("scale = 0.5", "scael = 0.5"))
    assert ":10: models.digits.preprocessing.scael: unknown key" in message and "'scale'" in message
    message = _error(project, GOOD.replace("runs = 3", 'runs = "many"'))
    assert ":4: build.runs: expected an integer >= 0" in message
    message = _error(project, GOOD.replace('target = "tflite"', 'target = "tflit"'))
    assert ":13: targets.tflite-int8.target: unknown target 'tflit'" in message and "'tflite'" in message
    message = _error(project, GOOD.replace('quantize = ["int8"]', 'quantize = ["int9"]'))
    assert ":14: targets.tflite-int8.quantize: unknown quantization mode 'int9'" in message
    message = _error(project, GOOD.replace("min_cosine", "min_cosin"))
    assert "thresholds.min_cosin: unknown key" in message and "'min_cosine'" in message
    message = _error(project, GOOD.replace('source = "model/digits.keras"', 'source = "model/nope.keras"'))
    assert ":7: models.digits.source: no such file or folder" in message
    message = _error(project, GOOD.replace('[models.digits]\n', '[models.digits]\ntargets = ["tflite"]\n'))
    assert "models.digits.targets: no target 'tflite'" in message and "did you mean 'tflite-int8'" in message
    message = _error(project, GOOD.replace("[build]", "[buidl]"))
    assert ":2: buidl: unknown key" in message and "did you mean 'build'" in message
    assert "invalid TOML" in _error(project, GOOD + "\n[models.digits\n")


def test_pyproject_tool_table_is_found_and_validated(project: Path) -> None:
    (project / "edgex.toml").unlink()
    text = GOOD.replace("[build]", "[tool.edgex.build]").replace("[models.", "[tool.edgex.models.")
    text = text.replace("[targets.", "[tool.edgex.targets.")
    (project / "pyproject.toml").write_text('[project]\nname = "app"\n' + text)
    path = find_config(None, project)
    assert path == project / "pyproject.toml"
    assert load_config(path).models["digits"].source.endswith("digits.keras")
    (project / "pyproject.toml").write_text('[project]\nname = "app"\n' + text.replace("io_dtype", "io_type"))
    with pytest.raises(ConfigError, match=r"pyproject.toml:\d+: tool.edgex.targets.tflite-int8.io_type: unknown key"):
        load_config(path)
    assert find_config(None, project / "model") == path  # from a subfolder: the nearest one up, like ruff/pytest
    (project / "pyproject.toml").write_text('[project]\nname = "app"\n')
    with pytest.raises(UsageError, match=r"no edgex\.toml .* or its parent folders"):
        find_config(None, project / "model")


def test_cli_reports_config_errors_on_one_line(project: Path) -> None:
    (project / "edgex.toml").write_text(GOOD.replace("io_dtype", "io_dtyp"))
    result = run_edgex("build", cwd=project)
    assert_one_line_error(result, 2, "edgex.toml:15", "io_dtyp", "did you mean 'io_dtype'")
    assert not (project / "artifacts").exists()


def test_fingerprint_follows_bytes_options_versions_and_tools(project: Path, monkeypatch) -> None:
    config = load_config(project / "edgex.toml")
    (cell,) = config.cells()
    code = edgex_code_digest()
    base = fingerprint(cell, config.settings, {}, code, project)
    assert fingerprint(cell, config.settings, {}, code, project).digest == base.digest  # stable
    assert base.changed(fingerprint(cell, config.settings, {"min_cosine": 0.5}, code, project).parts) == ["options"]
    with (project / "data" / "val.npz").open("ab") as stream:
        stream.write(b"\0")
    assert base.changed(fingerprint(cell, config.settings, {}, code, project).parts) == ["validation"]
    # A copy of the project elsewhere, same bytes: the same cell (absolute paths are not part of it).
    changed = fingerprint(cell, config.settings, {}, code, project)
    moved_root = shutil.copytree(project, project.parent / "moved")
    moved = load_config(moved_root / "edgex.toml")
    assert fingerprint(moved.cells()[0], moved.settings, {}, code, moved_root).digest == changed.digest
    # Edge TPU cells depend on the compiler being there: installing one makes the cell stale.
    (project / "edgex.toml").write_text(GOOD.replace('target = "tflite"\nquantize = ["int8"]\nio_dtype = "uint8"',
                                                     'target = "edgetpu"'))
    edgetpu_cell = load_config(project / "edgex.toml").cells()[0]
    monkeypatch.setenv("PATH", str(project))
    missing = fingerprint(edgetpu_cell, config.settings, {}, code, project)
    compiler = project / "edgetpu_compiler"
    compiler.write_text((ROOT / "tests/fakes/fake_edgetpu_compiler").read_text())
    compiler.chmod(compiler.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{project}{os.pathsep}{os.environ['PATH']}")
    assert fingerprint(edgetpu_cell, config.settings, {}, code, project).changed(missing.parts) == ["tools"]


def test_factory_sources_hash_their_module_and_weights(tmp_path: Path) -> None:
    from edgex.build.config import BuildSettings, Cell, ModelEntry, TargetEntry

    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("import torch  # hashing must find files, never import them\n")
    (tmp_path / "pkg" / "net.py").write_text("def build():\n    return None\n")
    (tmp_path / "pkg" / "weights").mkdir()
    (tmp_path / "pkg" / "weights" / "net.pt").write_bytes(b"weights v1")
    settings = BuildSettings(out=tmp_path / "out")
    cell = Cell(ModelEntry("net", "pkg.net:build"), TargetEntry("pte", "executorch-xnnpack"))
    before = fingerprint(cell, settings, {}, "code", tmp_path)
    (tmp_path / "pkg" / "weights" / "net.pt").write_bytes(b"weights v2")
    assert fingerprint(cell, settings, {}, "code", tmp_path).changed(before.parts) == ["source"]
    (tmp_path / "pkg" / "weights" / "net.pt").write_bytes(b"weights v1")
    assert fingerprint(cell, settings, {}, "code", tmp_path).digest == before.digest
    (tmp_path / "pkg" / "helper.py").write_text("X = 1\n")  # a neighbour the factory may import
    assert fingerprint(cell, settings, {}, "code", tmp_path).changed(before.parts) == ["source"]


MODULE_FACTORY_CONFIG = """
[models.tiny]
source = "mymodels.tiny:build"

[targets.ptl]
target = "pytorch-lite"
"""
TINY_FACTORY = """
import torch


def build():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Softmax(dim=-1)).eval(), (torch.rand(1, 4),)
"""


def test_module_factory_sources_import_from_the_config_folder_from_any_directory(tmp_path: Path) -> None:
    project = tmp_path / "app"
    (project / "mymodels").mkdir(parents=True)
    (project / "mymodels" / "__init__.py").write_text("")
    (project / "mymodels" / "tiny.py").write_text(TINY_FACTORY)
    (project / "edgex.toml").write_text(MODULE_FACTORY_CONFIG)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_edgex("build", "--config", project / "edgex.toml", cwd=elsewhere)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 cells: 1 built, 0 up to date" in result.stdout
    assert [p.relative_to(project).as_posix() for p in project.rglob("*.ptl")] == ["dist/tiny/ptl/tiny_fp32.ptl"]
