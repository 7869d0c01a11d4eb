"""Writing a trained model into the package, or checking that the shipped one is a rebuild."""

from __future__ import annotations

import json
from pathlib import Path


def write_or_check(model: object, out: Path, check: bool, label: str) -> int:
    """Serialise ``model`` deterministically; with ``check``, compare with the file instead of
    writing it (exit status 0 when identical).  Both training scripts ship models this way."""
    text = json.dumps(model, separators=(",", ":"), sort_keys=True) + "\n"
    if check:
        same = out.read_text() == text
        print(f"{label} model is up to date" if same else f"{label} model differs from a rebuild")
        return 0 if same else 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"wrote {out} ({len(text) // 1024} KiB)")
    return 0
