"""``make bench``: throughput, latency, engine cost, memory and scaling, as ratios from ONE run.

    python -m bench.run [--smoke]        # --smoke: tiny counts, no thresholds (runs in make test)

Writes bench/results/<date>.json and .md.  Figures on these shared machines drift between runs;
compare the ratios measured side by side in one run, not absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.harness.gateway import Gateway, free_port  # noqa: E402

from bench.corpus import build as build_corpus  # noqa: E402
from bench.corpus import letter as build_letter  # noqa: E402
from bench.drive import drive, throughput_mix  # noqa: E402
from bench.rspamd_peer import RspamdPeer  # noqa: E402

BENCH_CONFIG = """
[organisation]
name = "Bench Trust"
internal_networks = ["127.0.0.0/8"]

[milter]
time_budget_seconds = 20.0

[[schools]]
domain = "oakfield.example"
name = "Oakfield Primary School"

# smtp-source sends the same few bodies from one sender hundreds of times, which the mass
# mailing check rightly calls repeats; quarantining them all would measure the quarantine's
# disk, not the milter.  The check still runs and records them; they are only tagged.
[[action]]
match = "mass_mailing.repeated"
min_score = 20
outbound = "tag"
"""


#: The DKIM key every setup signs with (aupmilter and the Rspamd peer alike): made once by
#: :func:`dkim_key`, mode 600, 2048-bit RSA as a school would publish.
DKIM_KEY = REPO / "var" / "bench" / "dkim" / "s1.pem"


def dkim_key() -> Path:
    if not DKIM_KEY.exists():
        DKIM_KEY.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["openssl", "genrsa", "-out", str(DKIM_KEY), "2048"], check=True, capture_output=True)
    DKIM_KEY.chmod(0o600)
    return DKIM_KEY


#: Every shipped check, off: what is left is the adapter, the MIME parse, the worker round trip
#: and DKIM (the row that says what the checks themselves cost).
CHECKS_OFF = "".join(
    f"\n[checks.{name}]\nenabled = false\n"
    for name in (
        "personal", "attachments", "offensive", "chain_letter", "mass_mailing", "phishing", "confidential",
        "identity", "disclaimer",
    )
)  # fmt: skip


def bench_config(nagle: bool = False, workers: int | None = None, dkim: bool = True, checks: bool = True) -> str:
    """The benchmark's configuration: disclaimer on (the default), DKIM signing with
    :data:`DKIM_KEY`, optionally Nagle back on, a fixed number of worker processes or every
    check off."""
    config = BENCH_CONFIG + ("" if checks else CHECKS_OFF)
    extra = ("tcp_nodelay = false\n" if nagle else "") + (f"workers = {workers}\n" if workers is not None else "")
    config = config.replace("[milter]\n", "[milter]\n" + extra)
    if dkim:
        config += f'\n[dkim."oakfield.example"]\nselector = "s1"\nkey_file = "{dkim_key()}"\n'
    return config


def _gateway(
    socket_kind: str = "unix",
    with_milter: bool = True,
    prefix: tuple[str, ...] = (),
    nagle: bool = False,
    external_milter: str | None = None,
    workers: int | None = None,
    checks: bool = True,
) -> Gateway:
    root = Path(tempfile.mkdtemp(prefix="aupbench-", dir="/tmp"))
    root.chmod(0o755)
    config = bench_config(nagle, workers, checks=checks)
    return _started(
        lambda: Gateway(
            root,
            config,
            socket_kind,
            "store",
            with_milter=with_milter and external_milter is None,
            fast_sink=True,
            milter_prefix=prefix,
            external_milter=external_milter,
        )
    )


def _started(build: Callable[[], Gateway], attempts: int = 3) -> Gateway:
    """Start a gateway, retrying on a lost port race: the harness picks free ports up front, and
    on a busy machine an outgoing connection can take one before the listener binds it."""
    for attempt in range(attempts):
        gw = build()
        try:
            gw.start()
            return gw
        except RuntimeError:
            gw.stop()
            if attempt == attempts - 1:
                raise
            time.sleep(1)
    raise AssertionError("unreachable")


class _Setup:
    """One end-to-end configuration: a gateway, plus the Rspamd peer or the no-op Python milter
    when one of them is the milter."""

    def __init__(self, name: str, kwargs: dict[str, Any]) -> None:
        self.name = name
        self.kwargs = dict(kwargs)
        self.peer: RspamdPeer | None = None
        self.noop: subprocess.Popen[bytes] | None = None
        self.noop_dir: Path | None = None

    def __enter__(self) -> Gateway:
        if self.kwargs.pop("noop", False):
            self.noop_dir = Path(tempfile.mkdtemp(prefix="aupbench-noop-", dir="/tmp"))
            self.noop_dir.chmod(0o755)
            sock = self.noop_dir / "noop.sock"
            self.noop = subprocess.Popen([sys.executable, "-m", "bench.noop_milter", f"unix:{sock}"], cwd=REPO)
            deadline = time.monotonic() + 30
            while not sock.exists():
                if self.noop.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the no-op milter did not start")
                time.sleep(0.1)
            sock.chmod(0o666)  # Postfix's smtpd (another user) connects
            self.kwargs["external_milter"] = f"unix:{sock}"
        if self.kwargs.pop("rspamd", False):
            self.peer = RspamdPeer(
                Path(tempfile.mkdtemp(prefix="aupbench-rspamd-", dir="/tmp")),
                free_port(),
                _cores(),
                dkim_key(),
                unix_socket=not self.kwargs.pop("rspamd_on_inet", False),
            )
            self.peer.start()
            self.kwargs["external_milter"] = self.peer.milter_address
        self.gw = _gateway(**self.kwargs)
        return self.gw

    def __exit__(self, *exc: object) -> None:
        self.gw.stop()
        self.gw.cleanup()
        if self.peer is not None:
            self.peer.stop()
            self.peer.cleanup()
        if self.noop is not None:
            self.noop.terminate()
            self.noop.wait(timeout=20)
        if self.noop_dir is not None:
            shutil.rmtree(self.noop_dir, ignore_errors=True)


def _cores() -> int:
    return len(os.sched_getaffinity(0))


def _drive(gw: Gateway, corpus: dict[str, tuple[Path, int]], scale: int, sessions: int) -> tuple[int, float]:
    """The mix through ``gw`` (see :mod:`bench.drive`); returns (messages handled, seconds)."""
    return drive(gw.smtp_port, corpus, scale, sessions)


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


E2E_SETUPS: list[tuple[str, dict[str, Any]]] = [
    ("postfix_only", {"with_milter": False}),
    ("aupmilter_unix", {}),
    ("aupmilter_inet", {"socket_kind": "inet"}),
    ("aupmilter_inet_nagle", {"socket_kind": "inet", "nagle": True}),
    ("aupmilter_unix_one_core", {"prefix": ("taskset", "-c", "0")}),
    ("rspamd_unix", {"rspamd": True}),
    ("rspamd_inet", {"rspamd": True, "rspamd_on_inet": True}),
]


def e2e(corpus: dict[str, tuple[Path, int]], scale: int, sessions: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, kwargs in E2E_SETUPS:
        if kwargs.get("rspamd") and not RspamdPeer.available():
            results[name] = {"skipped": "rspamd is not installed (make bench installs it)"}
            continue
        with _Setup(name, kwargs) as gw:
            _drive(gw, {"plain_3k": corpus["plain_3k"]}, 1, 2)  # warm-up
            n, secs = _drive(gw, throughput_mix(corpus), scale, sessions)
            results[name] = {"messages": n, "seconds": round(secs, 2), "msgs_per_s": round(n / secs, 1)}
            if gw.with_milter:
                results[name]["milter_latency_s"] = _histogram_quantiles(gw)
    base = results["postfix_only"]["msgs_per_s"]
    for name in list(results):
        if "msgs_per_s" in results[name]:
            results[name]["ratio_vs_postfix"] = round(results[name]["msgs_per_s"] / base, 3)
    if "msgs_per_s" in results.get("rspamd_unix", {}):
        # Like against like: each socket kind against the peer on the same kind (on inet both
        # pay Postfix's Nagle against the milter's delayed ACK; see docs/performance.md).
        results["unix_over_rspamd"] = round(
            results["aupmilter_unix"]["msgs_per_s"] / results["rspamd_unix"]["msgs_per_s"], 3
        )
        results["inet_over_rspamd"] = round(
            results["aupmilter_inet"]["msgs_per_s"] / results["rspamd_inet"]["msgs_per_s"], 3
        )
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


def _workers_setups() -> list[tuple[str, dict[str, Any]]]:
    """aupmilter with 1, 2, 3 and 4 worker processes per core (the default is one per core)."""
    cores = _cores()
    return [(f"aupmilter_unix_{n}_per_core", {"workers": n * cores}) for n in (1, 2, 3, 4) if n != 1]


LETTER_SETUPS: list[tuple[str, dict[str, Any]]] = [
    ("postfix_only", {"with_milter": False}),
    ("python_noop_milter", {"noop": True}),
    ("aupmilter_no_checks", {"checks": False}),
    ("aupmilter_unix", {}),
    ("rspamd_unix", {"rspamd": True}),
]


def letter_run(letter: Path, count: int, sessions: int) -> dict[str, Any]:
    """The plain outbound letter (6 KB, disclaimer + DKIM) alone, three ways in one run, then
    aupmilter with more worker processes per core (how many a core wants)."""
    results: dict[str, Any] = {}
    for name, kwargs in [*LETTER_SETUPS, *_workers_setups()]:
        if kwargs.get("rspamd") and not RspamdPeer.available():
            results[name] = {"skipped": "rspamd is not installed (make bench installs it)"}
            continue
        with _Setup(name, kwargs) as gw:
            _drive(gw, {"letter": (letter, 1)}, 20, 2)  # warm-up
            n, secs = _drive(gw, {"letter": (letter, 1)}, count, sessions)
            results[name] = {"messages": n, "seconds": round(secs, 2), "msgs_per_s": round(n / secs, 1)}
            if gw.with_milter:
                results[name]["milter_latency_s"] = _histogram_quantiles(gw)
    base = results["postfix_only"]["msgs_per_s"]
    for r in results.values():
        if "msgs_per_s" in r:
            r["ratio_vs_postfix"] = round(r["msgs_per_s"] / base, 3)
    if "msgs_per_s" in results.get("rspamd_unix", {}):
        results["aupmilter_over_rspamd"] = round(
            results["aupmilter_unix"]["msgs_per_s"] / results["rspamd_unix"]["msgs_per_s"], 3
        )
    return results


LATENCY_MESSAGES = ("plain_3k", "letter_6k", "html_alt_12k", "docx_40k", "adversarial_xxx_50k")  # <= 100 KB, delivered
LATENCY_SETUPS = (
    "postfix_only", "aupmilter_unix", "aupmilter_inet", "aupmilter_inet_quickack", "rspamd_unix", "rspamd_inet",
)  # fmt: skip
_LOOPBACK_ROUTES = (
    ["local", "127.0.0.0/8", "dev", "lo", "proto", "kernel", "scope", "host", "src", "127.0.0.1", "table", "local"],
    ["local", "127.0.0.1", "dev", "lo", "proto", "kernel", "scope", "host", "src", "127.0.0.1", "table", "local"],
)


class _QuickAck:
    """``quickack 1`` on the loopback routes for one setup, restored afterwards.

    Postfix writes each milter macro packet and the command after it as separate small writes
    with Nagle's algorithm on; the milter never answers a macro packet, so Linux delays its
    ACK (up to 40 ms) and Postfix's next write waits for it.  No socket option on the milter's
    side reaches that (libmilter owns the reads); the route's ``quickack`` does, and it is what
    docs/operations.md tells admins to set on the route to the MTA when the milter is on inet.
    Root only; the routes are put back even when the setup fails."""

    def __enter__(self) -> None:
        try:
            for route in _LOOPBACK_ROUTES:
                subprocess.run(["ip", "route", "change", *route, "quickack", "1"], check=True, capture_output=True)
        except subprocess.CalledProcessError:
            self.__exit__()
            raise

    def __exit__(self, *exc: object) -> None:
        for route in _LOOPBACK_ROUTES:
            subprocess.run(["ip", "route", "change", *route], capture_output=True)


def _quickack_possible() -> bool:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    shown = subprocess.run(["ip", "route", "show", "table", "local"], capture_output=True, text=True)
    return shown.returncode == 0 and "local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1" in shown.stdout


_DELAYS = re.compile(r"delays=([0-9.]+)/")


def _quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {f"p{int(q * 100)}": round(pick(q), 4) for q in (0.5, 0.95, 0.99)}


def _histogram_interpolated(gw: Gateway, name: str = "aupmilter_processing_seconds") -> dict[str, float]:
    """Quantiles from the milter's own histogram, interpolated inside buckets (as PromQL does)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{gw.metrics_port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    buckets: list[tuple[float, float]] = []
    for line in text.splitlines():
        if line.startswith(f"{name}_bucket"):
            le = line.split('le="')[1].split('"')[0]
            buckets.append((float("inf") if le == "+Inf" else float(le), float(line.rsplit(" ", 1)[1])))
    total = buckets[-1][1] if buckets else 0.0
    out: dict[str, float] = {}
    for q in (0.5, 0.95, 0.99):
        rank, lower, below = q * total, 0.0, 0.0
        for le, count in buckets:
            if count >= rank:
                upper = le if le != float("inf") else lower
                share = (rank - below) / (count - below) if count > below else 0.0
                out[f"p{int(q * 100)}"] = round(lower + (upper - lower) * share, 4)
                break
            lower, below = le, count
    return out


