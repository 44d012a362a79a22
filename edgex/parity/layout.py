"""Layout differences between a reference and an artifact (NCHW vs NHWC), detected from shapes.

Converters such as onnx2tf and litert-torch (--channels-last-io) move channels last. Parity feeds each side
its own layout and compares in the reference's, so an NHWC artifact is not mistaken for a broken one.
"""

from __future__ import annotations

NCHW_TO_NHWC = (0, 2, 3, 1)
NHWC_TO_NCHW = (0, 3, 1, 2)
_NAMES: dict[tuple[int, ...], str] = {NCHW_TO_NHWC: "NCHW -> NHWC", NHWC_TO_NCHW: "NHWC -> NCHW"}


def layout_permutation(source: tuple[int | None, ...], target: tuple[int | None, ...]) -> tuple[int, ...] | None:
    """The batch-first permutation that turns per-sample `source` dims into `target`, or None if none is needed.

    Shapes are per sample (batch removed); None matches any size. Equal shapes need no permutation, so a
    tensor whose channel count equals its width and height (e.g. 3x3x3) is taken as it is.
    """
    if _matches(source, target) or len(source) != 3 or len(target) != 3:
        return None
    for permutation in (NCHW_TO_NHWC, NHWC_TO_NCHW):
        moved = tuple(source[i - 1] for i in permutation[1:])
        if _matches(moved, target):
            return permutation
    return None


def _matches(left: tuple[int | None, ...], right: tuple[int | None, ...]) -> bool:
    return len(left) == len(right) and all(a is None or b is None or a == b for a, b in zip(left, right, strict=True))


def inverse_permutation(permutation: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(permutation.index(axis) for axis in range(len(permutation)))


def describe_permutation(permutation: tuple[int, ...]) -> str:
    return _NAMES.get(permutation, str(permutation))
