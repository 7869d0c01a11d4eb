"""clamd latency, reported separately from throughput (``make bench``).

    .venv/bin/python -m bench.antivirus_bench [--rounds 20] [--out bench/results/antivirus.json]

Starts the test suite's private clamd (Debian's ``clamd`` as ``clamav``, the tests' own tiny
signature database: there is no internet here for freshclam) and evaluates the benchmark message
mix with ``[antivirus]`` on and off, over the unix and the TCP socket.  Reported: the time the
scanner adds per message (p50/p95/p99 of on minus off, per message kind), and the time per
scan as clamd answered it.  A production clamd carries ~8 million signatures instead of four:
its per-scan time is larger (load a few hundred MB of database, then typically a few ms per
small part); these figures are the protocol and unpacking cost, not ClamAV's matching cost.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import tomllib
from pathlib import Path
from typing import Any

from aupmilter import antivirus
from aupmilter.config import parse_config, shipped_default_config
from aupmilter.engine import Ruleset, evaluate
from aupmilter.message import MessageView
from aupmilter.model import Envelope
from aupmilter.ruleset import build_ruleset
from bench.corpus import build as build_corpus

REPO = Path(__file__).resolve().parents[1]


def _ruleset(address: str | None) -> Ruleset:
    data = tomllib.loads(shipped_default_config().read_text())
    data["antivirus"] = {"enabled": address is not None, "socket": address or "unix:/nonexistent"}
    return build_ruleset(parse_config(data, "bench.toml"))


def _q(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 2)

    return {"p50": at(0.5), "p95": at(0.95), "p99": at(0.99), "mean": round(statistics.mean(values) * 1000, 2)}


def run(rounds: int) -> dict[str, Any]:
    from tests.harness.clamd import PrivateClamd

    corpus = build_corpus(REPO / "var" / "bench" / "corpus")
    raws = {name: path.read_bytes() for name, (path, _) in corpus.items()}
    env = Envelope("x@outside.test", ("t@oakfield.example",), client_addr="198.51.100.1")
    clamd = PrivateClamd(stream_max_length="30M")
    clamd.start()
    try:
        results: dict[str, Any] = {"rounds": rounds, "per_message_added_ms": {}, "per_scan_ms": {}}
        off = _ruleset(None)
        for label, address in (("unix", clamd.unix_address), ("inet", clamd.inet_address)):
            on = _ruleset(address)
            added: dict[str, list[float]] = {}
            scans: list[float] = []
            for name, raw in raws.items():
                for _ in range(rounds):
                    t0 = time.perf_counter()
                    evaluate(env, MessageView(raw), off)
                    t1 = time.perf_counter()
                    with antivirus.collect() as observed:
                        evaluate(env, MessageView(raw), on)
                    t2 = time.perf_counter()
                    added.setdefault(name, []).append((t2 - t1) - (t1 - t0))
                    scans.extend(o.seconds for o in observed if o.result in ("clean", "infected"))
            results["per_message_added_ms"][label] = {name: _q(v) for name, v in added.items()}
            results["per_scan_ms"][label] = _q(scans)
        return results
    finally:
        clamd.stop()
        clamd.cleanup()


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "## Antivirus (clamd) latency, reported separately",
        "",
        f"{results['rounds']} rounds per message kind; the test suite's clamd (4 test signatures).",
        "",
        "| socket | per scan p50/p95/p99 ms |",
        "|---|---|",
    ]
    for label, q in results["per_scan_ms"].items():
        lines.append(f"| {label} | {q.get('p50')}/{q.get('p95')}/{q.get('p99')} |")
    lines += ["", "| message | added p50/p95/p99 ms (unix) | added p50/p95/p99 ms (inet) |", "|---|---|---|"]
    unix, inet = results["per_message_added_ms"]["unix"], results["per_message_added_ms"]["inet"]
    for name in unix:
        u, i = unix[name], inet[name]
        lines.append(f"| {name} | {u['p50']}/{u['p95']}/{u['p99']} | {i['p50']}/{i['p95']}/{i['p99']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "antivirus.json")
    args = parser.parse_args()
    results = run(args.rounds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    args.out.with_suffix(".md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