def _sent_since(gw: Gateway, offset: int, expected: int, timeout: float = 60.0) -> list[float]:
    """Postfix's ``delays=a`` of each delivery logged after byte ``offset`` of the gateway's log,
    once ``expected`` of them are there (or ``timeout`` seconds have passed)."""
    deadline = time.monotonic() + timeout
    delays: list[float] = []
    while time.monotonic() < deadline:
        if gw.log_file.exists():
            with gw.log_file.open("rb") as fh:
                fh.seek(offset)
                lines = fh.read().decode(errors="replace").splitlines()
            found = (_DELAYS.search(line) for line in lines if "status=sent" in line)
            delays = [float(m.group(1)) for m in found if m]
            if len(delays) >= expected:
                break
        time.sleep(0.5)
    return delays


def latency(corpus: dict[str, tuple[Path, int]], per_message: int) -> dict[str, Any]:
    """Added latency for mail <= 100 KB at a fixed load below saturation (one SMTP session at
    a time): Postfix's own ``delays=a`` (arrival to queue manager, which includes the milter),
    each setup minus Postfix alone, and the milter's histogram."""
    results: dict[str, Any] = {}
    small = {name: (corpus[name][0], 1) for name in LATENCY_MESSAGES}
    setups = [*E2E_SETUPS, ("aupmilter_inet_quickack", {"socket_kind": "inet", "quickack": True})]
    for name, kwargs in setups:
        if name not in LATENCY_SETUPS or (kwargs.get("rspamd") and not RspamdPeer.available()):
            continue
        if kwargs.get("quickack") and not _quickack_possible():
            continue
        with contextlib.ExitStack() as stack:
            if kwargs.get("quickack"):
                try:
                    stack.enter_context(_QuickAck())
                except subprocess.CalledProcessError as exc:  # root without CAP_NET_ADMIN (containers)
                    results[name] = {"skipped": f"cannot change the loopback route: {exc.stderr!r}"[:200]}
                    continue
            gw = stack.enter_context(_Setup(name, {k: v for k, v in kwargs.items() if k != "quickack"}))
            before = gw.log_file.stat().st_size if gw.log_file.exists() else 0
            warm, _ = _drive(gw, {"plain_3k": corpus["plain_3k"]}, 1, 1)  # warm-up
            # The last warm-up delivery can be logged after smtp-source returns: counted among
            # the measured ones it was the stray "501 of 500" delivery earlier runs reported.
            _sent_since(gw, before, warm)
            offset = gw.log_file.stat().st_size
            sent, _ = _drive(gw, small, per_message, 1)
            delays = _sent_since(gw, offset, sent)
            results[name] = {"messages": sent, "delivered": len(delays), "postfix_delays_a_s": _quantiles(delays)}
            if gw.with_milter:
                results[name]["milter_histogram_s"] = _histogram_interpolated(gw)
    base = results.get("postfix_only", {}).get("postfix_delays_a_s", {})
    for name, r in results.items():
        if name != "postfix_only" and base and r.get("postfix_delays_a_s"):
            r["added_s"] = {k: round(r["postfix_delays_a_s"][k] - base[k], 4) for k in base}
    return results


