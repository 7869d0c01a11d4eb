"""CPU per message and per check, in-process, over the benchmark corpus and the 6 KB letter.

    python -m bench.percheck [--rounds 10]

Each message of ``bench/corpus.py`` (and the letter) is evaluated ``rounds`` times outbound
(disclaimer + DKIM with a throw-away key) and inbound; the best whole-engine process time is
printed with the checks' mean times, then the corpus-weighted mean.  The same message is
repeated, so per-word memos are warm: ``bench/varied.py`` gives the mail-seen-once view.
Messages are read as the milter hands them to the engine, with CRLF line ends
(:func:`bench.inprocess.as_received`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.inprocess import as_received, corpus_with_letters, envelopes, signing_ruleset  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()

    from aupmilter.engine import evaluate
    from aupmilter.message import MessageView

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ruleset = signing_ruleset(work, "bench-percheck.toml")
        corpus = corpus_with_letters(work)
        for direction, envelope in envelopes().items():
            weighted = weights = 0.0
            for name, (path, weight) in corpus.items():
                raw = as_received(path.read_bytes())
                evaluate(envelope, MessageView(raw), ruleset)  # warm-up
                per_check: dict[str, float] = {}

                def record(check: str, secs: float, into: dict[str, float] = per_check) -> None:
                    into[check] = into.get(check, 0.0) + secs

                best = float("inf")
                for _ in range(args.rounds):
                    started = time.process_time()
                    evaluate(envelope, MessageView(raw), ruleset, timer=record)
                    best = min(best, time.process_time() - started)
                weighted += best * weight
                weights += weight
                top = sorted(per_check.items(), key=lambda kv: -kv[1])[:5]
                checks = " ".join(f"{check}={secs / args.rounds * 1000:.2f}" for check, secs in top)
                print(f"{direction:3} {name:22} {best * 1000:7.2f} ms  {checks}")
            print(f"{direction:3} weighted mean          {weighted / weights * 1000:7.2f} ms")


if __name__ == "__main__":
    main()
