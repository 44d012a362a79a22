"""Writing benchmarks/RESULTS.md: Markdown tables, and sections each script replaces in place."""

from __future__ import annotations

import re
from pathlib import Path


def markdown_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """The lines of a Markdown table: header, separator, one line per row."""
    line = "| {} |".format
    return [line(" | ".join(headers)), "|" + "---|" * len(headers), *(line(" | ".join(row)) for row in rows)]


def replace_section(results: Path, start: str, end: str, text: str) -> None:
    """Put `text` (which begins with `start` and ends with `end`) in place of that section, or append it."""
    current = results.read_text() if results.exists() else ""
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    updated = pattern.sub(lambda _: text, current) if pattern.search(current) else current.rstrip() + "\n\n" + text
    results.write_text(updated.rstrip() + "\n")