_NODES_OVERLAY = """
# The benchmark's chain letters are quarantined rather than refused, so both nodes write to
# the shared PostgreSQL quarantine while they run.
[[action]]
match = "chain_letter"
outbound = "quarantine"
"""


def nodes(corpus: dict[str, tuple[Path, int]], scale: int, sessions: int) -> dict[str, Any]:
    """What a second gateway node adds: one node, then two (each its own Postfix + milter),
    driven at once, both quarantining into one shared private PostgreSQL.  On one machine the
    two nodes share its cores, so this measures the shared database's cost, not a second VM."""
    from tests.harness import postgres

    if not postgres.available():
        return {"skipped": "PostgreSQL is not installed (make test installs it)"}
    server = postgres.PrivatePostgres()
    server.start()
    results: dict[str, Any] = {}
    # Nodes sharing a quarantine share its audit key, as deployed (the first milter creates it).
    key_dir = Path(tempfile.mkdtemp(prefix="aupbench-key-", dir="/tmp"))
    try:
        config = BENCH_CONFIG + _NODES_OVERLAY
        for count in (1, 2):
            gateways = []
            try:
                for _ in range(count):
                    root = Path(tempfile.mkdtemp(prefix="aupbench-", dir="/tmp"))
                    root.chmod(0o755)
                    gateways.append(
                        _started(
                            lambda r=root: Gateway(  # type: ignore[misc]
                                r,
                                config,
                                "unix",
                                "store",
                                fast_sink=True,
                                quarantine_database=server.url,
                                audit_key_file=str(key_dir / "audit.key"),
                            )
                        )
                    )
                for gw in gateways:
                    _drive(gw, {"plain_3k": corpus["plain_3k"]}, 1, 2)  # warm-up
                outcome: list[tuple[int, float]] = []
                failures: list[BaseException] = []
                # Chain letters are quarantined here (above); the offensive message is refused.
                mix = throughput_mix(corpus, refused=frozenset({"offensive"}))

                def drive(
                    gw: Gateway,
                    into: list[tuple[int, float]] = outcome,
                    failed: list[BaseException] = failures,
                    kinds: dict[str, tuple[Path, int]] = mix,
                ) -> None:
                    try:
                        into.append(_drive(gw, kinds, scale, sessions))
                    except BaseException as exc:  # re-raised below, in the harness's thread
                        failed.append(exc)

                threads = [threading.Thread(target=drive, args=(gw,)) for gw in gateways]
                started = time.perf_counter()
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                wall = time.perf_counter() - started
                if failures:
                    raise failures[0]
                sent = sum(n for n, _ in outcome)
                results[f"{count}_node"] = {
                    "messages": sent,
                    "seconds": round(wall, 2),
                    "msgs_per_s": round(sent / wall, 1),
                }
            finally:
                for gw in gateways:
                    gw.stop()
                    gw.cleanup()
        results["two_nodes_over_one"] = round(results["2_node"]["msgs_per_s"] / results["1_node"]["msgs_per_s"], 3)
    finally:
        server.stop()
        shutil.rmtree(key_dir, ignore_errors=True)
    return results


