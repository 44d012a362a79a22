"""Calibration / validation data providers (numpy and Pillow only: run in pytest's own process)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from edgex.data.images import ImagePreprocess
from edgex.data.providers import DataSpec, load_inputs, load_labels
from edgex.errors import UsageError
from edgex.pipeline import overlap_warning
from edgex.specs import ModelSignature, TensorSpec

NHWC = ModelSignature(inputs=(TensorSpec("image", (None, 8, 8, 1), "float32"),), outputs=())
NCHW_RGB = ModelSignature(inputs=(TensorSpec("pixels", (None, 3, 6, 5), "float32"),), outputs=())
TWO = ModelSignature(inputs=(TensorSpec("a", (None, 4), "float32"), TensorSpec("b", (None, 3), "float32")), outputs=())


def _digits_folder(root, per_class: int = 3):
    """PNG files in class subfolders, from the real digits images (0..16 grey levels scaled to 0..255)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    for label in range(3):
        folder = root / f"class_{label}"
        folder.mkdir(parents=True)
        images = digits.images[digits.target == label][:per_class]
        for i, image in enumerate(images):
            Image.fromarray((image * 255 / 16).astype(np.uint8), mode="L").save(folder / f"{i}.png")
    return digits


def test_image_folder_with_class_subfolders_gives_labels(tmp_path) -> None:
    digits = _digits_folder(tmp_path)
    inputs = load_inputs(DataSpec(str(tmp_path)), NHWC, "validation")
    assert inputs.arrays["image"].shape == (9, 8, 8, 1)
    assert inputs.labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    first = digits.images[digits.target == 0][0] / 16.0
    np.testing.assert_allclose(inputs.arrays["image"][0, :, :, 0], first, atol=1 / 255 + 1e-6)


def test_image_folder_resizes_normalises_and_goes_channels_first(tmp_path) -> None:
    Image.fromarray(np.full((12, 8, 3), 255, dtype=np.uint8)).save(tmp_path / "white.png")
    preprocess = ImagePreprocess(scale=1 / 255, mean=(0.5, 0.5, 0.5), std=(0.25, 0.5, 1.0))
    inputs = load_inputs(DataSpec(str(tmp_path), preprocess=preprocess), NCHW_RGB, "calibration")
    assert inputs.arrays["pixels"].shape == (1, 3, 6, 5)
    np.testing.assert_allclose(inputs.arrays["pixels"][0, :, 0, 0], [2.0, 1.0, 0.5], rtol=1e-6)


def test_npz_arrays_are_matched_by_input_name_and_checked(tmp_path) -> None:
    np.savez(tmp_path / "ok.npz", a=np.zeros((5, 4)), b=np.ones((5, 3)))
    inputs = load_inputs(DataSpec(str(tmp_path / "ok.npz")), TWO, "calibration")
    assert inputs.arrays["a"].dtype == np.float32 and len(inputs) == 5
    np.savez(tmp_path / "wrong_names.npz", x=np.zeros((5, 4)), y=np.ones((5, 3)))
    with pytest.raises(UsageError, match="do not match the model inputs"):
        load_inputs(DataSpec(str(tmp_path / "wrong_names.npz")), TWO, "calibration")
    np.savez(tmp_path / "wrong_shape.npz", a=np.zeros((5, 5)), b=np.ones((5, 3)))
    with pytest.raises(UsageError, match="input 'a' has samples of shape 5"):
        load_inputs(DataSpec(str(tmp_path / "wrong_shape.npz")), TWO, "calibration")


def test_npz_labels_key_and_single_npy(tmp_path) -> None:
    np.savez(tmp_path / "v.npz", image=np.zeros((4, 8, 8, 1)), labels=np.array([1, 2, 3, 4]))
    inputs = load_inputs(DataSpec(str(tmp_path / "v.npz")), NHWC, "validation")
    assert inputs.labels.tolist() == [1, 2, 3, 4]
    np.save(tmp_path / "x.npy", np.zeros((4, 8, 8, 1)))
    assert len(load_inputs(DataSpec(str(tmp_path / "x.npy")), NHWC, "validation")) == 4


def test_callable_from_a_file(tmp_path) -> None:
    (tmp_path / "gen.py").write_text(
        "import numpy as np\n"
        "def samples():\n"
        "    for i in range(7):\n"
        "        yield {'a': np.full(4, i, np.float32), 'b': np.zeros((1, 3), np.float32)}\n"
    )
    inputs = load_inputs(DataSpec(f"{tmp_path / 'gen.py'}:samples"), TWO, "calibration")
    assert inputs.arrays["a"].shape == (7, 4) and inputs.arrays["b"].shape == (7, 3)
    assert inputs.arrays["a"][6, 0] == 6
    with pytest.raises(UsageError, match="has no attribute 'sample'") as caught:
        load_inputs(DataSpec(f"{tmp_path / 'gen.py'}:sample"), TWO, "calibration")
    assert "did you mean 'samples'" in caught.value.one_line()


def test_sample_cap_is_reproducible_and_keeps_labels_aligned(tmp_path) -> None:
    np.savez(tmp_path / "v.npz", image=np.arange(50 * 64, dtype=np.float32).reshape(50, 8, 8, 1))
    labels = np.arange(50)
    np.save(tmp_path / "labels.npy", labels)
    first = load_inputs(DataSpec(str(tmp_path / "v.npz"), samples=10), NHWC, "validation", tmp_path / "labels.npy")
    second = load_inputs(DataSpec(str(tmp_path / "v.npz"), samples=10), NHWC, "validation", tmp_path / "labels.npy")
    assert len(first) == 10 and first.labels.tolist() == second.labels.tolist()
    assert all(first.arrays["image"][i, 0, 0, 0] == first.labels[i] * 64 for i in range(10))


def test_random_is_calibration_only_and_flagged() -> None:
    inputs = load_inputs(DataSpec("random", samples=8), NHWC, "calibration")
    assert len(inputs) == 8 and "unmeasured" in inputs.notes[0]
    with pytest.raises(UsageError, match="only allowed for calibration"):
        load_inputs(DataSpec("random"), NHWC, "validation")


def test_labels_count_must_match(tmp_path) -> None:
    np.save(tmp_path / "l.npy", np.arange(3))
    with pytest.raises(UsageError, match="3 labels for 5 validation samples"):
        load_labels(tmp_path / "l.npy", 5)
    (tmp_path / "l.txt").write_text("1\n2\n3\n4\n5\n")
    assert load_labels(tmp_path / "l.txt", 5).tolist() == [1, 2, 3, 4, 5]


def test_overlap_between_calibration_and_validation_is_counted(tmp_path) -> None:
    base = np.random.default_rng(0).random((20, 8, 8, 1), dtype=np.float32)
    np.save(tmp_path / "c.npy", base[:12])
    np.save(tmp_path / "v.npy", base[8:])
    calib = load_inputs(DataSpec(str(tmp_path / "c.npy")), NHWC, "calibration")
    val = load_inputs(DataSpec(str(tmp_path / "v.npy")), NHWC, "validation")
    assert overlap_warning(calib, val).startswith("4 of 12 validation samples")
