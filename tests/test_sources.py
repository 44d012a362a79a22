"""SavedModel and .h5 sources, multi-input/multi-output models, signatures, conversion failure (exit 3)."""

from __future__ import annotations

from tests.helpers import DEMO_CALIB, DEMO_KERAS, DEMO_LABELS, DEMO_VAL, leftovers, load_json, run_edgex, tf_factory


def test_savedmodel_exports_and_validates_fp32_and_int8(tmp_path) -> None:
    saved = tmp_path / "digits_sm"
    tf_factory("savedmodel_from_keras", str(DEMO_KERAS), str(saved))
    result = run_edgex(
        "export",
        saved,
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
        "0",
        "--report-json",
        tmp_path / "r.json",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = load_json(tmp_path / "r.json")
    assert report["source"]["format"] == "savedmodel"
    assert [r["artifact"]["path"].split("/")[-1] for r in report["rows"]] == [
        "digits_sm_fp32.tflite",
        "digits_sm_int8.tflite",
    ]
    assert report["rows"][1]["parity"]["outputs"][0]["top1_agreement"] >= 98.0


def test_savedmodel_signature_must_be_chosen_when_ambiguous(tmp_path) -> None:
    saved = tmp_path / "two"
    tf_factory("savedmodel_two_signatures", str(saved))
    data = tmp_path / "x.npy"
    import numpy as np

    np.save(data, np.random.default_rng(0).random((20, 5), dtype=np.float32))
    result = run_edgex("export", saved, "--out", tmp_path / "a", "--validate", data, "--runs", "0")
    assert result.returncode == 2 and "several signatures" in result.stderr and "--signature" in result.stderr
    result = run_edgex(
        "export",
        saved,
        "--signature",
        "square",
        "--out",
        tmp_path / "b",
        "--validate",
        data,
        "--runs",
        "0",
        "--report-json",
        tmp_path / "r.json",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "square" in load_json(tmp_path / "r.json")["source"]["runtime"]
    result = run_edgex("export", saved, "--signature", "sqare", "--out", tmp_path / "c")
    assert result.returncode == 2 and "did you mean 'square'" in result.stderr


def test_h5_source(tmp_path) -> None:
    h5 = tmp_path / "digits.h5"
    tf_factory("h5_copy", str(DEMO_KERAS), str(h5))
    result = run_edgex("export", h5, "-q", "fp16", "--validate", DEMO_VAL, "--out", tmp_path / "dist", "--runs", "0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "dist" / "digits_fp16.tflite").exists()


def test_multi_input_multi_output_dict_model(tmp_path) -> None:
    model = tmp_path / "mio.keras"
    tf_factory("multi_io_keras", str(model), "dict")
    tf_factory("multi_io_data", str(tmp_path))
    result = run_edgex(
        "export",
        model,
        "-q",
        "none",
        "-q",
        "int8",
        "--calib",
        tmp_path / "mio_calib.npz",
        "--validate",
        tmp_path / "mio_val.npz",
        "--out",
        tmp_path / "dist",
        "--runs",
        "5",
        "--report-json",
        tmp_path / "r.json",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = load_json(tmp_path / "r.json")
    for row in report["rows"]:
        outputs = {m["output"]: m for m in row["parity"]["outputs"]}
        assert set(outputs) == {"zeta", "alpha"}
        assert outputs["zeta"]["exported_output"] == "zeta"  # paired by name, not position
        assert outputs["alpha"]["shape"][1:] == [6] and outputs["zeta"]["shape"][1:] == [2]
        assert outputs["alpha"]["class_output"] and not outputs["zeta"]["class_output"]  # softmax vs regression
        gated = {c["output"] for c in row["parity"]["checks"] if c["name"] == "top1_agreement"}
        assert gated == {"alpha"}
        assert row["parity"]["input_mapping"] == {"a": "a", "b": "b"}
    assert report["rows"][0]["parity"]["outputs"][0]["max_abs_error"] < 1e-5


def test_multi_output_list_model_pairs_by_position(tmp_path) -> None:
    model = tmp_path / "mio_list.keras"
    tf_factory("multi_io_keras", str(model), "list")
    tf_factory("multi_io_data", str(tmp_path))
    result = run_edgex(
        "export",
        model,
        "--validate",
        tmp_path / "mio_val.npz",
        "--out",
        tmp_path / "dist",
        "--runs",
        "0",
        "--report-json",
        tmp_path / "r.json",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    outputs = load_json(tmp_path / "r.json")["rows"][0]["parity"]["outputs"]
    assert [(m["output"], m["exported_output"]) for m in outputs] == [("zeta", "output_0"), ("alpha", "output_1")]
    assert all(m["max_abs_error"] < 1e-5 for m in outputs)


def test_unconvertible_model_fails_with_exit_3_and_leaves_nothing(tmp_path) -> None:
    saved = tmp_path / "inverse"
    tf_factory("savedmodel_unconvertible", str(saved))
    out = tmp_path / "dist"
    result = run_edgex("export", saved, "--out", out, "--report-json", tmp_path / "r.json")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "❌" in result.stdout
    row = load_json(tmp_path / "r.json")["rows"][0]
    assert row["status"] == "export_failed" and "TFLiteConverter failed" in row["error"]
    assert leftovers(out) == []
