"""Turn a data spec (folder, .npy/.npz, 'module:function', or an explicit 'random') into an InputSet."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgex.data.images import IMAGE_SUFFIXES, ImageFolderStream, ImagePreprocess
from edgex.data.inputs import InputSet, check_values
from edgex.data.stream import ArrayStream, DataStream, GeneratorStream, open_npy, open_npz
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
    """The arrays of an .npy ('' key) or .npz, memory-mapped where the file allows: read a chunk at a time."""
    try:
        if path.suffix.lower() == ".npy":
            return {"": open_npy(path)}
        return open_npz(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is bad input
        raise UsageError(f"{purpose} data {path}: not a readable numpy file ({short_reason(exc)})") from None


def short_reason(exc: BaseException) -> str:
    """numpy's messages about pickled object arrays run to several sentences: keep the first."""
    return str(exc).split(". ")[0].strip() or type(exc).__name__


def load_inputs(data: DataSpec, signature: ModelSignature, purpose: str, labels_path: Path | None = None) -> InputSet:
    """Every sample in memory (layer debugging); calibration spools to files and validation streams: see
    open_stream."""
    return open_stream(data, signature, purpose, labels_path).materialize()


def open_stream(data: DataSpec, signature: ModelSignature, purpose: str, labels_path: Path | None = None) -> DataStream:
    """`purpose` is 'calibration' or 'validation' and appears in every message.

    Labels (from `labels_path`, an .npz 'labels' array, or class subfolders) are attached before the
    sample cap is applied, so they stay aligned with their samples.
    """
    spec = data.spec
    stream: DataStream
    if spec == RANDOM:
        if purpose != "calibration":
            raise UsageError("random data is only allowed for calibration", hint="give real --data for validation")
        stream = ArrayStream.of(_random_inputs(signature, data.samples or 100), signature)
    elif looks_like_pyspec(spec) and not Path(spec).exists():
        function = load_object(spec, f"{purpose} data")
        if not callable(function):
            raise UsageError(f"{purpose} data '{spec}' is not callable")
        stream = GeneratorStream(spec, function, signature, purpose)
    else:
        path = Path(spec).expanduser()
        if not path.exists():
            raise UsageError(f"{purpose} data {path}: no such file or folder")
        if path.is_dir():
            stream = ImageFolderStream(path, signature, data.preprocess, purpose)
        elif path.suffix.lower() in (".npz", ".npy"):
            stream = _array_file_stream(path, signature, purpose)
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            raise UsageError(f"{purpose} data {path} is a single image", hint="give the folder that holds the images")
        else:
            raise UsageError(
                f"{purpose} data {path}: unsupported file type '{path.suffix}'",
                hint="use an image folder, a .npy/.npz file, or 'module:function'",
            )
    if labels_path is not None:
        stream.labels = load_labels(labels_path, len(stream))
    return stream.select(data.samples)


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


def _array_file_stream(path: Path, signature: ModelSignature, purpose: str) -> ArrayStream:
    """.npy memory-mapped; .npz members memory-mapped when stored uncompressed."""
    stored = _stored_arrays(path, purpose)
    names = [spec.name for spec in signature.inputs]
    labels = stored.pop(LABELS_KEY, None) if path.suffix.lower() == ".npz" else None
    if path.suffix.lower() == ".npy":
        if len(names) != 1:
            raise UsageError(f"{purpose} data {path}: one array for a model with inputs {names}", hint="use an .npz")
        arrays = {names[0]: stored[""]}
    else:
        # 0-d arrays are constant inputs, bound when the model loaded (pipeline.with_data_shapes)
        stored = {key: value for key, value in stored.items() if value.ndim or key in names}
        single = len(names) == 1 and len(stored) == 1
        arrays = {names[0]: next(iter(stored.values()))} if single else stored
    stream = ArrayStream(arrays, str(path), signature)
    stream.where = f"{purpose} data {path}"
    if labels is not None:
        stream.labels = check_labels(np.asarray(labels), len(stream), f"{path}[{LABELS_KEY}]")
    return stream


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
