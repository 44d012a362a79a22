"""Validation that scales (issue 14): streamed batches give the all-in-memory figures, memory stays flat in N,
and the progress bar shows on a terminal only."""

from __future__ import annotations

import os
import pickle
import pty
import select
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from edgex.data.inputs import InputSet
from edgex.data.providers import DataSpec, check_up_front, open_stream
from edgex.data.stream import DEFAULT_BATCH, CompressedMember, DataError
from edgex.parity.compare import StreamComparison
from edgex.parity.metrics import ERROR_BINS_PER_DECADE, ERROR_LOG10_HIGH, ERROR_LOG10_LOW, VALUE_SAMPLE_SIZE
from edgex.parity.thresholds import Thresholds
from edgex.progress import enabled
from edgex.sources import resolve_source
from edgex.sources.remote import RemoteRunner
from edgex.specs import ModelSignature, TensorSpec
from edgex.workers import WorkerPool
from tests.helpers import DEMO_KERAS, DEMO_LABELS, DEMO_VAL, ROOT, load_json, run_edgex


def _all_in_memory(reference: np.ndarray, exported: np.ndarray, labels: np.ndarray) -> dict[str, object]:
    """The figures as computed before streaming: whole arrays, numpy reductions, one histogram, one draw."""
    ref, exp = reference.astype(np.float64), exported.astype(np.float64)
    difference = np.abs(ref - exp)
    cosine = np.sum(ref * exp, axis=1) / (np.linalg.norm(ref, axis=1) * np.linalg.norm(exp, axis=1))
    edges = 10.0 ** (
        ERROR_LOG10_LOW
        + np.arange((ERROR_LOG10_HIGH - ERROR_LOG10_LOW) * ERROR_BINS_PER_DECADE + 1) / ERROR_BINS_PER_DECADE
    )
    counts, _ = np.histogram(difference[difference > 0], bins=edges)
    chosen = np.sort(np.random.default_rng(0).choice(ref.size, size=VALUE_SAMPLE_SIZE, replace=False))
    top5 = np.argsort(-exported, axis=1, kind="stable")[:, :5]
    return {
        "max_abs_error": difference.max(),
        "mean_abs_error": difference.mean(),
        "rmse": np.sqrt(np.mean(difference**2)),
        "cosine": cosine.mean(),
        "cosine_min": cosine.min(),
        "snr_db": 10 * np.log10(np.sum(ref**2) / np.sum(difference**2)),
        "top1_agreement": 100 * np.mean(reference.argmax(1) == exported.argmax(1)),
        "top5_agreement": 100 * np.mean(np.any(top5 == reference.argmax(1)[:, None], axis=1)),
        "reference_accuracy": 100 * np.mean(reference.argmax(1) == labels),
        "exported_accuracy": 100 * np.mean(exported.argmax(1) == labels),
        "histogram": [int(c) for c in counts],
        "sample": [float(f"{v:.6g}") for v in ref.reshape(-1)[chosen]],
    }