def engine(corpus: dict[str, tuple[Path, int]], rounds: int) -> dict[str, Any]:
    import cProfile
    import io
    import pstats

    from aupmilter.config import load_config
    from aupmilter.engine import evaluate
    from aupmilter.message import MessageView
    from aupmilter.model import Envelope
    from aupmilter.ruleset import build_ruleset

    ruleset = build_ruleset(load_config(None))
    env = Envelope("teacher@oakfield.example", ("parent@home.test",), auth_user="teacher")
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
from aupmilter.engine import evaluate
from aupmilter.ruleset import build_ruleset
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


def _setup_rows(table: dict[str, Any], names: list[str]) -> list[str]:
    rows = []
    for name in names:
        r = table.get(name)
        if r is None:
            continue
        if "skipped" in r:
            rows.append(f"| {name} | - | - | - | - | skipped: {r['skipped']} |")
            continue
        lat = r.get("milter_latency_s")
        lat_s = f"{lat['p50']}/{lat['p95']}/{lat['p99']}" if lat else "-"
        rows.append(
            f"| {name} | {r['messages']} | {r['seconds']} | {r['msgs_per_s']} | {r['ratio_vs_postfix']} | {lat_s} |"
        )
    return rows


def markdown(results: dict[str, Any]) -> str:
    """The run as Markdown; parts not run (``--only``) are left out."""
    return "\n".join(
        line
        for part, lines in (
            ("head", _md_head),
            ("e2e", _md_e2e),
            ("letter", _md_letter),
            ("latency", _md_latency),
            ("nodes", _md_nodes),
            ("engine", _md_engine),
            ("memory", _md_memory),
        )
        if part == "head" or (results.get(part) and "skipped" not in results[part])
        for line in lines(results)
    )


