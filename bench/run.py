"""``make bench``: throughput, latency, engine cost, memory and scaling, as ratios from ONE run.

    python -m bench.run [--smoke]        # --smoke: tiny counts, no thresholds (runs in make test)

Writes bench/results/<date>.json and .md.  Figures on these shared machines drift between runs;
compare the ratios measured side by side in one run, not absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.harness.gateway import Gateway  # noqa: E402

from bench.corpus import build as build_corpus  # noqa: E402

BENCH_CONFIG = """
[organisation]
name = "Bench Trust"
internal_networks = ["127.0.0.0/8"]

[milter]
time_budget_seconds = 20.0

[[schools]]
domain = "oakfield.example"
name = "Oakfield Primary School"
"""


def _gateway(
    socket_kind: str = "unix", with_milter: bool = True, prefix: tuple[str, ...] = (), nagle: bool = False
) -> Gateway:
    root = Path(tempfile.mkdtemp(prefix="aupbench-", dir="/tmp"))
    root.chmod(0o755)
    config = BENCH_CONFIG.replace("[milter]\n", "[milter]\ntcp_nodelay = false\n") if nagle else BENCH_CONFIG
    gw = Gateway(root, config, socket_kind, "store", with_milter=with_milter, fast_sink=True, milter_prefix=prefix)
    gw.start()
    return gw


def _drive(gw: Gateway, corpus: dict[str, tuple[Path, int]], scale: int, sessions: int) -> tuple[int, float]:
    """smtp-source over the mix; returns (messages, seconds)."""
    total = 0
    started = time.perf_counter()
    for _name, (path, weight) in corpus.items():
        count = max(1, weight * scale)
        # Not check=True: blocked messages in the mix (offensive, chain letter) make smtp-source
        # report their 550s and exit 1, which is the expected outcome, not a harness failure.
        subprocess.run(
            [
                "/usr/sbin/smtp-source",
                "-s",
                str(sessions),
                "-m",
                str(count),
                "-F",
                str(path),
                "-f",
                "teacher@oakfield.example",
                "-t",
                "parent@home.test",
                f"127.0.0.1:{gw.smtp_port}",
            ],
            capture_output=True,
            timeout=900,
        )
        total += count
    return total, time.perf_counter() - started


def _histogram_quantiles(gw: Gateway, name: str = "aupmilter_processing_seconds") -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{gw.metrics_port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    buckets = []
    for line in text.splitlines():
        if line.startswith(f"{name}_bucket"):
            le = line.split('le="')[1].split('"')[0]
            buckets.append((float("inf") if le == "+Inf" else float(le), float(line.rsplit(" ", 1)[1])))
    total = buckets[-1][1] if buckets else 0
    out = {}
    for q in (0.5, 0.95, 0.99):
        target = q * total
        out[f"p{int(q * 100)}"] = next((le for le, c in buckets if c >= target), float("nan"))
    return out


def e2e(corpus: dict[str, tuple[Path, int]], scale: int, sessions: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    setups = [
        ("postfix_only", {"with_milter": False}),
        ("aupmilter_unix", {}),
        ("aupmilter_inet", {"socket_kind": "inet"}),
        ("aupmilter_inet_nagle", {"socket_kind": "inet", "nagle": True}),
        ("aupmilter_unix_one_core", {"prefix": ("taskset", "-c", "0")}),
    ]
    for name, kwargs in setups:
        gw = _gateway(**kwargs)  # type: ignore[arg-type]
        try:
            _drive(gw, {"plain_3k": corpus["plain_3k"]}, 1, 2)  # warm-up
            n, secs = _drive(gw, corpus, scale, sessions)
            results[name] = {"messages": n, "seconds": round(secs, 2), "msgs_per_s": round(n / secs, 1)}
            if gw.with_milter:
                results[name]["milter_latency_s"] = _histogram_quantiles(gw)
        finally:
            gw.stop()
            gw.cleanup()
    base = results["postfix_only"]["msgs_per_s"]
    for name in results:
        results[name]["ratio_vs_postfix"] = round(results[name]["msgs_per_s"] / base, 3)
    results["inet_over_unix"] = round(
        results["aupmilter_inet"]["msgs_per_s"] / results["aupmilter_unix"]["msgs_per_s"], 3
    )
    results["inet_without_nodelay_over_unix"] = round(
        results["aupmilter_inet_nagle"]["msgs_per_s"] / results["aupmilter_unix"]["msgs_per_s"], 3
    )
    results["two_cores_over_one"] = round(
        results["aupmilter_unix"]["msgs_per_s"] / results["aupmilter_unix_one_core"]["msgs_per_s"], 3
    )
    return results


def engine(corpus: dict[str, tuple[Path, int]], rounds: int) -> dict[str, Any]:
    import cProfile
    import io
    import pstats

    from aupmilter.config import load_config
    from aupmilter.engine import build_ruleset, evaluate
    from aupmilter.message import MessageView
    from aupmilter.model import Envelope

    ruleset = build_ruleset(load_config(None))
    env = Envelope("teacher@oakfield.example", ("parent@home.test",), auth_user="t")
    per_check: dict[str, float] = {}
    out: dict[str, Any] = {"per_message": {}}
    raws = {name: path.read_bytes() for name, (path, _) in corpus.items()}
    profiler = cProfile.Profile()
    total_bytes = total_msgs = 0
    started = time.perf_counter()
    for name, raw in raws.items():
        t0 = time.perf_counter()
        for _ in range(rounds):
            profiler.enable()
            evaluate(
                env, MessageView(raw), ruleset, timer=lambda c, s: per_check.__setitem__(c, per_check.get(c, 0.0) + s)
            )
            profiler.disable()
        out["per_message"][name] = {"bytes": len(raw), "ms": round((time.perf_counter() - t0) / rounds * 1000, 2)}
        total_bytes += len(raw) * rounds
        total_msgs += rounds
    elapsed = time.perf_counter() - started
    out["msgs_per_s"] = round(total_msgs / elapsed, 1)
    out["mb_per_s"] = round(total_bytes / elapsed / 1e6, 2)
    out["check_share"] = {
        k: round(v / sum(per_check.values()), 3) for k, v in sorted(per_check.items(), key=lambda kv: -kv[1])
    }
    buf = io.StringIO()
    pstats.Stats(profiler, stream=buf).sort_stats("tottime").print_stats(8)
    out["profile_top"] = [line.strip() for line in buf.getvalue().splitlines() if "(" in line and ":" in line][:8]
    return out


_MEMORY_PROBE = r"""
import resource, sys, time
from aupmilter.config import load_config
from aupmilter.engine import build_ruleset, evaluate
from aupmilter.message import MessageView
from aupmilter.model import Envelope
from tests import attachment_builders as b
rs = build_ruleset(load_config(None))
env = Envelope("x@outside.test", ("t@oakfield.example",), client_addr="198.51.100.1")
kind, n = sys.argv[1], int(sys.argv[2])
def status(key): return int(open("/proc/self/status").read().split(key + ":")[1].split()[0]) // 1024
def rss(): return status("VmRSS")
base = status("VmHWM")  # peak since exec (ru_maxrss would include the parent's, inherited at fork)
# Inputs are built by the parent and read from a file: building a 25 MB message with the stdlib
# peaks far above what evaluating it costs, which would hide the figure we want.
raw = open(sys.argv[3], "rb").read()
before = status("VmHWM")
marks = {}
t = time.perf_counter()
for i in range(n):
    evaluate(env, MessageView(raw), rs)
    if kind == "steady" and (i + 1) in (n // 10, n):
        marks[i + 1] = rss()
peak = status("VmHWM")
print({"baseline_mb": base, "input_ready_mb": before, "peak_mb": peak, "added_by_evaluate_mb": peak - before,
       "seconds": round(time.perf_counter() - t, 2), "rss_marks_mb": marks})
"""


def _memory_inputs(work: Path) -> dict[str, Path]:
    from tests import attachment_builders as b

    work.mkdir(parents=True, exist_ok=True)
    builders = {
        "big": lambda: b.message_with([("scan.pdf", b.pdf() + bytes(25 << 20), "application/pdf")]),
        "bomb": lambda: b.message_with(
            [("42.zip", b.zip_bomb(levels=3, fanout=10, leaf_bytes=10 << 20), "application/zip")]
        ),
        "steady": lambda: b.message_with([("minutes.pdf", b.pdf(), "application/pdf")]),
    }
    paths = {}
    for kind, build in builders.items():
        paths[kind] = work / f"memory-{kind}.eml"
        if not paths[kind].exists():
            paths[kind].write_bytes(build())
    return paths


def memory(steady_n: int, work: Path) -> dict[str, Any]:
    out = {}
    inputs = _memory_inputs(work)
    for kind, n in (("big", 1), ("bomb", 1), ("steady", steady_n)):
        result = subprocess.run(
            [sys.executable, "-c", _MEMORY_PROBE, kind, str(n), str(inputs[kind])],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=900,
            env=dict(os.environ, PYTHONPATH=str(REPO)),
        )
        out[kind] = (
            eval(result.stdout.strip().splitlines()[-1]) if result.returncode == 0 else {"error": result.stderr[-500:]}
        )
    return out


def markdown(results: dict[str, Any]) -> str:
    e = results["e2e"]
    lines = [
        f"# aupmilter benchmark {results['date']}",
        "",
        f"machine: {results['machine']}",
        "",
        "## End to end through Postfix (smtp-source -> Postfix -> smtp-sink, message mix)",
        "",
        "| setup | msgs | s | msgs/s | ratio vs Postfix alone | milter p50/p95/p99 (s) |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("postfix_only", "aupmilter_unix", "aupmilter_inet", "aupmilter_inet_nagle", "aupmilter_unix_one_core"):
        r = e[name]
        lat = r.get("milter_latency_s")
        lat_s = f"{lat['p50']}/{lat['p95']}/{lat['p99']}" if lat else "-"
        lines.append(
            f"| {name} | {r['messages']} | {r['seconds']} | {r['msgs_per_s']} | {r['ratio_vs_postfix']} | {lat_s} |"
        )
    lines += [
        "",
        f"inet/unix = {e['inet_over_unix']} with TCP_NODELAY, {e['inet_without_nodelay_over_unix']} without; "
        f"two cores (worker processes) / milter pinned to one core = {e['two_cores_over_one']}",
        "",
        "Rspamd peer: not measured in this harness (see the issue note).",
        "",
        "## In-process engine",
        "",
        f"{results['engine']['msgs_per_s']} msgs/s, {results['engine']['mb_per_s']} MB/s over the mix",
        "",
        "| message | bytes | ms |",
        "|---|---|---|",
    ]
    for name, r in results["engine"]["per_message"].items():
        lines.append(f"| {name} | {r['bytes']} | {r['ms']} |")
    lines += [
        "",
        "Share of check time: " + ", ".join(f"{k} {v}" for k, v in results["engine"]["check_share"].items()),
        "",
        "## Memory (separate processes)",
        "",
        "```",
        json.dumps(results["memory"], indent=1),
        "```",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="tiny counts, to keep the harness working")
    args = parser.parse_args()
    scale, sessions, rounds, steady = (1, 2, 1, 200) if args.smoke else (20, 8, 20, 100_000)
    work = REPO / "var" / "bench"
    corpus = build_corpus(work / "corpus")
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {os.uname().release}",
        "smoke": args.smoke,
    }
    results["e2e"] = e2e(corpus, scale, sessions)
    results["engine"] = engine(corpus, rounds)
    results["memory"] = memory(steady, work)
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / (dt.date.today().isoformat() + ("-smoke" if args.smoke else ""))
    stem.with_suffix(".json").write_text(json.dumps(results, indent=2))
    stem.with_suffix(".md").write_text(markdown(results))
    print(markdown(results))
    print(f"peak RSS of this harness: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")


if __name__ == "__main__":
    main()
