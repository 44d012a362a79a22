"""The zoo's models: one record per model (source, inputs, routes it allows) and realistic inputs for each.

Inputs are structured, not noise: faces drawn with ellipses over lighting gradients for the vision models, voiced
speech (glottal pulses with vibrato through formant resonators, syllable envelopes, pauses) for the audio models,
preprocessed the way each package does before calling its network. Calibration and validation sets are written as
.npz files keyed by input name, with different seeds so validation is never calibration data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy import signal

FP32_ROUTES = ("tflite", "executorch", "pytorch-lite", "onnx")
INT8_ROUTES = ("tflite", "executorch", "onnx")
# No onnx -> onnx route: an ONNX source is quantized to ONNX with onnxruntime.quantization directly.
ONNX_SOURCE_INT8_ROUTES = ("tflite", "executorch")
ZOO_FACTORIES = "benchmarks.zoo_factories"


@dataclass(frozen=True)
class ZooModel:
    """One real model: where it comes from and what the zoo asks of it."""

    name: str
    framework: str  # keras, onnx, torch, torchscript: the source kind `--quick` picks one of
    source: str  # a path relative to the cache, or a 'pkg.module:factory' spec
    package: str  # the registry package (pinned in zoo_fetch.PACKAGES) it ships in
    make_inputs: Callable[[int, int], dict[str, np.ndarray]]  # (count, seed) -> arrays keyed by input name
    fp32_routes: tuple[str, ...]
    int8_routes: tuple[str, ...] = ()
    calib_count: int = 64
    val_count: int = 24
    extra_args: tuple[str, ...] = ()
    upstream: dict[str, str] = field(default_factory=dict)  # route/mode -> known upstream issue

    def source_spec(self, cache: Path) -> str:
        return self.source if ":" in self.source else str(cache / self.source)

    def write_data(self, folder: Path) -> tuple[Path, Path]:
        """Calibration and validation .npz files (written once, reused)."""
        folder.mkdir(parents=True, exist_ok=True)
        calib, val = folder / f"{self.name}-calib.npz", folder / f"{self.name}-val.npz"
        if not calib.exists():
            np.savez(calib, **self.make_inputs(self.calib_count, 1))
        if not val.exists():
            np.savez(val, **self.make_inputs(self.val_count, 2))
        return calib, val


# ---- images ------------------------------------------------------------------------------------------------------


def _face(rng: np.random.Generator, size: int) -> Image.Image:
    """A frontal face: skin ellipse, eyes, brows, nose, a mouth whose curve varies, over a lighting gradient."""
    ramp = np.linspace(rng.uniform(20, 120), rng.uniform(120, 240), size)
    background = np.outer(ramp, np.ones(size)) if rng.random() < 0.5 else np.outer(np.ones(size), ramp)
    tint = rng.uniform(0.7, 1.1, 3)
    image = Image.fromarray(np.clip(background[..., None] * tint, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    cx, cy = size * rng.uniform(0.42, 0.58), size * rng.uniform(0.42, 0.58)
    half_w, half_h = size * rng.uniform(0.28, 0.4), size * rng.uniform(0.36, 0.48)
    skin = tuple(int(v) for v in rng.uniform([150, 100, 80], [255, 200, 170]))
    draw.ellipse([cx - half_w, cy - half_h, cx + half_w, cy + half_h], fill=skin)
    eye_y, eye_dx, eye_r = cy - half_h * 0.2, half_w * 0.42, max(1.0, half_w * rng.uniform(0.1, 0.16))
    for side in (-1, 1):
        ex = cx + side * eye_dx
        draw.ellipse([ex - eye_r * 1.6, eye_y - eye_r, ex + eye_r * 1.6, eye_y + eye_r], fill=(245, 245, 245))
        draw.ellipse([ex - eye_r * 0.7, eye_y - eye_r * 0.7, ex + eye_r * 0.7, eye_y + eye_r * 0.7], fill=(40, 30, 20))
        brow_y = eye_y - eye_r * rng.uniform(1.8, 3.0)
        brow = [ex - eye_r * 2, brow_y + side * rng.uniform(-2, 2), ex + eye_r * 2, brow_y]
        draw.line(brow, fill=(60, 40, 30), width=2)
    nose = [cx, eye_y + eye_r, cx + rng.uniform(-2, 2), cy + half_h * 0.25]
    draw.line(nose, fill=tuple(v - 40 for v in skin), width=2)
    mouth_y, mouth_w, smile = cy + half_h * 0.5, half_w * rng.uniform(0.35, 0.6), rng.uniform(-1, 1)
    box = [cx - mouth_w, mouth_y - half_h * 0.15, cx + mouth_w, mouth_y + half_h * 0.15]
    draw.arc(box, 0 if smile > 0 else 180, 180 if smile > 0 else 360, fill=(150, 40, 50), width=max(1, size // 24))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    pixels = np.asarray(image, dtype=np.float32) + rng.normal(0, 4, (size, size, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _scene(rng: np.random.Generator, size: int) -> np.ndarray:
    """A larger picture: gradient background, a few shapes and one or two faces at different scales."""
    canvas = Image.fromarray(
        np.clip(
            np.add.outer(np.linspace(30, 200, size), np.linspace(0, 50, size))[..., None] * [1, 0.9, 0.8], 0, 255
        ).astype(np.uint8)
    )
    draw = ImageDraw.Draw(canvas)
    for _ in range(rng.integers(2, 6)):
        (left, top), width = rng.uniform(0, size, 2), rng.uniform(20, size / 3)
        color = tuple(int(v) for v in rng.uniform(0, 255, 3))
        shape = [left, top, left + width, top + width * rng.uniform(0.5, 1.5)]
        (draw.rectangle if rng.random() < 0.5 else draw.ellipse)(shape, fill=color)
    for _ in range(rng.integers(1, 3)):
        side = int(rng.uniform(size * 0.25, size * 0.6))
        canvas.paste(_face(rng, side), tuple(int(v) for v in rng.uniform(0, size - side, 2)))
    return np.asarray(canvas, dtype=np.float32)


def _faces(count: int, seed: int, size: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([np.asarray(_face(rng, size), dtype=np.float32) for _ in range(count)])


def fer_inputs(count: int, seed: int) -> dict[str, np.ndarray]:
    """fer: 64x64 grayscale, scaled to [-1, 1] (fer's preprocess_input with v2=True)."""
    gray = _faces(count, seed, 64) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return {"input_1": (gray[..., None] / 255.0 - 0.5) * 2.0}


def mtcnn_onet_inputs(count: int, seed: int) -> dict[str, np.ndarray]:
    """mtcnn (Keras) ONet: 48x48 RGB NHWC, (x - 127.5) / 128 as mtcnn's stage code does."""
    return {"image": (_faces(count, seed, 48) - 127.5) * 0.0078125}


def facenet_onet_inputs(count: int, seed: int) -> dict[str, np.ndarray]:
    """facenet-pytorch ONet: the same crops, NCHW."""
    return {"image": np.ascontiguousarray(mtcnn_onet_inputs(count, seed)["image"].transpose(0, 3, 1, 2))}


def nudenet_inputs(count: int, seed: int) -> dict[str, np.ndarray]:
    """nudenet 320n: 320x320 RGB scenes in [0, 1], NCHW (its own preprocessing: letterbox, /255)."""
    rng = np.random.default_rng(seed)
    scenes = np.stack([_scene(rng, 320) for _ in range(count)]) / 255.0
    return {"images": np.ascontiguousarray(scenes.transpose(0, 3, 1, 2), dtype=np.float32)}


# ---- audio -------------------------------------------------------------------------------------------------------

VOWEL_FORMANTS = ((730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480), (570, 840, 2410))


def _speech(rng: np.random.Generator, seconds: float, rate: int) -> np.ndarray:
    """Voiced speech: glottal pulses at a gliding pitch with vibrato, vowel formants, syllables, pauses, noise."""
    length = int(seconds * rate)
    t = np.arange(length) / rate
    f0 = (
        rng.uniform(90, 240)
        * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.3, 1.5) * t))
        * (1 + 0.03 * np.sin(2 * np.pi * 5.5 * t))
    )
    phase = np.cumsum(f0 / rate)
    pulses = np.diff(np.floor(phase), prepend=0.0) * 1.0
    source = signal.lfilter([1.0], [1.0, -0.95], pulses)  # glottal roll-off
    out = np.zeros(length)
    syllable = int(rng.uniform(0.12, 0.25) * rate)
    for start in range(0, length, syllable):
        chunk = slice(start, min(length, start + syllable))
        voiced = source[chunk]
        for formant, bandwidth in zip(VOWEL_FORMANTS[rng.integers(len(VOWEL_FORMANTS))], (80, 100, 120), strict=True):
            radius = np.exp(-np.pi * bandwidth / rate)
            theta = 2 * np.pi * min(formant, rate * 0.45) / rate
            voiced = signal.lfilter([1 - radius], [1, -2 * radius * np.cos(theta), radius**2], voiced)
        envelope = np.sin(np.linspace(0, np.pi, len(voiced))) ** 2 * (rng.random() > 0.2)
        out[chunk] = voiced * envelope
    out += rng.normal(0, 0.003, length)
    return (out / (np.abs(out).max() + 1e-9) * rng.uniform(0.3, 0.9)).astype(np.float32)


