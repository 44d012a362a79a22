"""The PT2E quantization pass shared by every PyTorch backend (ExecuTorch XNNPACK, litert-torch): runs in workers.

Each backend brings its own quantizer; the recipe's PT2ESpec says how to configure it; this module prepares the
captured graph, feeds it the calibration samples (or one pass for dynamic recipes) and converts it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from edgex.errors import UsageError
from edgex.exporters import align_calibration
from edgex.quantize.recipes import Recipe
from edgex.workers import report_progress


def quantize_pt2e(
    captured: Any,
    quantizer: Any,
    recipe: Recipe,
    examples: tuple[Any, ...],
    calibration: dict[str, np.ndarray] | None,
    input_names: list[str],
    *,
    prepare_sample: Callable[[Any], Any] = lambda tensor: tensor,
    fold_quantize: bool = True,
) -> Any:
    """Prepare `captured` (a torch.export'ed GraphModule) with `quantizer`, calibrate, and convert it."""
    import torch
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    if recipe.pt2e is None:
        raise UsageError(f"--quantize {recipe.name} is not a PT2E recipe")
    prepared = prepare_pt2e(captured, quantizer)
    with torch.no_grad():
        if recipe.pt2e.dynamic:
            prepared(*examples)  # observers of dynamic quantization need one pass, no statistics
        else:
            aligned = align_calibration(calibration, input_names)
            if not aligned:
                raise UsageError(f"--quantize {recipe.name} needs calibration data", hint="pass --calib")
            count = len(next(iter(aligned.values())))
            for index in range(count):
                sample = [
                    prepare_sample(torch.from_numpy(aligned[name][index : index + 1]).to(example.dtype))
                    for name, example in zip(input_names, examples, strict=True)
                ]
                prepared(*sample)
                report_progress(index + 1, count)
    return convert_pt2e(prepared, fold_quantize=fold_quantize)