def _md_head(results: dict[str, Any]) -> list[str]:
    return [f"# aupmilter benchmark {results['date']}", "", f"machine: {results['machine']}", ""]


def _md_e2e(results: dict[str, Any]) -> list[str]:
    e = results["e2e"]
    lines = [
        "## End to end through Postfix (smtp-source -> Postfix -> smtp-sink, message mix without the kinds the policy refuses, disclaimer + DKIM on)",
        "",
        "| setup | msgs | s | msgs/s | ratio vs Postfix alone | milter p50/p95/p99 (s) |",
        "|---|---|---|---|---|---|",
        *_setup_rows(e, [n for n, _ in E2E_SETUPS]),
    ]
    lines += [
        "",
        f"inet/unix = {e['inet_over_unix']} with TCP_NODELAY, {e['inet_without_nodelay_over_unix']} without; "
        f"two cores (worker processes) / milter pinned to one core = {e['two_cores_over_one']}",
        "",
        "Rspamd 3.4 peer (proxy worker in milter mode, self_scan, mime_types + multimap with the same word list, "
        "dkim_signing with the same key): "
        + (
            f"aupmilter unix / Rspamd = {e['unix_over_rspamd']}, aupmilter inet / Rspamd = {e['inet_over_rspamd']}"
            if "unix_over_rspamd" in e
            else "not measured (rspamd not installed)"
        ),
        "",
    ]
    return lines


