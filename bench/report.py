"""The tail every quality bench prints: titled lists of the cases it got wrong (for reading the
misses in the Markdown output), then the whole result as JSON for ``bench/results/``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


def finish(results: dict[str, Any], lists: Iterable[tuple[str, Sequence[object]]], out: str | None) -> None:
    """Print each ``(title, items)`` as a Markdown section, then write ``results`` to ``out``."""
    for title, items in lists:
        print(f"\n### {title}: {len(items)}\n")
        for item in items:
            print(f"- {item}")
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(results, indent=2) + "\n")