def _run_on_a_terminal(*args: str | Path) -> tuple[int, str]:
    """The CLI with stderr on a pseudo-terminal (not CI, not quiet): what a person at a shell sees there."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "EDGEX_QUIET")}
    env.update(PYTHONPATH=str(ROOT), COLUMNS="120", TERM="xterm")
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "edgex", *map(str, args)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=terminal,
    )
    os.close(terminal)
    seen = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed: the process ended
                break
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    os.close(controller)
    return process.wait(timeout=600), seen.decode(errors="replace")


def test_streamed_validation_gives_the_all_in_memory_figures(demo_export, tmp_path: Path) -> None:
    """`edgex validate` streams the demo's 359 samples in batches (reference and artifact side by side, the bar on
    a terminal); every figure matches whole-array runs and whole-array numpy to 1e-9."""
    artifact = demo_export["out"] / "digits_int8.tflite"
    report_path = tmp_path / "report.json"
    code, terminal = _run_on_a_terminal("validate", "demo", artifact, "--runs", "0", "--report-json", report_path)
    assert code == 0, terminal
    assert "validating digits_int8.tflite" in terminal and "ETA" in terminal  # the bar, on stderr
    report = load_json(report_path)
    streamed = report["rows"][0]["parity"]["outputs"][0]
    stored = np.load(DEMO_VAL)
    assert len(stored["image"]) > 2 * DEFAULT_BATCH  # several batches, a short last one
    with WorkerPool(threads=1, timeout=600) as pool:
        outputs = []
        for spec in (str(DEMO_KERAS), str(artifact)):
            runner = RemoteRunner(pool, resolve_source(spec), threads=1)
            outputs.append(next(iter(runner.run({"image": stored["image"]}).values())))
    labels = np.load(DEMO_LABELS)
    expected = _all_in_memory(outputs[0], outputs[1], labels)
    assert streamed["shape"] == list(outputs[0].shape)
    for name in (
        "max_abs_error",
        "mean_abs_error",
        "rmse",
        "cosine",
        "cosine_min",
        "snr_db",
        "top1_agreement",
        "top5_agreement",
        "reference_accuracy",
        "exported_accuracy",
    ):
        assert streamed[name] == pytest.approx(float(expected[name]), rel=1e-9, abs=1e-12), name
    assert streamed["max_abs_error"] > 0 and streamed["snr_db"] < 200  # int8: real errors, not a trivial match
    assert streamed["error_histogram"]["counts"] == expected["histogram"]
    assert streamed["value_sample"]["reference"] == expected["sample"]
    assert report["validation"]["sha256"] == InputSet({"image": stored["image"]}, origin="").fingerprint()
    assert report["validation"]["samples"] == len(labels)

    captured = demo_export["result"]  # stderr not a terminal (a CI log): no bar
    assert captured.returncode == 0 and "ETA" not in captured.stderr


def _peak_bytes_streaming(path: Path, signature: ModelSignature) -> tuple[int, dict[str, float]]:
    """Peak Python/numpy allocation while checking and streaming a memory-mapped .npz through the accumulators."""
    tracemalloc.start()
    try:
        check_up_front(DataSpec(str(path)), "validation")
        stream = open_stream(DataSpec(str(path)), signature, "validation")
        comparison = StreamComparison([("y", "y")], len(stream), labels=True)
        for batch in stream.batches():
            comparison.add({"y": batch.arrays["reference"]}, {"y": batch.arrays["exported"]}, batch.labels)
        metrics, _ = comparison.finish(Thresholds())
        return tracemalloc.get_traced_memory()[1], {"accuracy": metrics[0].reference_accuracy or 0.0}
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed], ids=["npz", "npz_compressed"])
def test_memory_does_not_grow_with_the_number_of_samples(tmp_path: Path, save: Callable[..., None]) -> None:
    """4x the samples, same peak: .npz members are memory-mapped (compressed ones inflated a batch at a time),
    values checked and metrics summed per batch."""
    classes = 1000
    signature = ModelSignature(
        inputs=tuple(TensorSpec(name, (None, classes), "float32") for name in ("reference", "exported")), outputs=()
    )
    peaks = {}
    for count in (2000, 8000):
        rng = np.random.default_rng(count)
        reference = rng.random((count, classes), dtype=np.float32)
        labels = reference.argmax(axis=1)
        path = tmp_path / f"outputs_{count}.npz"
        save(path, reference=reference, exported=reference + np.float32(1e-3), labels=labels)
        del reference
        peaks[count], figures = _peak_bytes_streaming(path, signature)
        assert figures["accuracy"] == 100.0  # labels streamed beside their samples
    large_file = 8000 * classes * 4 * 2
    assert peaks[8000] <= 1.2 * peaks[2000], peaks
    assert peaks[8000] < large_file / 4, peaks  # far below the data: nothing holds the whole set
    tracemalloc.start()  # calibration: spooled to files a batch at a time, not loaded
    try:
        spooled = open_stream(DataSpec(str(path)), signature, "calibration").spool(tmp_path / "spool")
        assert tracemalloc.get_traced_memory()[1] < large_file / 4
    finally:
        tracemalloc.stop()
    assert float(spooled.arrays["exported"][-1].sum()) > 0 and len(spooled) == 8000


def test_the_bar_is_for_people_only(monkeypatch) -> None:
    monkeypatch.delenv("EDGEX_QUIET", raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert enabled()
    monkeypatch.setenv("CI", "true")
    assert not enabled()
    monkeypatch.delenv("CI")
    monkeypatch.setenv("EDGEX_QUIET", "1")
    assert not enabled()


@pytest.mark.parametrize("source", ["folder", "generator", "npz_compressed"])
def test_every_source_streams_the_samples_a_whole_load_gives(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, source: str
) -> None:
    """Batches of 4 (a short last one), with a reproducible cap: the same samples, labels and fingerprint as the
    all-in-memory InputSet and its subset."""
    from PIL import Image

    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(11, 8, 8), dtype=np.uint8)
    signature = ModelSignature(inputs=(TensorSpec("image", (None, 8, 8, 1), "float32"),), outputs=())
    if source == "folder":
        for index, image in enumerate(images):
            folder = tmp_path / f"class_{index % 3}"
            folder.mkdir(exist_ok=True)
            Image.fromarray(image, mode="L").save(folder / f"{index:02d}.png")
        spec = str(tmp_path)
    elif source == "generator":
        np.save(tmp_path / "images.npy", images)
        (tmp_path / "gen.py").write_text(
            "import numpy as np\n"
            f"def samples():\n    for image in np.load({str(tmp_path / 'images.npy')!r}):\n"
            "        yield image[..., None].astype(np.float32) / 255\n"
        )
        spec = f"{tmp_path / 'gen.py'}:samples"
    else:
        np.savez_compressed(tmp_path / "v.npz", image=images[..., None] / 255.0, labels=np.arange(11) % 3)
        spec = str(tmp_path / "v.npz")
    whole = open_stream(DataSpec(spec), signature, "validation").materialize()
    for samples in (None, 6):
        stream = open_stream(DataSpec(spec, samples=samples), signature, "validation")
        expected = whole.subset(samples)
        batches = list(stream.batches(4))
        assert [len(b.arrays["image"]) for b in batches] == ([4, 4, 3] if samples is None else [4, 2])
        np.testing.assert_array_equal(np.concatenate([b.arrays["image"] for b in batches]), expected.arrays["image"])
        if expected.labels is not None:
            assert np.concatenate([b.labels for b in batches]).tolist() == expected.labels.tolist()
        assert stream.fingerprint() == expected.fingerprint() and stream.origin == expected.origin
        # calibration: spooled to .npy files, memory-mapped, and sent to converter workers as file names
        spooled = open_stream(DataSpec(spec, samples=samples), signature, "validation").spool(
            tmp_path_factory.mktemp("spool")
        )
        np.testing.assert_array_equal(spooled.arrays["image"], expected.arrays["image"])
        assert spooled.fingerprint() == expected.fingerprint() and len(spooled) == len(expected)
        assert len(pickle.dumps(spooled.arrays)) < 1000
        np.testing.assert_array_equal(pickle.loads(pickle.dumps(spooled.arrays))["image"], expected.arrays["image"])


def test_calibration_progress_reaches_the_parent_from_the_converter(tmp_path: Path, monkeypatch) -> None:
    """int8 TFLite of the demo: the spooled calibration set reaches TFLiteConverter's representative dataset in the
    worker, which reports every sample it hands over; the parent's bar gets them."""
    import edgex
    from edgex import exporting

    seen: list[tuple[str, int, int]] = []

    @contextmanager
    def recording(description: str) -> Iterator[Callable[[int, int], None]]:
        yield lambda done, total: seen.append((description, done, total))

    monkeypatch.setattr(exporting, "reported", recording)
    report = edgex.export("demo", to="tflite", quantize="int8", out=tmp_path, runs=0, calibration_samples=150)
    assert report.passed, report.rows
    assert seen and seen[-1] == ("calibrating tflite int8", 150, 150), seen
    assert report.calibration is not None and report.calibration.samples == 150