def _md_letter(results: dict[str, Any]) -> list[str]:
    return [
        "## The plain outbound letter (6 KB staff letter to a parent, disclaimer + DKIM), three ways",
        "",
        "| setup | msgs | s | msgs/s | ratio vs Postfix alone | milter p50/p95/p99 (s) |",
        "|---|---|---|---|---|---|",
        *_setup_rows(results["letter"], [n for n, _ in [*LETTER_SETUPS, *_workers_setups()]]),
        "",
        (
            f"aupmilter / Rspamd on the letter = {results['letter']['aupmilter_over_rspamd']}, "
            f"aupmilter / Postfix alone = {results['letter']['aupmilter_unix']['ratio_vs_postfix']}"
            if "aupmilter_over_rspamd" in results["letter"]
            else "Rspamd not measured (rspamd not installed)"
        ),
        "",
        "python_noop_milter is pymilter accepting everything (bench/noop_milter.py): the ceiling of any Python "
        "milter here. aupmilter_no_checks has every check off: the adapter, MIME parse, worker round trip and "
        "DKIM signature without the checks.",
        "",
    ]


def _md_latency(results: dict[str, Any]) -> list[str]:
    lines = [
        "## Added latency, mail <= 100 KB, one SMTP session at a time (below saturation)",
        "",
        "| setup | delivered | Postfix delays=a p50/p95/p99 (s) | added vs Postfix alone p50/p95/p99 (s) "
        "| milter histogram p50/p95/p99 (s) |",
        "|---|---|---|---|---|",
    ]
    for name, r in results["latency"].items():
        if "skipped" in r:
            lines.append(f"| {name} | - | skipped: {r['skipped']} | - | - |")
            continue
        a = r["postfix_delays_a_s"]
        added = r.get("added_s", {})
        hist = r.get("milter_histogram_s", {})
        fmt = lambda d: "/".join(str(d[k]) for k in ("p50", "p95", "p99")) if d else "-"  # noqa: E731
        lines.append(f"| {name} | {r['delivered']}/{r['messages']} | {fmt(a)} | {fmt(added)} | {fmt(hist)} |")
    return [*lines, ""]


