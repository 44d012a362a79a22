"""Cross-framework routes: every converter runs on a small real model with parity against the original source."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pytest

from edgex.errors import UsageError
from edgex.exporters import all_converters
from edgex.parity.layout import NCHW_TO_NHWC, NHWC_TO_NCHW, inverse_permutation, layout_permutation
from edgex.routes import all_routes, choose_route
from tests.helpers import DEMO_CALIB, DEMO_KERAS, ROUTE_COVERAGE, covers, load_json, run_edgex, tf_factory

TEST_MODULES = ("tests.test_demo_export", "tests.test_torch_executorch", "tests.test_routes")

NCHW_FACTORY = """
import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.head = torch.nn.Conv2d(8, 4, 1)

    def forward(self, pixels):
        features = torch.relu(self.conv(pixels))
        return self.head(features), torch.softmax(features.mean(dim=(2, 3)), dim=1)


def build():
    torch.manual_seed(0)
    return Net().eval(), (torch.zeros(1, 3, 6, 10),)
"""


def _rows(report_path: Path) -> dict[str, dict]:
    return {row["mode"]: row for row in load_json(report_path)["rows"]}


def _export(*args, tmp_path: Path, name: str = "r.json", out: str = "dist") -> dict[str, dict]:
    result = run_edgex("export", *args, "--out", tmp_path / out, "--runs", "0", "--report-json", tmp_path / name)
    assert result.returncode == 0, result.stdout + result.stderr
    return _rows(tmp_path / name)


@pytest.fixture(scope="module")
def nchw(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("nchw")
    (folder / "nchw.py").write_text(NCHW_FACTORY)
    np.save(folder / "x.npy", np.random.default_rng(0).random((24, 3, 6, 10), dtype=np.float32))
    return {"factory": folder / "nchw.py", "data": folder / "x.npy", "folder": folder}


def test_every_registered_converter_has_an_end_to_end_test() -> None:
    for module in TEST_MODULES:
        importlib.import_module(module)
    untested = sorted(set(all_converters()) - set(ROUTE_COVERAGE))
    assert untested == [], f"converters without a route test: {untested}"


@covers("litert-torch")
def test_pytorch_to_tflite_with_litert_torch(tmp_path) -> None:
    rows = _export("demo-torch", "--to", "tflite", "-q", "none", "-q", "int8", tmp_path=tmp_path)
    assert "(litert-torch)" in rows["none"]["route"] and rows["none"]["status"] == "passed"
    assert rows["none"]["parity"]["outputs"][0]["max_abs_error"] < 1e-4
    assert rows["int8"]["parity"]["outputs"][0]["top1_agreement"] >= 98.0
    assert rows["int8"]["artifact"]["size_bytes"] < 0.3 * rows["none"]["artifact"]["size_bytes"]


def test_channels_last_io_from_pytorch_is_accounted_for_in_parity(nchw, tmp_path) -> None:
    rows = _export(
        f"{nchw['factory']}:build",
        "--to",
        "tflite",
        "--channels-last-io",
        "-q",
        "none",
        "-q",
        "int8",
        "--calib",
        nchw["data"],
        "--validate",
        nchw["data"],
        tmp_path=tmp_path,
    )
    for row in rows.values():
        assert row["status"] == "passed"
        assert row["parity"]["layouts"] == {"pixels": "NCHW -> NHWC", "output_0": "NCHW -> NHWC"}
    assert rows["none"]["parity"]["outputs"][0]["max_abs_error"] < 1e-5
    info = json.loads(run_edgex("inspect", tmp_path / "dist" / "nchw_fp32.tflite", "--json").stdout)
    assert info["inputs"][0]["shape"] == [1, 6, 10, 3] and info["outputs"][0]["shape"] == [1, 6, 10, 4]


@covers("onnx2tf")
def test_onnx_to_tflite_with_onnx2tf_in_every_mode(tmp_path) -> None:
    rows = _export("demo-onnx", "--to", "tflite", "-q", "all", tmp_path=tmp_path)
    assert set(rows) == {"none", "fp16", "dynamic", "int8", "int16x8"}
    assert all(row["status"] == "passed" and "(onnx2tf)" in row["route"] for row in rows.values())
    assert rows["none"]["parity"]["outputs"][0]["max_abs_error"] < 1e-4
    assert rows["int8"]["parity"]["outputs"][0]["top1_agreement"] >= 98.0
    info = json.loads(run_edgex("inspect", tmp_path / "dist" / "digits_onnx_int8.tflite", "--json").stdout)
    assert info["summary"]["fully integer"] is True


@covers("torch.onnx")
def test_pytorch_to_onnx(nchw, tmp_path) -> None:
    rows = _export(f"{nchw['factory']}:build", "--to", "onnx", "--validate", nchw["data"], tmp_path=tmp_path)
    assert rows["none"]["status"] == "passed" and "(torch.onnx)" in rows["none"]["route"]
    assert rows["none"]["runtime"].startswith("onnxruntime")
    assert all(m["max_abs_error"] < 1e-5 for m in rows["none"]["parity"]["outputs"])
    onnx_model = tmp_path / "dist" / "nchw_fp32.onnx"
    for flag, layout in (("", None), ("--channels-last-io", "NCHW -> NHWC")):
        args = ["--channels-last-io"] if flag else []
        rows = _export(
            onnx_model,
            "--to",
            "tflite",
            *args,
            "-q",
            "int8",
            "--calib",
            nchw["data"],
            "--validate",
            nchw["data"],
            tmp_path=tmp_path,
            name=f"o2t{flag}.json",
            out=f"o2t{flag}",
        )
        assert rows["int8"]["status"] == "passed"
        assert rows["int8"]["parity"]["layouts"].get("pixels") == layout


@covers("tf2onnx")
def test_keras_and_savedmodel_to_onnx(tmp_path) -> None:
    rows = _export("demo", "--to", "onnx", tmp_path=tmp_path)
    assert "(tf2onnx)" in rows["none"]["route"] and rows["none"]["parity"]["outputs"][0]["max_abs_error"] < 1e-4
    saved = tmp_path / "digits_sm"
    tf_factory("savedmodel_from_keras", str(DEMO_KERAS), str(saved))
    rows = _export(saved, "--to", "onnx", "--validate", DEMO_CALIB, tmp_path=tmp_path, name="sm.json")
    assert rows["none"]["status"] == "passed"


@covers("onnx2torch")
def test_keras_to_pte_through_onnx_measures_parity_against_keras(tmp_path) -> None:
    rows = _export("demo", "--to", "executorch", "-q", "int8", "--keep-intermediates", tmp_path=tmp_path)
    row = rows["int8"]
    assert row["route"] == ("keras > onnx (tf2onnx) > torch-export (onnx2torch) > pte (executorch)")
    assert load_json(tmp_path / "r.json")["source"]["format"] == "keras"  # compared with the original Keras model
    assert row["parity"]["outputs"][0]["top1_agreement"] >= 98.0
    assert row["details"]["delegation"]["delegated_share"] == 1.0
    kept = sorted(p.name for p in (tmp_path / "dist").iterdir())
    expected = [
        "digits_xnnpack_int8.intermediate.onnx",
        "digits_xnnpack_int8.intermediate.pt2",
        "digits_xnnpack_int8.onnx2torch-repaired.onnx",  # tf2onnx's 'x:0' names made safe for torch.export paths
        "digits_xnnpack_int8.pte",
    ]
    assert kept == expected
    assert any(r["pass"] == "sanitize-names" for r in row["details"]["repairs"])
    again = run_edgex(
        "export",
        "demo",
        "--to",
        "executorch",
        "-q",
        "int8",
        "--keep-intermediates",
        "--out",
        tmp_path / "dist",
        "--runs",
        "0",
    )
    assert again.returncode == 2 and "already exists" in again.stderr


def test_onnx_to_pte_and_forced_route(tmp_path) -> None:
    rows = _export("demo-onnx", "--to", "executorch", tmp_path=tmp_path)
    assert rows["none"]["route"] == "onnx > torch-export (onnx2torch) > pte (executorch)"
    assert rows["none"]["parity"]["outputs"][0]["max_abs_error"] < 1e-4
    rows = _export("demo-torch", "--to", "tflite", "--route", "torch>onnx>tflite", tmp_path=tmp_path, name="f.json")
    assert rows["none"]["route"] == "torch > onnx (torch.onnx) > tflite (onnx2tf)"
    assert rows["none"]["status"] == "passed"


def test_route_choice_and_errors() -> None:
    assert choose_route("torch", "tflite").describe() == "torch > tflite (litert-torch)"  # direct beats 2 hops
    assert len(all_routes("keras", "pte")[0].hops) == 3
    with pytest.raises(UsageError, match="no converter from pte to tflite"):
        choose_route("torch", "tflite", "torch>pte>tflite")
    with pytest.raises(UsageError, match="unknown format 'onx'") as caught:
        choose_route("torch", "onnx", "torch>onx")
    assert "did you mean 'onnx'" in caught.value.one_line()
    with pytest.raises(UsageError, match="names no format"):
        choose_route("torch", "onnx", " > ")
    result = run_edgex("routes", "--json")
    graph = json.loads(result.stdout)
    assert {c["converter"] for c in graph["converters"]} == set(all_converters())
    assert all(c["available"] for c in graph["converters"])
    route = next(r for r in graph["routes"] if r["from"] == "onnx" and r["to"] == "pte")
    assert route["route"] == "onnx > torch-export (onnx2torch) > pte (executorch)"


def test_layout_permutations() -> None:
    assert layout_permutation((3, 6, 10), (6, 10, 3)) == NCHW_TO_NHWC
    assert layout_permutation((6, 10, 4), (4, 6, 10)) == NHWC_TO_NCHW
    assert layout_permutation((3, 6, 10), (3, 6, 10)) is None
    assert layout_permutation((3, 3, 3), (3, 3, 3)) is None  # ambiguous square tensors are taken as they are
    assert layout_permutation((10,), (10,)) is None
    assert inverse_permutation(NCHW_TO_NHWC) == NHWC_TO_NCHW
