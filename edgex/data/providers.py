"""Turn a data spec (folder, .npy/.npz, 'module:function', or an explicit 'random') into an InputSet."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgex.data.images import IMAGE_SUFFIXES, ImagePreprocess, load_image_folder
from edgex.data.inputs import InputSet, check_values, conform
from edgex.errors import UsageError
from edgex.pyspec import load_object, looks_like_pyspec
from edgex.specs import ModelSignature

RANDOM = "random"
LABELS_KEY = "labels"


@dataclass(frozen=True)
class DataSpec:
    spec: str
    samples: int | None = None  # cap, drawn reproducibly
    preprocess: ImagePreprocess = field(default_factory=ImagePreprocess)


def check_up_front(data: DataSpec | None, purpose: str, labels_path: Path | None = None) -> None:
    """What can be checked before any model loads (seconds of framework import): files exist, preprocessing is
    sane, array files hold finite real numbers. Shapes and sample counts need the signature: see load_inputs."""
    if labels_path is not None:
        check_label_values(_one_hot_to_ids(read_labels(labels_path)), str(labels_path))
    if data is None:
        return
    prep = data.preprocess
    for name, values in (("mean", prep.mean), ("std", prep.std), ("scale", (prep.scale,))):
        if not np.isfinite(np.asarray(values, dtype=np.float64)).all():
            raise UsageError(f"--{name} {values} is not a finite number")
    if any(value == 0 for value in prep.std):
        raise UsageError("--std 0 divides every pixel by zero", hint="give the dataset's standard deviation, e.g. 0.5")
    if prep.scale == 0:
        raise UsageError("--scale 0 makes every input zero", hint="the default 1/255 maps 8-bit pixels to 0..1")
    spec = data.spec
    if spec == RANDOM or (looks_like_pyspec(spec) and not Path(spec).exists()):
        return
    path = Path(spec).expanduser()
    if not path.exists():
        raise UsageError(f"{purpose} data {path}: no such file or folder")
    if path.is_file() and path.suffix.lower() in (".npz", ".npy"):
        for name, array in _stored_arrays(path, purpose).items():
            if name == LABELS_KEY:
                check_label_values(array, f"{path}[{LABELS_KEY}]")
            else:
                check_values(array, f"{purpose} data {path}" + (f": array '{name}'" if name else ""))


def _stored_arrays(path: Path, purpose: str) -> dict[str, np.ndarray]:
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return {"": loaded}
        with loaded:
            return {key: loaded[key] for key in loaded.files}
    except Exception as exc:  # noqa: BLE001 - any unreadable file is bad input
        raise UsageError(f"{purpose} data {path}: not a readable numpy file ({short_reason(exc)})") from None


def short_reason(exc: BaseException) -> str:
    """numpy's messages about pickled object arrays run to several sentences: keep the first."""
    return str(exc).split(". ")[0].strip() or type(exc).__name__


def load_inputs(data: DataSpec, signature: ModelSignature, purpose: str, labels_path: Path | None = None) -> InputSet:
    """`purpose` is 'calibration' or 'validation' and appears in every message.

    Labels (from `labels_path`, an .npz 'labels' array, or class subfolders) are attached before the
    sample cap is applied, so they stay aligned with their samples.
    """
    spec = data.spec
    if spec == RANDOM:
        if purpose != "calibration":
            raise UsageError("random data is only allowed for calibration", hint="give real --data for validation")
        count = data.samples or 100
        inputs = _random_inputs(signature, count)
    elif looks_like_pyspec(spec) and not Path(spec).exists():
        inputs = _callable_inputs(spec, signature, purpose)
    else:
        path = Path(spec).expanduser()
        if not path.exists():
            raise UsageError(f"{purpose} data {path}: no such file or folder")
        if path.is_dir():
            inputs = load_image_folder(path, signature, data.preprocess, purpose)
        elif path.suffix.lower() in (".npz", ".npy"):
            inputs = _array_file_inputs(path, signature, purpose)
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            raise UsageError(f"{purpose} data {path} is a single image", hint="give the folder that holds the images")
        else:
            raise UsageError(
                f"{purpose} data {path}: unsupported file type '{path.suffix}'",
                hint="use an image folder, a .npy/.npz file, or 'module:function'",
            )
    if labels_path is not None:
        inputs.labels = load_labels(labels_path, len(inputs))
    return inputs.subset(data.samples)


def _random_inputs(signature: ModelSignature, count: int) -> InputSet:
    rng = np.random.default_rng(0)
    arrays = {}
    for spec in signature.inputs:
        if any(d is None for d in spec.sample_shape()):
            raise UsageError(f"input '{spec.name}' has dynamic dimensions; random calibration cannot pick a shape")
        shape = (count, *(int(d) for d in spec.sample_shape() if d is not None))
        arrays[spec.name] = rng.random(shape, dtype=np.float32).astype(spec.dtype)
    note = "calibrated on random data: quantization ranges are guesses and accuracy is unmeasured"
    return InputSet(arrays, origin=f"random ({count} samples)", notes=[note])


