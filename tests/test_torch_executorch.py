"""PyTorch sources -> ExecuTorch .pte (XNNPACK, portable) and .ptl, with parity, delegation and bad input."""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import (
    DEMO_CALIB,
    DEMO_LABELS,
    DEMO_VAL,
    assert_one_line_error,
    covers,
    in_worker,
    leftovers,
    load_json,
    run_edgex,
)

CUMSUM_FACTORY = """
import torch


class Scorer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Linear(8, 16)
        self.head = torch.nn.Linear(16, 4)

    def forward(self, x):
        hidden = torch.relu(self.embed(x))
        return torch.softmax(self.head(torch.cumsum(hidden, dim=1)), dim=1)


def build():
    torch.manual_seed(0)
    return Scorer().eval(), (torch.zeros(1, 8),)
"""

PERTURBED_FACTORY = """
import torch

from edgex.demo.digits_torch import build as build_demo


def build():
    model, examples = build_demo()
    generator = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.15)
    return model, examples
"""

TWO_INPUT_FACTORY = """
import torch


class Mixer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(4, 6)
        self.b = torch.nn.Linear(3, 6)

    def forward(self, left, right):
        return torch.softmax(self.a(left) + self.b(right), dim=1)


def build():
    torch.manual_seed(0)
    return Mixer().eval()
"""


def _write(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(source))
    return path


