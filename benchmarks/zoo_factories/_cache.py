"""Where the fetched zoo lives: the factories load their weights from it (see benchmarks/zoo_fetch.py)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_CACHE = Path(__file__).resolve().parents[1] / ".zoo-cache"


def cached(relative: str) -> Path:
    """A fetched file, or a clear error naming the fetch command."""
    path = Path(os.environ.get("EDGEX_ZOO_CACHE") or DEFAULT_CACHE) / relative
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `python benchmarks/zoo_fetch.py` first")
    return path
