"""Write the ONNX demo model, edgex/demo/digits/digits.onnx: the trained PyTorch digits twin exported with
torch.onnx's dynamo exporter (input 'image' [1, 8, 8, 1] NHWC, output 'probs' [1, 10])."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> None:
    import torch

    from edgex.demo.digits_torch import build

    model, examples = build()
    target = ROOT / "edgex" / "demo" / "digits" / "digits.onnx"
    torch.onnx.export(model, examples, dynamo=True, input_names=["image"], output_names=["probs"]).save(str(target))
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
