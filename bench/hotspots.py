"""cProfile of the engine on one benchmark message, warm, in process.

    python -m bench.hotspots [--kind letter_6k] [--rounds 200] [--direction out] [--sort cumulative] [--top 60]

``evaluate`` runs on the message (``bench/corpus.py``'s kinds, or ``letter_6k``) 20 times to warm
the per-word memos, then ``rounds`` times under the profiler; outbound signs DKIM with a
throw-away key, like ``bench.percheck``.  Profiling roughly doubles the time of Python code and
not of C code, so read the shares, not the seconds, and confirm a change with ``bench.percheck``
and ``bench.processcpu``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.inprocess import as_received, corpus_with_letters, envelopes, signing_ruleset  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", default="letter_6k")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--direction", choices=("out", "in"), default="out")
    parser.add_argument("--sort", default="cumulative", help="a pstats sort key: cumulative, tottime, ncalls")
    parser.add_argument("--top", type=int, default=60)
    args = parser.parse_args()

    from aupmilter.engine import evaluate
    from aupmilter.message import MessageView

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ruleset = signing_ruleset(work, "bench-hotspots.toml")
        corpus = corpus_with_letters(work)
        if args.kind not in corpus:
            parser.error(f"--kind: one of {', '.join(sorted(corpus))}")
        raw = as_received(corpus[args.kind][0].read_bytes())
        envelope = envelopes()[args.direction]
        for _ in range(20):
            evaluate(envelope, MessageView(raw), ruleset)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.rounds):
            evaluate(envelope, MessageView(raw), ruleset)
        profiler.disable()
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
