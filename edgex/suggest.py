"""'Did you mean' hints for unknown names (targets, modes, signatures, inputs)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """A hint listing the valid names, leading with the closest match when there is one."""
    options = sorted(choices)
    close = difflib.get_close_matches(value, options, n=1, cutoff=0.5)
    listing = ", ".join(options)
    return f"did you mean '{close[0]}'? valid: {listing}" if close else f"valid: {listing}"