@pytest.fixture(scope="module")
def torch_demo(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("torch_demo")
    result = run_edgex(
        "export",
        "demo-torch",
        "--to",
        "executorch",
        "-q",
        "none",
        "-q",
        "int8",
        "--min-delegated",
        "1.0",
        "--out",
        out,
        "--runs",
        "10",
        "--report-json",
        out / "r.json",
        "--junit",
        out / "j.xml",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return {"out": out, "report": load_json(out / "r.json"), "stdout": result.stdout}


@covers("executorch")
def test_int8_pte_meets_the_acceptance_figures(torch_demo) -> None:
    rows = {row["mode"]: row for row in torch_demo["report"]["rows"]}
    int8, fp32 = rows["int8"], rows["none"]
    assert Path(int8["artifact"]["path"]).name == "digits_torch_xnnpack_int8.pte"
    assert int8["parity"]["outputs"][0]["top1_agreement"] >= 98.0
    assert int8["details"]["delegation"]["delegated_share"] == 1.0
    assert int8["details"]["delegation"]["non_delegated_ops"] == []
    assert int8["artifact"]["size_bytes"] <= 0.3 * fp32["artifact"]["size_bytes"]
    assert fp32["parity"]["outputs"][0]["max_abs_error"] < 1e-4
    assert [c["name"] for c in int8["checks"]] == ["delegated_share"] and int8["checks"][0]["passed"]
    assert int8["runtime"].startswith("executorch") and torch_demo["report"]["source"]["runtime"].startswith("torch")
    assert int8["parity"]["exported_latency"]["median_ms"] > 0
    names = {case.get("name") for case in ET.parse(torch_demo["out"] / "j.xml").getroot()}
    assert "delegated_share" in names


def test_inspect_pte_reads_delegates_without_torch(torch_demo) -> None:
    import json

    from edgex.workers import Worker

    int8 = torch_demo["out"] / "digits_torch_xnnpack_int8.pte"
    result = run_edgex("inspect", int8, "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["summary"]["delegates"] == ["XnnpackBackend"] and info["summary"]["kernels outside delegates"] == 0
    assert info["inputs"][0]["shape"] == [1, 8, 8, 1] and info["outputs"][0]["shape"] == [1, 10]
    worker = Worker("pte-schema")
    try:
        worker.call("edgex.inspection.pte_reader:read_pte", str(int8), what="read")
        assert worker.call("tests.worker_targets:loaded_frameworks", what="modules") == []
    finally:
        worker.close()


def test_op_xnnpack_does_not_take_is_reported_and_gated(tmp_path) -> None:
    factory = _write(tmp_path, "scorer.py", CUMSUM_FACTORY)
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(40, 8)).astype(np.float32))
    result = run_edgex(
        "export",
        f"{factory}:build",
        "--to",
        "executorch",
        "--min-delegated",
        "1.0",
        "--validate",
        tmp_path / "x.npy",
        "--out",
        tmp_path / "dist",
        "--runs",
        "0",
        "--report-json",
        tmp_path / "r.json",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "✗" in result.stdout and "aten_cumsum_default" in result.stdout  # the delegation table is shown
    row = load_json(tmp_path / "r.json")["rows"][0]
    assert row["status"] == "parity_failed"
    assert row["details"]["delegation"]["non_delegated_ops"] == ["aten_cumsum_default"]
    assert row["details"]["delegation"]["delegated_share"] < 1.0
    assert all(c["passed"] for c in row["parity"]["checks"])  # outputs match: only the coverage gate failed
    assert [c["passed"] for c in row["checks"]] == [False]
    assert (tmp_path / "dist" / "scorer_xnnpack_fp32.pte").exists()


def test_drifted_torch_model_fails_validation_against_the_pte(torch_demo, tmp_path) -> None:
    factory = _write(tmp_path, "drifted.py", PERTURBED_FACTORY)
    artifact = torch_demo["out"] / "digits_torch_xnnpack_fp32.pte"
    result = run_edgex(
        "validate", f"{factory}:build", artifact, "--data", DEMO_VAL, "--labels", DEMO_LABELS, "--runs", "0"
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "✗" in result.stdout


def test_portable_backend_and_pt2_source(tmp_path) -> None:
    pt2 = tmp_path / "digits.pt2"
    in_worker("torch", "tests.torch_factories:export_pt2", str(pt2))
    result = run_edgex(
        "export",
        pt2,
        "--to",
        "executorch",
        "--backend",
        "portable",
        "-q",
        "none",
        "-q",
        "int8",
        "--calib",
        DEMO_CALIB,
        "--validate",
        DEMO_VAL,
        "--labels",
        DEMO_LABELS,
        "--out",
        tmp_path / "dist",
        "--runs",
        "3",
        "--report-json",
        tmp_path / "r.json",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = load_json(tmp_path / "r.json")
    assert report["source"]["format"] == "torch-export"
    assert [Path(r["artifact"]["path"]).name for r in report["rows"]] == [
        "digits_portable_fp32.pte",
        "digits_portable_int8.pte",
    ]
    assert report["rows"][1]["parity"]["outputs"][0]["top1_agreement"] >= 98.0
    info = run_edgex("inspect", tmp_path / "dist" / "digits_portable_int8.pte")
    assert "portable kernels only" in info.stdout and "quantized_decomposed::quantize_per_tensor.out" in info.stdout


def test_fp16_and_dynamic_quantization_on_xnnpack(tmp_path) -> None:
    result = run_edgex(
        "export",
        "demo-torch",
        "--to",
        "executorch",
        "-q",
        "fp16",
        "-q",
        "dynamic",
        "--out",
        tmp_path,
        "--runs",
        "0",
        "--report-json",
        tmp_path / "r.json",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = load_json(tmp_path / "r.json")["rows"]
    assert [r["status"] for r in rows] == ["passed", "passed"]
    assert rows[0]["details"]["delegation"]["delegated_share"] == 1.0


@covers("torchscript-lite")
def test_pytorch_lite_from_factory_and_torchscript(tmp_path) -> None:
    result = run_edgex(
        "export",
        "demo-torch",
        "--to",
        "pytorch-lite",
        "--out",
        tmp_path / "a",
        "--runs",
        "0",
        "--report-json",
        tmp_path / "a.json",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    row = load_json(tmp_path / "a.json")["rows"][0]
    assert row["parity"]["outputs"][0]["max_abs_error"] < 1e-5 and "lite interpreter" in row["runtime"]
    assert "ExecuTorch" in run_edgex("export", "--help").stdout + run_edgex("targets").stdout
    script = tmp_path / "digits_ts.pt"
    in_worker("torch", "tests.torch_factories:torchscript_file", str(script))
    no_shape = run_edgex("export", script, "--to", "pytorch-lite", "--out", tmp_path / "b")
    assert no_shape.returncode == 2 and "--input-shape" in no_shape.stderr
    result = run_edgex(
        "export",
        script,
        "--to",
        "pytorch-lite",
        "--input-shape",
        "1x8x8x1",
        "--validate",
        DEMO_VAL,
        "--out",
        tmp_path / "b",
        "--runs",
        "0",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_two_input_factory_with_input_shapes_and_weights(tmp_path) -> None:
    factory = _write(tmp_path, "mixer.py", TWO_INPUT_FACTORY)
    rng = np.random.default_rng(1)
    np.savez(
        tmp_path / "val.npz", left=rng.random((30, 4), dtype=np.float32), right=rng.random((30, 3), dtype=np.float32)
    )
    result = run_edgex(
        "export",
        f"{factory}:build",
        "--to",
        "executorch",
        "--input-shape",
        "1x4",
        "--input-shape",
        "1x3",
        "--validate",
        tmp_path / "val.npz",
        "--out",
        tmp_path / "dist",
        "--runs",
        "0",
        "--report-json",
        tmp_path / "r.json",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    parity = load_json(tmp_path / "r.json")["rows"][0]["parity"]
    assert parity["input_mapping"] == {"left": "input_0", "right": "input_1"}
    checkpoint = tmp_path / "digits_sd.pt"
    in_worker("torch", "tests.torch_factories:state_dict_checkpoint", str(checkpoint))
    result = run_edgex(
        "export",
        "edgex.demo.digits_torch:DigitsNet",
        "--input-shape",
        "1x8x8x1",
        "--weights",
        checkpoint,
        "--to",
        "executorch",
        "--validate",
        DEMO_VAL,
        "--labels",
        DEMO_LABELS,
        "--out",
        tmp_path / "w",
        "--runs",
        "0",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "98.9 -> 98.9%" in result.stdout


def test_bad_factory_specs(tmp_path) -> None:
    out = tmp_path / "dist"
    assert_one_line_error(
        run_edgex("export", "missing_file.py:build", "--to", "executorch", "--out", out), 2, "no such file"
    )
    factory = _write(tmp_path, "net.py", "import torch\n\ndef build():\n    return 'not a module'\n\nvalue = 3\n")
    assert_one_line_error(
        run_edgex("export", f"{factory}:buld", "--to", "executorch", "--out", out), 2, "did you mean 'build'"
    )
    assert_one_line_error(
        run_edgex("export", f"{factory}:build", "--to", "executorch", "--out", out), 2, "returned str"
    )
    assert_one_line_error(
        run_edgex("export", "no_such_pkg.net:build", "--to", "executorch", "--out", out), 2, "not found"
    )
    assert leftovers(out) == []


def test_wrong_input_shape_and_unpicklable_checkpoint(tmp_path) -> None:
    out = tmp_path / "dist"
    assert_one_line_error(
        run_edgex("export", "demo-torch", "--to", "executorch", "--input-shape", "1x1x8x8", "--out", out),
        2,
        "rejects inputs of shape 1x1x8x8",
        "--input-shape",
    )
    checkpoint = tmp_path / "full.ckpt"
    in_worker("torch", "tests.torch_factories:unpicklable_checkpoint", str(checkpoint))
    assert_one_line_error(
        run_edgex(
            "export",
            "edgex.demo.digits_torch:DigitsNet",
            "--input-shape",
            "1x8x8x1",
            "--weights",
            checkpoint,
            "--to",
            "executorch",
            "--out",
            out,
        ),
        2,
        "weights_only",
        "state_dict",
    )
    assert leftovers(out) == []
