"""Bundled demo models: real models trained in this repo, with their calibration and held-out data.

`edgex export demo ...` uses them without any download; their data files are the defaults for --calib,
--validate and --labels when the source is a demo name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class DemoModel:
    name: str
    source: str  # a path or a factory spec
    stem: str  # artifact file stem
    calibration: Path
    validation: Path
    labels: Path
    description: str


DEMOS = {
    "demo": DemoModel(
        name="demo",
        source=str(HERE / "digits" / "digits.keras"),
        stem="digits",
        calibration=HERE / "digits" / "digits_calib.npz",
        validation=HERE / "digits" / "digits_val.npz",
        labels=HERE / "digits" / "digits_val_labels.npy",
        description="Keras CNN trained on scikit-learn digits (8x8x1, 10 classes); sample_apps/models/train_digits.py",
    ),
    "demo-torch": DemoModel(
        name="demo-torch",
        source="edgex.demo.digits_torch:build",
        stem="digits_torch",
        calibration=HERE / "digits" / "digits_calib.npz",
        validation=HERE / "digits" / "digits_val.npz",
        labels=HERE / "digits" / "digits_val_labels.npy",
        description="PyTorch twin of the digits CNN (NHWC input); sample_apps/models/train_digits_torch.py",
    ),
    "demo-onnx": DemoModel(
        name="demo-onnx",
        source=str(HERE / "digits" / "digits.onnx"),
        stem="digits_onnx",
        calibration=HERE / "digits" / "digits_calib.npz",
        validation=HERE / "digits" / "digits_val.npz",
        labels=HERE / "digits" / "digits_val_labels.npy",
        description="the PyTorch digits twin as ONNX; sample_apps/models/export_digits_onnx.py",
    ),
}


def resolve_demo(spec: str) -> DemoModel | None:
    """The demo named `spec`, unless a file of that name exists (a real file always wins)."""
    if spec in DEMOS and not Path(spec).exists():
        return DEMOS[spec]
    return None
