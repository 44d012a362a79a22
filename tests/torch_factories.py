"""PyTorch artifacts for tests, built inside torch worker processes (never in pytest's own process)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainingState:
    """What training scripts often pickle next to the weights; weights_only loading refuses such classes."""

    epochs: int
    best_accuracy: float


def export_pt2(path: str) -> None:
    import torch

    from edgex.demo.digits_torch import build

    model, examples = build()
    torch.export.save(torch.export.export(model, examples), path)


def torchscript_file(path: str) -> None:
    """A traced TorchScript program with no edgex metadata: loading it needs --input-shape."""
    import torch

    from edgex.demo.digits_torch import build

    model, examples = build()
    torch.jit.save(torch.jit.trace(model, examples), path)


def unpicklable_checkpoint(path: str) -> None:
    """A checkpoint holding a Python object (as training scripts often save): weights_only loading refuses it."""
    import torch

    from edgex.demo.digits_torch import build

    model, _ = build()
    torch.save({"state_dict": model.state_dict(), "training": TrainingState(30, 0.989)}, path)


def state_dict_checkpoint(path: str) -> None:
    import torch

    from edgex.demo.digits_torch import build

    torch.save(build()[0].state_dict(), path)

