"""Train the PyTorch digits demo (edgex/demo/digits_torch.py) on the same split as the Keras demo.

Fixed seeds and deterministic algorithms: re-running gives the same weights on the same machine and stack.
Writes edgex/demo/digits/digits_torch.pt (a state_dict, loadable with torch.load(weights_only=True)).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

SEED = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", type=Path, default=ROOT / "edgex" / "demo" / "digits" / "digits_torch.pt")
    args = parser.parse_args()

    import torch
    from train_digits import load_splits

    from edgex.demo.digits_torch import DigitsNet

    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    splits = load_splits()
    images = torch.from_numpy(splits["train_x"])
    labels = torch.from_numpy(splits["train_y"])
    model = DigitsNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(SEED)
    for _ in range(args.epochs):
        model.train()
        for batch in torch.randperm(len(images), generator=generator).split(32):
            optimizer.zero_grad()
            probabilities = model(images[batch])
            loss = torch.nn.functional.nll_loss(torch.log(probabilities + 1e-9), labels[batch])
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        predictions = model(torch.from_numpy(splits["val_x"])).argmax(dim=1).numpy()
    accuracy = float((predictions == splits["val_y"]).mean())
    torch.save(model.state_dict(), args.out)
    print(f"held-out accuracy {accuracy:.4f} on {len(predictions)} images; wrote {args.out}")


if __name__ == "__main__":
    main()
