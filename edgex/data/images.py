"""Image folders as model inputs: resize to the input size, normalise, lay out as NHWC or NCHW.

A folder of class subfolders (ImageNet style) also yields labels: class ids in sorted subfolder order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgex.data.inputs import InputSet
from edgex.data.stream import DataStream
from edgex.errors import UsageError
from edgex.specs import ModelSignature, TensorSpec

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif")
CHANNEL_COUNTS = (1, 3, 4)


@dataclass(frozen=True)
class ImagePreprocess:
    """x = (pixel * scale - mean) / std, per channel when mean/std have one value per channel; colour images
    in `channel_order` (models trained on OpenCV's BGR want 'bgr')."""

    scale: float = 1.0 / 255.0
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)
    channel_order: str = "rgb"

    def apply(self, pixels: np.ndarray) -> np.ndarray:
        """In place on float32 pixels, a pass per step; a zero mean and a unit std are skipped (exact either way)."""
        channels = pixels.shape[-1]
        if self.channel_order == "bgr" and channels >= 3:
            pixels = np.concatenate([pixels[..., 2::-1], pixels[..., 3:]], axis=-1)
        for name, values in (("mean", self.mean), ("std", self.std)):
            if len(values) not in (1, channels):
                raise UsageError(f"--{name} has {len(values)} values for {channels}-channel images")
        pixels *= np.float32(self.scale)
        if any(value != 0 for value in self.mean):
            pixels -= np.asarray(self.mean, dtype=np.float32)
        if any(value != 1 for value in self.std):
            pixels /= np.asarray(self.std, dtype=np.float32)
        return pixels


@dataclass(frozen=True)
class ImageLayout:
    channels_first: bool
    height: int
    width: int
    channels: int


def image_layout(spec: TensorSpec) -> ImageLayout:
    """NHWC when the last dim is 1/3/4 channels, NCHW when the second is; sizes must be static."""
    shape = spec.shape
    if len(shape) != 4:
        raise UsageError(f"input '{spec.name}' has rank {len(shape)}; image folders need a 4-D image input")
    if shape[3] in CHANNEL_COUNTS:
        channels_first, height, width, channels = False, shape[1], shape[2], shape[3]
    elif shape[1] in CHANNEL_COUNTS:
        channels_first, height, width, channels = True, shape[2], shape[3], shape[1]
    else:
        raise UsageError(f"input '{spec.name}' {spec.shape}: cannot tell the channel axis (1, 3 or 4 channels)")
    if height is None or width is None or channels is None:
        raise UsageError(f"input '{spec.name}' has a dynamic image size; export it with a fixed input size")
    return ImageLayout(channels_first, height, width, channels)


def load_image_folder(folder: Path, signature: ModelSignature, preprocess: ImagePreprocess, purpose: str) -> InputSet:
    return ImageFolderStream(folder, signature, preprocess, purpose).materialize()


class ImageFolderStream(DataStream):
    """Images decoded, resized and normalised a batch at a time; class subfolders give labels."""

    def __init__(self, folder: Path, signature: ModelSignature, preprocess: ImagePreprocess, purpose: str) -> None:
        if len(signature.inputs) != 1:
            raise UsageError(
                f"{purpose} data {folder}: an image folder feeds one input, the model has {len(signature.inputs)}",
                hint="use an .npz with one array per input",
            )
        self.spec = signature.inputs[0]
        self.layout = image_layout(self.spec)
        self.files, labels, classes = _list_images(folder)
        if not self.files:
            raise UsageError(f"{purpose} data {folder}: no images ({', '.join(IMAGE_SUFFIXES)}) found")
        notes = [f"{len(classes)} classes from subfolders: {', '.join(classes[:10])}"] if classes else []
        super().__init__(len(self.files), str(folder), signature, labels, notes)
        self.preprocess = preprocess
        self.where = f"{purpose} data {folder}"

    def _where(self) -> str:
        return self.where

    def _read(self, positions: np.ndarray) -> dict[str, np.ndarray]:
        layout = self.layout
        batch = np.empty((len(positions), layout.height, layout.width, layout.channels), dtype=np.float32)
        for row, index in enumerate(positions):
            batch[row] = _read_image(self.files[int(index)], layout)  # 8-bit pixels become float32 here
        self.preprocess.apply(batch)
        return {self.spec.name: batch.transpose(0, 3, 1, 2) if self.layout.channels_first else batch}


def _list_images(folder: Path) -> tuple[list[Path], np.ndarray | None, list[str]]:
    top = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if top:
        return top, None, []
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    files: list[Path] = []
    labels: list[int] = []
    for class_id, name in enumerate(classes):
        images = sorted(p for p in (folder / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        files.extend(images)
        labels.extend([class_id] * len(images))
    return files, (np.asarray(labels, dtype=np.int64) if files else None), classes


def _read_image(path: Path, layout: ImageLayout) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            mode = {1: "L", 3: "RGB", 4: "RGBA"}[layout.channels]
            converted = image.convert(mode).resize((layout.width, layout.height), Image.Resampling.BILINEAR)
            pixels = np.asarray(converted)
    except (UnidentifiedImageError, OSError) as exc:
        raise UsageError(f"image {path}: unreadable ({exc})") from None
    return pixels[..., None] if pixels.ndim == 2 else pixels