def _md_nodes(results: dict[str, Any]) -> list[str]:
    return [
        "## A second gateway node, shared PostgreSQL quarantine (both nodes on this one machine)",
        "",
        (
            f"one node {results['nodes']['1_node']['msgs_per_s']} msgs/s, two nodes together "
            f"{results['nodes']['2_node']['msgs_per_s']} msgs/s: two/one = {results['nodes']['two_nodes_over_one']}"
            if "two_nodes_over_one" in results["nodes"]
            else f"not measured: {results['nodes'].get('skipped')}"
        ),
        "",
    ]


def _md_engine(results: dict[str, Any]) -> list[str]:
    lines = [
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
    ]
    return lines


def _md_memory(results: dict[str, Any]) -> list[str]:
    return ["## Memory (separate processes)", "", "```", json.dumps(results["memory"], indent=1), "```", ""]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="tiny counts, to keep the harness working")
    parser.add_argument(
        "--only", default="", help="comma-separated parts to run (e2e,letter,latency,nodes,engine,memory); default all"
    )
    args = parser.parse_args()
    parts = set(args.only.split(",")) if args.only else {"e2e", "letter", "latency", "nodes", "engine", "memory"}
    scale, sessions, rounds, steady, per_message = (1, 2, 1, 200, 2) if args.smoke else (20, 8, 20, 100_000, 100)
    work = REPO / "var" / "bench"
    corpus = build_corpus(work / "corpus")
    letter = build_letter(work / "corpus")
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {os.uname().release}",
        "smoke": args.smoke,
    }
    skipped = {"skipped": "not asked for (--only)"}
    results["e2e"] = e2e(corpus, scale, sessions) if "e2e" in parts else skipped
    results["letter"] = letter_run(letter, 40 if args.smoke else 2000, sessions) if "letter" in parts else skipped
    results["latency"] = latency({**corpus, "letter_6k": (letter, 0)}, per_message) if "latency" in parts else {}
    results["nodes"] = nodes(corpus, max(1, scale // 2), sessions // 2 or 1) if "nodes" in parts else skipped
    results["engine"] = engine({**corpus, "letter_6k": (letter, 0)}, rounds) if "engine" in parts else skipped
    results["memory"] = memory(steady, work) if "memory" in parts else skipped
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / (dt.date.today().isoformat() + ("-smoke" if args.smoke else ""))
    stem.with_suffix(".json").write_text(json.dumps(results, indent=2))
    stem.with_suffix(".md").write_text(markdown(results))
    print(markdown(results))
    print(f"peak RSS of this harness: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")


if __name__ == "__main__":
    main()
