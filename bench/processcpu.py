"""CPU per message by process, end to end through a private Postfix.

    python -m bench.processcpu [--setup aupmilter_unix] [--kind letter] [--count 1500]

Starts one setup of ``bench.run`` (``aupmilter_unix``, ``aupmilter_no_checks``, ``rspamd_unix``,
``python_noop_milter``, ``postfix_only``), warms it up, then sends ``count`` messages of one kind
(``letter``; ``letter_html``, the letter as plain + HTML; ``mix``; or a corpus kind such as
``pdf_2m``) over 8 sessions and reads each process's user + system time from ``/proc`` before
and after.  Throughput says *that* a setup is slower; this says *where* the CPU went (the
milter's worker processes, its main process, Postfix's daemons, the sink), which is what decides
whether a change can matter.

Processes that start and exit between the two readings (``smtp-source`` itself) are not counted;
kernel threads are summed apart because loopback networking and page writeback land there in
amounts that wander from run to run.  Root only (``/proc`` of other users' processes).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import run  # noqa: E402
from bench.corpus import build, letter  # noqa: E402
from bench.drive import throughput_mix  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
POSTFIX_DAEMONS = frozenset(
    {"master", "smtpd", "cleanup", "qmgr", "smtp", "trivial-rewrite", "anvil", "tlsmgr", "proxymap", "scache",
     "bounce", "pickup", "postlogd"}
)  # fmt: skip


def _group(comm: str, cmdline: str, parent: int) -> str:
    """Which part of the setup a process belongs to."""
    if parent == 2 or comm.startswith(("kworker", "ksoftirqd", "rcu_", "kdamond")):
        return "kernel threads"
    if "spawn_main" in cmdline or "multiprocessing" in cmdline:
        return "aupmilter workers"
    if "aupmilter" in cmdline and "python" in cmdline:
        return "aupmilter main process"
    if "noop_milter" in cmdline:
        return "no-op milter"
    if "rspamd" in comm:
        return "rspamd"
    if comm in POSTFIX_DAEMONS:
        return "postfix"
    if "sink" in cmdline:
        return "smtp sink"
    return "other"


def _reading() -> dict[tuple[str, str], float]:
    """CPU seconds so far of every process, keyed by (pid, group)."""
    out: dict[tuple[str, str], float] = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        out[(pid, _group(comm, cmdline, int(fields[1])))] = (int(fields[11]) + int(fields[12])) / TICK
    return out


def _corpus(kind: str, work: Path) -> dict[str, tuple[Path, int]]:
    if kind == "letter":
        return {"letter": (letter(work), 1)}
    if kind == "letter_html":
        return {"letter_html": (letter(work, html=True), 1)}
    corpus = build(work / "corpus")
    if kind == "mix":
        return throughput_mix(corpus)
    if kind not in corpus:
        raise SystemExit(f"--kind: one of letter, letter_html, mix, {', '.join(sorted(corpus))}")
    return {kind: (corpus[kind][0], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setup", default="aupmilter_unix", choices=[name for name, _ in run.LETTER_SETUPS])
    parser.add_argument(
        "--kind", default="letter", help="letter, letter_html, mix, or a corpus kind (plain_3k, pdf_2m, ...)"
    )
    parser.add_argument("--count", type=int, default=1500, help="messages (for mix: about this many)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = _corpus(args.kind, Path(tmp))
        weights = sum(weight for _, weight in corpus.values())
        scale = max(1, args.count // weights)
        with run._Setup(args.setup, dict(run.LETTER_SETUPS)[args.setup]) as gw:
            run._drive(gw, corpus, max(1, 20 // weights), 2)  # warm-up: workers started, memos filled
            time.sleep(1)
            before = _reading()
            sent, seconds = run._drive(gw, corpus, scale, 8)
            time.sleep(1.5)  # let the last deliveries finish
            after = _reading()
    spent: dict[str, float] = {}
    for key, cpu in after.items():
        spent[key[1]] = spent.get(key[1], 0.0) + cpu - before.get(key, 0.0)
    print(f"{args.setup}, {args.kind}: {sent} messages in {seconds:.2f} s = {sent / seconds:.1f} msgs/s")
    print("CPU per message, by process (ms):")
    for group, cpu in sorted(spent.items(), key=lambda item: -item[1]):
        if group != "kernel threads":
            print(f"  {group:24} {cpu / sent * 1000:7.2f}")
    counted = sum(cpu for group, cpu in spent.items() if group != "kernel threads")
    print(
        f"  {'total':24} {counted / sent * 1000:7.2f}   (kernel threads, apart: {spent.get('kernel threads', 0.0) / sent * 1000:.2f})"
    )


if __name__ == "__main__":
    main()
