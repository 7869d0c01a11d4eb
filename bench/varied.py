"""CPU per message on mail the engine has not seen, each message once: the memo-free view.

The end-to-end benchmark sends the same few messages thousands of times, so every per-word memo
in the checks is warm after the first copy; real mail brings words a worker has not read yet.
This runs the engine in-process (outbound, disclaimer + DKIM, all checks), each message exactly
once after warming up on a disjoint tenth, over two sets, and reports CPU time per message:

* ``fixtures``: every ``.eml`` under tests/fixtures (720 short messages, median 0.5 KB);
* ``letters``: 300 distinct ~6 KB letters, each a seeded draw of lines from the clean school
  letters under tests/fixtures/text, the chain-letter fixture texts and, when ../shared is
  present, the OLID training tweets (not the reserved test set): every letter is new text.

Run it on two checkouts to compare:

    python -m bench.varied                         # this checkout
    PYTHONPATH=/other/checkout/src python -m bench.varied --rules /other/checkout/rules
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.inprocess import as_received, envelopes, signing_ruleset  # noqa: E402

OLID_TRAIN = REPO.parent / "shared" / "data" / "offensive-dev" / "olid-training-v1.0.tsv"


def _lines() -> list[str]:
    lines: list[str] = []
    for path in sorted((REPO / "tests" / "fixtures" / "text").rglob("*.txt")):
        lines += [x.strip() for x in path.read_text(encoding="utf-8").splitlines() if len(x.strip()) > 20]
    for path in sorted((REPO / "tests" / "fixtures" / "chain").glob("*.txt")):
        lines += [x.strip() for x in path.read_text(encoding="utf-8").splitlines() if len(x.strip()) > 20]
    if OLID_TRAIN.exists():
        rows = OLID_TRAIN.read_text(encoding="utf-8").splitlines()[1:]
        lines += [row.split("\t")[1] for row in rows if row.count("\t") >= 2]
    return lines


def _letters(count: int, size: int = 6000) -> list[bytes]:
    from email.message import EmailMessage

    pool = _lines()
    rng = random.Random(24)
    out = []
    for n in range(count):
        body: list[str] = []
        while sum(len(x) + 1 for x in body) < size:
            body.append(rng.choice(pool))
        msg = EmailMessage()
        msg["From"] = "Ms J. Hartley <teacher@oakfield.example>"
        msg["To"] = "parent@home.test"
        msg["Subject"] = f"Letter {n}"
        msg["Date"] = "Wed, 02 Dec 2026 15:30:00 +0000"
        msg.set_content("\n".join(body))
        out.append(as_received(msg.as_bytes()))
    return out


def _measure(messages: list[bytes], evaluate_one: Callable[[bytes], None]) -> dict[str, float]:
    """As a worker process runs: the garbage collector settled after start-up and every
    ``FREEZE_EVERY`` messages (between messages, so not inside any one's time)."""
    try:
        from aupmilter.workers import FREEZE_EVERY, settle_garbage
    except ImportError:  # a checkout from before workers settled their garbage
        FREEZE_EVERY, settle_garbage = 10**9, lambda: None
    warm = messages[::10]
    measured = [m for i, m in enumerate(messages) if i % 10]
    for raw in warm:
        evaluate_one(raw)
    settle_garbage()
    times: list[float] = []
    for n, raw in enumerate(measured, 1):
        started = time.process_time()
        evaluate_one(raw)
        times.append(time.process_time() - started)
        if n % FREEZE_EVERY == 0:
            settle_garbage()
    ms = sorted(t * 1000 for t in times)
    return {
        "messages": len(ms),
        "mean_ms": round(statistics.fmean(ms), 2),
        "p50_ms": round(ms[len(ms) // 2], 2),
        "p95_ms": round(ms[int(len(ms) * 0.95)], 2),
        "p99_ms": round(ms[int(len(ms) * 0.99)], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", type=Path, default=None, help="rules directory (default: the package's)")
    args = parser.parse_args()

    from aupmilter.engine import evaluate
    from aupmilter.message import MessageView

    fixtures = [as_received(p.read_bytes()) for p in sorted((REPO / "tests" / "fixtures").rglob("*.eml"))]
    letters = _letters(330)
    with tempfile.TemporaryDirectory() as tmp:
        ruleset = signing_ruleset(Path(tmp), "bench-varied.toml", args.rules)
        envelope = envelopes()["out"]

        def evaluate_one(raw: bytes) -> None:
            evaluate(envelope, MessageView(raw), ruleset)

        result = {"fixtures": _measure(fixtures, evaluate_one), "letters": _measure(letters, evaluate_one)}
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