def test_a_compressed_npz_streams_the_samples_np_load_gives(tmp_path: Path) -> None:
    """Large compressed members are read a batch at a time, also for a drawn subset (rows far apart) and when a
    second pass starts the member again."""
    rng = np.random.default_rng(3)
    images = rng.normal(size=(1500, 16, 16, 3)).astype(np.float32)  # 4.6 MB: above the read-whole size
    path = tmp_path / "val.npz"
    np.savez_compressed(path, image=images, labels=np.arange(1500) % 7)
    signature = ModelSignature(inputs=(TensorSpec("image", (None, 16, 16, 3), "float32"),), outputs=())
    check_up_front(DataSpec(str(path)), "validation")
    for samples in (None, 300):
        stream = open_stream(DataSpec(str(path), samples=samples), signature, "validation")
        expected = InputSet({"image": images}, origin=str(path), labels=np.arange(1500) % 7).subset(samples)
        for _ in range(2):  # the second pass reads the member from its start again
            batches = list(stream.batches())
            streamed = np.concatenate([b.arrays["image"] for b in batches])
            np.testing.assert_array_equal(streamed, expected.arrays["image"])
            assert np.concatenate([b.labels for b in batches]).tolist() == expected.labels.tolist()
        assert stream.fingerprint() == expected.fingerprint()
    assert isinstance(open_stream(DataSpec(str(path)), signature, "validation").arrays["image"], CompressedMember)


def test_spooling_refuses_samples_whose_shape_changes(tmp_path: Path) -> None:
    """A generator whose later samples are longer (a dynamic axis) cannot fill one calibration file: one clear line."""
    (tmp_path / "gen.py").write_text(
        "import numpy as np\n"
        "def samples():\n    for index in range(70):\n        yield np.zeros(5 if index < 64 else 6, np.float32)\n"
    )
    signature = ModelSignature(inputs=(TensorSpec("x", (None, None), "float32"),), outputs=())
    stream = open_stream(DataSpec(f"{tmp_path / 'gen.py'}:samples"), signature, "calibration")
    with pytest.raises(DataError, match="input 'x' has samples of shape 6 and 5"):
        stream.spool(tmp_path / "spool")


@pytest.mark.parametrize("dtype", ["float32", "uint8"])  # float: found by the up-front NaN check; uint8: mid-pass
def test_a_damaged_compressed_member_is_bad_input_not_a_crash(tmp_path: Path, dtype: str) -> None:
    """The damage shows only when a pass inflates that far (np.load used to find it on opening): still exit 2, one
    line naming the file and the array."""
    images = (np.random.default_rng(5).random((21000, 8, 8, 1)) * 255).astype(dtype)  # >= 1 MiB: inflated as read
    path = tmp_path / "val.npz"
    np.savez_compressed(path, image=images)
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2 : len(damaged) // 2 + 200] = bytes(200)
    path.write_bytes(bytes(damaged))
    result = run_edgex("validate", DEMO_KERAS, DEMO_KERAS, "--data", path, "--runs", "0")
    assert result.returncode == 2, result.stderr
    assert f"{path}: array 'image' is damaged" in result.stderr and "Traceback" not in result.stderr
