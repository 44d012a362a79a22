"""Parity metrics and checks on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgex.errors import UsageError
from edgex.parity.compare import compare, pair_names
from edgex.parity.metrics import SNR_CAP_DB, compare_output
from edgex.parity.performance import LatencyStats
from edgex.parity.thresholds import Thresholds, thresholds_for
from edgex.quantize.recipes import get_recipe


def test_error_statistics_by_hand() -> None:
    ref = np.array([[3.0, 4.0], [1.0, 0.0]])
    exp = np.array([[3.0, 4.0], [0.0, 1.0]])
    m = compare_output("y", "y", ref, exp, labels=np.array([1, 0]), class_output=True)
    assert m.max_abs_error == 1.0 and m.mean_abs_error == 0.5
    assert math.isclose(m.rmse, math.sqrt(0.5))
    assert math.isclose(m.cosine, 0.5) and m.cosine_min == 0.0  # sample 1: orthogonal
    assert math.isclose(m.snr_db, 10 * math.log10(26 / 2))
    assert m.top1_agreement == 50.0 and m.top5_agreement is None  # only 2 classes
    assert m.reference_accuracy == 100.0 and m.exported_accuracy == 50.0 and m.top1_drop == 50.0


def test_identical_outputs_cap_snr_and_top5() -> None:
    ref = np.random.default_rng(0).random((10, 8))
    m = compare_output("p", "p", ref, ref.copy())
    assert m.snr_db == SNR_CAP_DB and m.max_abs_error == 0.0 and m.top5_agreement == 100.0


def test_top5_agreement_counts_reference_top1_in_exported_top5() -> None:
    ref = np.tile(np.arange(8.0), (4, 1))  # reference argmax is class 7 everywhere
    exp = ref.copy()
    exp[0, 7] = -1.0  # class 7 drops to last for sample 0
    m = compare_output("p", "p", ref, exp)
    assert m.top1_agreement == 75.0 and m.top5_agreement == 75.0


def test_checks_apply_thresholds_and_describe_failures() -> None:
    ref = {"y": np.array([[1.0, 0.0], [0.0, 1.0]])}
    exp = {"y": np.array([[0.9, 0.1], [0.2, 0.8]])}
    _, checks = compare(ref, exp, [("y", "y")], Thresholds(max_abs_error=0.1, min_cosine=0.5))
    by_name = {c.name: c for c in checks}
    assert by_name["max_abs_error"].passed is False and math.isclose(by_name["max_abs_error"].value, 0.2)
    assert by_name["cosine"].passed is True
    assert "FAILED" in by_name["max_abs_error"].describe() and "> 0.1" in by_name["max_abs_error"].describe()


def test_defaults_get_stricter_for_float_modes_and_override() -> None:
    none, int8 = get_recipe("none").thresholds, get_recipe("int8").thresholds
    assert thresholds_for(none).min_cosine > thresholds_for(int8).min_cosine
    assert thresholds_for(int8, {"max_top1_drop": 0.1}).max_top1_drop == 0.1
    with pytest.raises(KeyError):
        thresholds_for(int8, {"min_cosin": 0.1})


def test_top_k_gates_only_class_outputs() -> None:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(5), size=20)
    boxes = rng.random((20, 4))
    ref = {"boxes": boxes, "scores": probs}
    noisy = {"boxes": boxes[:, ::-1].copy(), "scores": probs}
    _, checks = compare(ref, noisy, [("boxes", "boxes"), ("scores", "scores")], Thresholds(min_top1_agreement=99))
    assert {c.output for c in checks if c.name == "top1_agreement"} == {"scores"}
    _, checks = compare(
        ref, noisy, [("boxes", "boxes"), ("scores", "scores")], Thresholds(min_top1_agreement=99), class_output="boxes"
    )
    assert [c.passed for c in checks if c.name == "top1_agreement"] == [False]
    single = {"logits": rng.normal(size=(20, 3))}
    _, checks = compare(single, single, [("logits", "logits")], Thresholds(min_top1_agreement=99))
    assert [c.output for c in checks] == ["logits"]  # a model's only [N, C] output is its class output


def test_pairing_by_name_then_position() -> None:
    assert pair_names(["a", "b"], ["b", "a"], "output") == [("a", "a"), ("b", "b")]
    assert pair_names(["probs"], ["output_0"], "output") == [("probs", "output_0")]
    with pytest.raises(UsageError, match="2 outputs"):
        pair_names(["a", "b"], ["x"], "output")


def test_latency_percentiles() -> None:
    stats = LatencyStats.from_timings([float(v) for v in range(1, 101)], threads=1)
    assert stats.median_ms == 50.5 and math.isclose(stats.p90_ms, 90.1) and stats.min_ms == 1.0
