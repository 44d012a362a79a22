"""`edgex build --shard K/N`: one CI job's share of the matrix, the same on every machine.

Cells are ordered by the sha256 of their id and that order is cut into N runs of equal length (sizes differ by at
most one). Why this rule: equal counts balance the shards however many cells there are (a plain `hash % N` can put
3 of 5 cells, or all of them, on one shard), the hash spreads one model's cells over the shards (sorted ids would
keep a heavy model on one machine), and adding or removing a cell moves at most one cell across each of the N - 1
cut points (round-robin over sorted ids would move every cell after the new one), so shard caches stay warm. The
order does not depend on the build file's order, Python's hash seed or the machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

CellT = TypeVar("CellT")


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as CI matrices count
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @classmethod
    def parse(cls, text: str) -> Shard:
        """'K/N' with 1 <= K <= N; ValueError says what is expected."""
        index, slash, count = text.strip().partition("/")
        try:
            shard = cls(int(index), int(count)) if slash else None
        except ValueError:
            shard = None
        if shard is None or not 1 <= shard.index <= shard.count:
            raise ValueError(f"expected K/N with 1 <= K <= N, e.g. 1/2, got {text!r}")
        return shard

    def select(self, cells: Sequence[CellT], ids: Sequence[str]) -> list[CellT]:
        """This shard's cells (`ids[i]` is the id of `cells[i]`), in the order given."""
        order = sorted(range(len(ids)), key=lambda i: (hashlib.sha256(ids[i].encode()).hexdigest(), ids[i]))
        start, stop = (len(ids) * (self.index - 1)) // self.count, (len(ids) * self.index) // self.count
        chosen = set(order[start:stop])
        return [cell for i, cell in enumerate(cells) if i in chosen]
