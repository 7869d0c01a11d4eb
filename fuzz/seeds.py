"""Collect fuzz seeds into a corpus directory (CPython's e-mail corpus, the project's own fixtures,
shared dev corpora when present)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import test as cpython_test


def main(out: str) -> None:
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    sources = sorted((Path(cpython_test.__file__).parent / "test_email" / "data").glob("msg_*.txt"))
    # The project's own fixtures: phishing HTML, spreadsheets of identifiers, identity headers...
    own = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
    sources += sorted(p for p in own.rglob("*.eml") if p.stat().st_size < 200_000)
    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mime-dev"
    if shared.is_dir():
        sources += [p for p in shared.rglob("*") if p.is_file() and p.stat().st_size < 200_000]
    for i, src in enumerate(sources):
        shutil.copyfile(src, target / f"seed-{i:04d}")
    generated = _generated()
    for i, raw in enumerate(generated):
        (target / f"gen-{i:04d}").write_bytes(raw)
    print(f"{len(sources) + len(generated)} seeds in {target}")


def _generated() -> list[bytes]:
    """Parser-differential messages and documents carrying macros, packages, DDE (issue 20)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests import attachment_builders as b
    from tests.document_corpus import dangerous
    from tests.test_mime_ambiguity import CASES

    out = list(CASES.values())
    for samples in dangerous().values():
        raw = b.message_with(samples)
        if len(raw) < 200_000:
            out.append(raw)
    return out


if __name__ == "__main__":
    main(sys.argv[1])
