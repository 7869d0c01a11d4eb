"""Offensive-language quality and speed, aupmilter vs alt-profanity-check (and better-profanity),
measured in ONE run (issue 19's table).

    .venv/bin/python -m bench.offensive_bench [--out results.json] [--ham DIR ...]

* Functional suite, held-out split (tests/fixtures/offensive/functional/heldout, never trained or
  tuned on): per category, the share flagged (must_not_block_mild: the share an outbound send
  would stop).  Peers "flag" when their own predictor says offensive.
* OLID dev: the 20% of the OLID training split the model never saw; macro-F1.
* Legitimate mail (``--ham`` folders of .eml, default var/offensive-data/ham/*): the share an
  outbound send would stop for offensive language (peers: the share they would flag).
* Clean school letters (tests/fixtures/text/clean_school_mail): the share flagged.
* Throughput of the whole check on the clean letters (MB/s, one core).
Peers come from ``pip install -e '.[bench]'`` (make bench does it); if absent, only aupmilter.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from bench.offensive_eval import FUNCTIONAL, REPO, Measure, macro_f1, olid_dev

CLEAN = sorted((REPO / "tests" / "fixtures" / "text" / "clean_school_mail").glob("*.txt"))
DEFAULT_HAM = REPO / "var" / "offensive-data" / "ham"


def peers() -> dict[str, Callable[[list[str]], list[bool]]]:
    found: dict[str, Callable[[list[str]], list[bool]]] = {}
    try:
        from profanity_check import predict

        found["alt-profanity-check"] = lambda texts: [bool(x) for x in predict(texts)]
    except ImportError:
        pass
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out")
    parser.add_argument("--ham", type=Path, action="append")
    args = parser.parse_args()
    measure = Measure()
    ours: Callable[[list[str]], list[bool]] = lambda texts: [measure.flags(t) for t in texts]  # noqa: E731
    tools = {"aupmilter": ours, **peers()}
    results: dict[str, dict[str, object]] = {name: {} for name in tools}
    # functional suite
    categories = sorted(p.stem for p in (FUNCTIONAL / "heldout").glob("*.txt"))
    ours_rates = {r.category: r for r in measure.functional("heldout")}
    for name, run in tools.items():
        per: dict[str, float] = {}
        for category in categories:
            if name == "aupmilter":
                per[category] = round(ours_rates[category].rate, 3)
                continue
            lines = [ln for ln in (FUNCTIONAL / "heldout" / f"{category}.txt").read_text().splitlines() if ln]
            per[category] = round(sum(run(lines)) / len(lines), 3)
        results[name]["functional_heldout"] = per
    # OLID dev
    dev = olid_dev()
    for name, run in tools.items():
        if dev is not None:
            results[name]["olid_dev_macro_f1"] = round(macro_f1(run([t for t, _ in dev]), [y for _, y in dev]), 3)
    # ham
    ham_dirs = args.ham or (sorted(p for p in DEFAULT_HAM.iterdir() if p.is_dir()) if DEFAULT_HAM.exists() else [])
    ham = [p for d in ham_dirs for p in sorted(d.glob("*.eml"))]
    if ham:
        stopped, total = measure.ham_stop_rate(ham)
        results["aupmilter"]["ham_stopped"] = f"{stopped}/{total}"
        results["aupmilter"]["ham_stop_rate"] = round(stopped / total, 4)
        from email import message_from_bytes, policy

        for name, run in tools.items():
            if name == "aupmilter":
                continue
            texts = []
            for path in ham:
                msg = message_from_bytes(path.read_bytes(), policy=policy.default)
                body = msg.get_body(preferencelist=("plain",))
                try:
                    texts.append(f"{msg.get('Subject', '')}\n{body.get_content() if body else ''}")  # type: ignore[attr-defined]
                except (LookupError, ValueError):
                    texts.append(str(msg.get("Subject", "")))
            results[name]["ham_stop_rate"] = round(sum(run(texts)) / len(texts), 4)
    # clean letters and speed
    clean = [p.read_text() for p in CLEAN]
    clean_bytes = sum(len(t.encode()) for t in clean)
    for name, run in tools.items():
        t0 = time.perf_counter()
        flagged = run(clean * 4)[: len(clean)]
        elapsed = (time.perf_counter() - t0) / 4
        results[name]["clean_school_mail_flagged"] = f"{sum(flagged)}/{len(clean)}"
        results[name]["clean_mb_per_s"] = round(clean_bytes / elapsed / 1e6, 2)
    names = list(tools)
    print("| held-out category | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for category in categories:
        row = [f"{results[n]['functional_heldout'][category]:.1%}" for n in names]  # type: ignore[index]
        print(f"| {category} | " + " | ".join(row) + " |")
    for key in ("olid_dev_macro_f1", "ham_stop_rate", "clean_school_mail_flagged", "clean_mb_per_s"):
        print(f"| {key} | " + " | ".join(str(results[n].get(key, "-")) for n in names) + " |")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