def _array_file_inputs(path: Path, signature: ModelSignature, purpose: str) -> InputSet:
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is bad input
        raise UsageError(f"{purpose} data {path}: not a readable numpy file ({short_reason(exc)})") from None
    names = [spec.name for spec in signature.inputs]
    labels = None
    if isinstance(loaded, np.ndarray):
        if len(names) != 1:
            raise UsageError(f"{purpose} data {path}: one array for a model with inputs {names}", hint="use an .npz")
        arrays = {names[0]: loaded}
    else:
        with loaded:
            stored = {key: loaded[key] for key in loaded.files}
        labels = stored.pop(LABELS_KEY, None)
        # 0-d arrays are constant inputs, bound when the model loaded (pipeline.with_data_shapes)
        stored = {key: value for key, value in stored.items() if value.ndim or key in names}
        single = len(names) == 1 and len(stored) == 1
        arrays = {names[0]: next(iter(stored.values()))} if single else stored
    inputs = InputSet(conform(arrays, signature, f"{purpose} data {path}"), origin=str(path))
    if labels is not None:
        inputs.labels = check_labels(labels, len(inputs), f"{path}[{LABELS_KEY}]")
    return inputs


def _callable_inputs(spec: str, signature: ModelSignature, purpose: str) -> InputSet:
    function = load_object(spec, f"{purpose} data")
    if not callable(function):
        raise UsageError(f"{purpose} data '{spec}' is not callable")
    names = [s.name for s in signature.inputs]
    collected: dict[str, list[np.ndarray]] = {name: [] for name in names}
    try:
        for item in function():
            sample = item if isinstance(item, dict) else {names[0]: item} if len(names) == 1 else None
            if sample is None:
                raise UsageError(f"{purpose} data '{spec}' must yield dicts keyed by input name {names}")
            if set(sample) != set(names):
                raise UsageError(f"{purpose} data '{spec}' yielded keys {sorted(sample)}, expected {names}")
            for name in names:
                value = np.asarray(sample[name])
                spec_rank = len(signature.input(name).shape)
                collected[name].append(value if value.ndim == spec_rank else value[None])
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - user code
        raise UsageError(f"{purpose} data '{spec}' raised {type(exc).__name__}: {exc}") from None
    if not collected[names[0]]:
        raise UsageError(f"{purpose} data '{spec}' yielded no samples")
    arrays = {name: np.concatenate(parts) for name, parts in collected.items()}
    return InputSet(conform(arrays, signature, f"{purpose} data '{spec}'"), origin=spec)


def load_labels(path: Path, count: int) -> np.ndarray:
    """Integer class labels, one per validation sample, from .npy, .npz (one array or 'labels') or text."""
    return check_labels(read_labels(path), count, str(path))


def read_labels(path: Path) -> np.ndarray:
    """The stored labels array, unchecked."""
    if not path.exists():
        raise UsageError(f"labels {path}: no such file")
    try:
        if path.suffix.lower() == ".npy":
            labels = np.load(path, allow_pickle=False)
        elif path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as stored:
                key = LABELS_KEY if LABELS_KEY in stored.files else stored.files[0] if len(stored.files) == 1 else None
                if key is None:
                    raise UsageError(f"labels {path}: several arrays and none named '{LABELS_KEY}'")
                labels = stored[key]
        else:
            labels = np.loadtxt(path, dtype=np.int64, ndmin=1)
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise UsageError(f"labels {path}: unreadable ({short_reason(exc)})") from None
    return np.asarray(labels)


def _one_hot_to_ids(labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] > 1 and labels.dtype.kind in "biuf":  # one-hot
        labels = labels.argmax(axis=1)
    return labels.reshape(-1)


def check_labels(labels: np.ndarray, count: int, origin: str) -> np.ndarray:
    labels = _one_hot_to_ids(labels)
    if len(labels) != count:
        raise UsageError(f"labels {origin}: {len(labels)} labels for {count} validation samples")
    check_label_values(labels, origin)
    return labels.astype(np.int64, copy=False)


def check_label_values(labels: np.ndarray, origin: str) -> None:
    """Class ids: finite, whole, not negative (the upper bound needs the model: see check_label_range)."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "biuf" or (labels.dtype.kind == "f" and not np.isfinite(labels).all()):
        raise UsageError(f"labels {origin}: expected integer class ids, got {labels.dtype} values")
    if labels.dtype.kind == "f" and not np.all(np.equal(np.mod(labels, 1), 0)):
        raise UsageError(f"labels {origin}: expected integer class ids, got {labels.dtype}")
    if labels.size and labels.min() < 0:
        raise UsageError(f"labels {origin}: negative class id {int(labels.min())}", hint="class ids start at 0")


def check_label_range(labels: np.ndarray | None, classes: int, output: str) -> None:
    """Labels must index the class-score output: out-of-range ids would give PASS with 0 % accuracy."""
    if labels is None or not labels.size:
        return
    highest = int(labels.max())
    if highest >= classes:
        raise UsageError(
            f"labels go up to class {highest} but output '{output}' has {classes} classes (0..{classes - 1})",
            hint="check that the labels belong to this model and start at 0",
        )
