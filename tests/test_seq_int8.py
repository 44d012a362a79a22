"""int8 for transformer- and RNN-shaped models (issue 16): Linear-layer recipes, artifacts that always run,
parity that fits the output. Real models trained here (tests/seq_models.py), real converters and runtimes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from edgex.parity.compare import compare
from edgex.parity.embedding import retrieval_agreement, step_cosine
from edgex.parity.thresholds import Thresholds
from tests.helpers import covers, in_worker, load_json, run_edgex

EMBEDDING_BAG = """
import torch


class Bag(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.table = torch.nn.Embedding(2000, 16)  # the table holds most weights: not a Linear-dominated model
        self.head = torch.nn.Linear(16, 4)

    def forward(self, ids):
        return self.head(self.table(ids).mean(dim=1))


def build():
    torch.manual_seed(0)
    return Bag().eval(), (torch.zeros(1, 6, dtype=torch.long),)
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("seq")
    models = {}
    for kind in ("transformer", "lstm"):
        (folder / kind).mkdir()
        weights = folder / f"{kind}.pt"
        facts = in_worker("torch", "tests.seq_models:train", kind, str(weights), str(folder / kind))
        assert facts["accuracy"] >= 0.8, facts  # a trained model, not noise: int8 error must show in its outputs
        models[kind] = {"weights": weights, "data": folder / kind, "float_bytes": 4 * facts["parameters"], **facts}
    return models


def _export(model: dict, kind: str, out: Path, *args: str) -> tuple[dict, list[dict]]:
    report = out / "report.json"
    result = run_edgex(
        "export", f"tests/seq_models.py:{kind}", "--weights", model["weights"],
        "--calib", model["data"] / "calib.npz", "--validate", model["data"] / "val.npz",
        "--out", out, "--runs", "0", "--report-json", report, "--name", kind, *args,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    rows = load_json(report)["rows"]
    return {row["target"]: row for row in rows}, rows


@covers("executorch", "litert-torch")
def test_transformer_auto_picks_linear_int8_and_judges_the_embedding(trained, tmp_path: Path) -> None:
    model = trained["transformer"]
    rows, _ = _export(
        model, "transformer", tmp_path, "--to", "executorch", "--to", "tflite", "-q", "auto",
        "--objective", "size", "--class-output", "none",
    )  # fmt: skip
    assert set(rows) == {"executorch-xnnpack", "tflite"}
    for target, row in rows.items():
        assert row["status"] == "passed", (target, row)
        assert row["quantization"]["chosen"] == "dynamic", (target, row["quantization"])
        assert row["quantization"]["attempts"][0]["recipe"] == "dynamic"  # tried first: Linear layers dominate
        assert row["details"]["linear_weight_share"] >= 0.9
        (output,) = row["parity"]["outputs"]
        assert output["kind"] == "embedding" and output["top1_agreement"] is None  # no top-k on an embedding
        assert output["cosine"] >= 0.99 and output["cosine_min"] >= 0.98
        assert output["retrieval_agreement"] >= 90.0
        assert "top1_agreement" not in {check["name"] for check in row["parity"]["checks"]}
        size = Path(row["artifact"]["path"]).stat().st_size
        assert size == row["artifact"]["size_bytes"] <= 0.35 * model["float_bytes"], (target, size)
    assert any("Linear layers" in note for note in rows["executorch-xnnpack"]["notes"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "report.json", "transformer_auto.tflite", "transformer_xnnpack_auto.pte",
    ]  # fmt: skip


@covers("executorch")
def test_lstm_int4_weights_per_time_step(trained, tmp_path: Path) -> None:
    model = trained["lstm"]
    rows, _ = _export(model, "lstm", tmp_path, "--to", "executorch", "-q", "8da4w")
    row = rows["executorch-xnnpack"]
    assert row["status"] == "passed", row
    assert any("LSTM(s) rewritten as Linear layers" in note for note in row["notes"])
    assert any("int4 (groups of 32) weights on 2" in note for note in row["notes"])
    (output,) = row["parity"]["outputs"]
    assert output["kind"] == "sequence" and output["shape"][1:] == [8, 10]
    assert output["cosine"] >= 0.99 and output["step_cosine"] >= 0.99
    assert "step_cosine" in {check["name"] for check in row["parity"]["checks"]}
    assert row["artifact"]["size_bytes"] <= 0.2 * model["float_bytes"]


@covers("litert-torch")
def test_an_artifact_that_does_not_run_is_removed_and_named(tmp_path: Path) -> None:
    """PT2E's dynamic config gives an embedding table a non-zero zero point, which LiteRT refuses at load."""
    factory = tmp_path / "bag.py"
    factory.write_text(textwrap.dedent(EMBEDDING_BAG))
    for keep in (False, True):
        out = tmp_path / f"out_{keep}"
        flags = ["--keep-failed"] if keep else []
        report = out / "r.json"
        result = run_edgex(
            "export", f"{factory}:build", "--to", "tflite", "-q", "dynamic", "--out", out, "--report-json", report,
            *flags,
        )  # fmt: skip
        assert result.returncode == 3, result.stdout + result.stderr
        (row,) = load_json(report)["rows"]
        assert row["status"] == "export_failed"
        assert "does not run at op EMBEDDING_LOOKUP" in row["error"] and "zero_point" in row["error"]
        assert row["details"]["unrunnable"]["failing_op"] == "EMBEDDING_LOOKUP"
        artifacts = sorted(p.name for p in out.iterdir() if p.suffix == ".tflite")
        assert artifacts == (["bag_dynamic.tflite"] if keep else []), artifacts
        assert ("kept (--keep-failed)" if keep else "removed") in row["error"]


def test_lstm_rewritten_as_linear_layers_computes_the_same() -> None:
    assert in_worker("torch", "tests.seq_models:unrolled_lstm_error") < 1e-5


def test_output_kinds_decide_the_metrics() -> None:
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(40, 16))
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    swapped = embeddings.copy()
    swapped[[0, 1]] = swapped[[1, 0]]  # two samples trade places: their neighbours change
    assert retrieval_agreement(embeddings, embeddings) == 100.0
    assert retrieval_agreement(embeddings, swapped) < 100.0
    metrics, checks = compare(
        {"e": embeddings}, {"e": swapped}, [("e", "e")], Thresholds(min_top1_agreement=99, min_retrieval_agreement=99)
    )
    assert metrics[0].kind == "embedding" and metrics[0].top1_agreement is None  # unit rows: not class scores
    assert [c.name for c in checks if not c.passed] == ["retrieval_agreement"]
    sequence = rng.normal(size=(10, 5, 3))
    drifted = sequence.copy()
    drifted[:, 3] = -drifted[:, 3]  # one time step inverted; the average over all steps hides it
    worst, step = step_cosine(sequence, drifted)
    assert step == 3 and worst == pytest.approx(-1.0)
    metrics, checks = compare({"s": sequence}, {"s": drifted}, [("s", "s")], Thresholds(min_cosine=0.5))
    assert metrics[0].kind == "sequence" and metrics[0].cosine > 0.5
    assert [c.name for c in checks if not c.passed] == ["step_cosine"]
    logits = rng.normal(size=(20, 5))
    metrics, _ = compare({"y": logits}, {"y": logits}, [("y", "y")], Thresholds(), class_output="none")
    assert metrics[0].kind == "embedding" and metrics[0].top1_agreement is None