def _clips(count: int, seed: int, samples: int, rate: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([_speech(rng, samples / rate + 0.01, rate)[:samples] for _ in range(count)])


def crepe_inputs(count: int, seed: int) -> dict[str, np.ndarray]:
    """torchcrepe: 1024-sample frames at 16 kHz, each normalized to zero mean, unit std (as torchcrepe.preprocess)."""
    frames = _clips(count, seed, 1024, 16000)
    frames = frames - frames.mean(axis=1, keepdims=True)
    return {"audio": (frames / np.maximum(frames.std(axis=1, keepdims=True), 1e-10)).astype(np.float32)}


def _mel_filterbank(rate: int, n_fft: int, bands: int) -> np.ndarray:
    hz_to_mel = lambda hz: 2595 * np.log10(1 + hz / 700)  # noqa: E731 - a formula, named
    mel_to_hz = lambda mel: 700 * (10 ** (mel / 2595) - 1)  # noqa: E731
    edges = mel_to_hz(np.linspace(0, hz_to_mel(rate / 2), bands + 2))
    bins = np.fft.rfftfreq(n_fft, 1 / rate)
    rising = (bins[None] - edges[:-2, None]) / (edges[1:-1, None] - edges[:-2, None])
    falling = (edges[2:, None] - bins[None]) / (edges[2:, None] - edges[1:-1, None])
    weights = np.maximum(0, np.minimum(rising, falling))
    return weights * (2.0 / (edges[2:] - edges[:-2]))[:, None]  # Slaney area normalization, as librosa's default


def resemblyzer_inputs(count: int, seed: int) -> dict[str, np.ndarray]:
    """Resemblyzer: 160 frames x 40 mel bands (25 ms windows, 10 ms hop, power spectrum) of 1.6 s speech."""
    rate, n_fft, hop = 16000, 400, 160
    clips = _clips(count, seed, 160 * hop + n_fft, rate)
    window = np.hanning(n_fft + 1)[:-1]
    frames = np.lib.stride_tricks.sliding_window_view(clips, n_fft, axis=1)[:, ::hop][:, :160] * window
    power = np.abs(np.fft.rfft(frames, axis=-1)) ** 2
    return {"mels": (power @ _mel_filterbank(rate, n_fft, 40).T).astype(np.float32)}


def silero_inputs(count: int, seed: int) -> dict[str, np.ndarray]:
    """silero-vad ONNX: a 512-sample chunk at 16 kHz, its recurrent state and the rate. The model batches the
    state on axis 1 (2, batch, 128), so each sample holds it in that full shape (2, 1, 128): half start a stream
    (zeros), half carry a state. The rate is a 0-d array: edgex takes it as a constant input and folds it in."""
    rng = np.random.default_rng(seed + 100)
    state = np.tanh(rng.normal(0, 0.5, (count, 2, 1, 128))).astype(np.float32)
    state[: count // 2] = 0.0
    return {"input": _clips(count, seed, 512, 16000), "state": state, "sr": np.array(16000, dtype=np.int64)}


def silero_ts_inputs(count: int, seed: int) -> dict[str, np.ndarray]:
    """silero-vad TorchScript: forward(x, sr) with x a 512-sample chunk; sr, a Python int, as a 0-d constant."""
    return {"x": _clips(count, seed, 512, 16000), "sr": np.array(16000, dtype=np.int64)}


def silero_wrapped_inputs(count: int, seed: int) -> dict[str, np.ndarray]:
    """silero-vad wrapped as an nn.Module taking only the chunk (the rate fixed inside the wrapper)."""
    return {"x": _clips(count, seed, 512, 16000)}


def basic_pitch_inputs(count: int, seed: int) -> dict[str, np.ndarray]:
    """basic-pitch ONNX: 43844 samples (2 s at 22.05 kHz) as (batch, samples, 1), its own CQT front-end inside."""
    return {"serving_default_input_2:0": _clips(count, seed, 43844, 22050)[..., None]}


def basic_pitch_savedmodel_inputs(count: int, seed: int) -> dict[str, np.ndarray]:
    """basic-pitch SavedModel: the same audio under its serving signature's input name."""
    return {"input_2": basic_pitch_inputs(count, seed)["serving_default_input_2:0"]}


OWW_MODELS = "openwakeword/openwakeword/resources/models"


def _oww_session(name: str) -> Any:
    """openwakeword's own preprocessing models, run as the package runs them (onnxruntime), to make the inputs of
    the next stage."""
    import onnxruntime

    from benchmarks.zoo_factories._cache import cached

    return onnxruntime.InferenceSession(str(cached(f"{OWW_MODELS}/{name}.onnx")), providers=["CPUExecutionProvider"])


def oww_melspec_inputs(count: int, seed: int) -> dict[str, np.ndarray]:
    """openwakeword melspectrogram: 1 s of 16 kHz speech as int16-range float samples (the package's PCM input)."""
    return {"input": (_clips(count, seed, 16000, 16000) * 32767).astype(np.float32)}


def _oww_mels(count: int, seed: int, frames: int) -> np.ndarray:
    """Log-mel frames (count, frames, 32) as openwakeword computes them: its melspectrogram model, then x/10 + 2."""
    samples = 160 * (frames + 3)  # the model drops 3 frames at the edges
    audio = (_clips(count, seed, samples, 16000) * 32767).astype(np.float32)
    mels = _oww_session("melspectrogram").run(None, {"input": audio})[0][:, 0, :frames]
    return (mels / 10 + 2).astype(np.float32)


def oww_embedding_inputs(count: int, seed: int) -> dict[str, np.ndarray]:
    """openwakeword speech embedding (Google's speech_embedding): windows of 76 log-mel frames x 32 bands."""
    return {"input_1": _oww_mels(count, seed, 76)[..., None]}


def oww_wakeword_inputs(count: int, seed: int) -> dict[str, np.ndarray]:
    """openwakeword 'hey jarvis' head: 16 consecutive 96-d speech embeddings (76-frame windows, 8-frame step)."""
    mels = _oww_mels(count, seed, 76 + 15 * 8)
    windows = np.stack([mels[:, start : start + 76] for start in range(0, 15 * 8 + 1, 8)], axis=1)
    embed = _oww_session("embedding_model")
    flat = windows.reshape(count * 16, 76, 32, 1)
    embeddings = embed.run(None, {"input_1": flat})[0].reshape(count, 16, 96)
    return {"x.1": embeddings.astype(np.float32)}


MODELS: tuple[ZooModel, ...] = (
    ZooModel("fer-emotion", "keras", "fer/fer/data/emotion_model.hdf5", "fer", fer_inputs, FP32_ROUTES, INT8_ROUTES),
    ZooModel("mtcnn-onet", "keras", "mtcnn/mtcnn_onet.keras", "mtcnn", mtcnn_onet_inputs, FP32_ROUTES, INT8_ROUTES),
    ZooModel(
        "nudenet-320n",
        "onnx",
        "nudenet/nudenet/320n.onnx",
        "nudenet",
        nudenet_inputs,
        ("tflite", "executorch", "pytorch-lite"),
        ONNX_SOURCE_INT8_ROUTES,
        calib_count=16,
        val_count=6,
    ),
    ZooModel(
        "silero-vad-onnx",
        "onnx",
        "silero_vad/silero_vad/data/silero_vad_16k_op15.onnx",
        "silero-vad",
        silero_inputs,
        ("tflite", "executorch", "pytorch-lite"),
    ),
    ZooModel(
        "silero-vad-jit",
        "torchscript",
        "silero_vad/silero_vad/data/silero_vad.pt",
        "silero-vad",
        silero_ts_inputs,
        ("pytorch-lite",),
    ),
    ZooModel(
        "silero-vad-wrapped",
        "torch",
        f"{ZOO_FACTORIES}.silero_vad_wrapped:build",
        "silero-vad",
        silero_wrapped_inputs,
        FP32_ROUTES,
        upstream={
            # torch.export refuses ScriptModules; the ONNX fallback (TorchScript-based export) then meets the
            # ONNX LSTM, which onnx2torch lacks and onnx2tf mis-converts (initial_state).
            "executorch/fp32": "pytorch/pytorch#135302; ENOT-AutoDL/onnx2torch#136",
            "tflite/fp32": "pytorch/pytorch#135302; ENOT-AutoDL/onnx2torch#136; onnx2tf LSTM: none found",
        },
    ),
    ZooModel(
        "basic-pitch",
        "onnx",
        "basic_pitch/basic_pitch/saved_models/icassp_2022/nmp.onnx",
        "basic-pitch",
        basic_pitch_inputs,
        ("tflite", "executorch", "pytorch-lite"),
        calib_count=8,
        val_count=4,
        # onnx2tf mis-transposes the tf2onnx CQT front end (324 vs 309 at cq_t2010v2_1/mul_1, also with
        # keep_shape_absolutely_input_names); litert-torch: tfl.transpose perm rank on onnx2torch's Pad. The
        # SavedModel of the same network (basic-pitch-sm) converts.
        upstream={"tflite/fp32": "none found (see basic-pitch-sm)"},
    ),
    ZooModel(
        "basic-pitch-sm",
        "savedmodel",
        "basic_pitch/basic_pitch/saved_models/icassp_2022/nmp",
        "basic-pitch",
        basic_pitch_savedmodel_inputs,
        FP32_ROUTES,
        calib_count=8,
        val_count=4,
    ),
    ZooModel(
        "resemblyzer",
        "torch",
        f"{ZOO_FACTORIES}.resemblyzer_encoder:build",
        "Resemblyzer",
        resemblyzer_inputs,
        FP32_ROUTES,
        INT8_ROUTES,
    ),
    ZooModel(
        "crepe-tiny", "torch", f"{ZOO_FACTORIES}.crepe_tiny:build", "torchcrepe", crepe_inputs, FP32_ROUTES, INT8_ROUTES
    ),
    ZooModel(
        "facenet-onet",
        "torch",
        f"{ZOO_FACTORIES}.facenet_onet:build",
        "facenet-pytorch",
        facenet_onet_inputs,
        FP32_ROUTES,
        INT8_ROUTES,
    ),
    ZooModel(
        "oww-melspec",
        "onnx",
        f"{OWW_MODELS}/melspectrogram.onnx",
        "openwakeword",
        oww_melspec_inputs,
        ("tflite", "executorch", "pytorch-lite"),
    ),
    ZooModel(
        "oww-embedding",
        "onnx",
        f"{OWW_MODELS}/embedding_model.onnx",
        "openwakeword",
        oww_embedding_inputs,
        ("tflite", "executorch", "pytorch-lite"),
        ONNX_SOURCE_INT8_ROUTES,
    ),
    ZooModel(
        "oww-hey-jarvis",
        "onnx",
        f"{OWW_MODELS}/hey_jarvis_v0.1.onnx",
        "openwakeword",
        oww_wakeword_inputs,
        ("tflite", "executorch", "pytorch-lite"),
    ),
)
