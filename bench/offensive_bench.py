"""Offensive-language detection quality and speed, aupmilter vs two Python peers, in ONE run.

    .venv/bin/python -m bench.offensive_bench [--out results.json] [--better-sample 1500]

* OLID v1.0 training split (../shared/data/offensive-dev; OFF vs NOT): precision, recall, F1.
  better-profanity is ~100x slower than the others, so it is scored on a fixed random sample
  (seed 0) of ``--better-sample`` tweets; the others on all 13,240 and on that same sample.
* Clean school mail (tests/fixtures/text/clean_school_mail, written for this project): the share
  of letters each tool flags (must be well under 1% for aupmilter).
* Throughput on the clean letters (MB/s, one core).
Peers are installed by ``pip install -e '.[bench]'`` (make bench does it); if absent, only
aupmilter is measured.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OLID = REPO.parent / "shared" / "data" / "offensive-dev" / "olid-training-v1.0.tsv"
CLEAN = sorted((REPO / "tests" / "fixtures" / "text" / "clean_school_mail").glob("*.txt"))


def prf(pred: list[bool], gold: list[bool]) -> tuple[float, float, float]:
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall, (2 * precision * recall / (precision + recall) if precision + recall else 0.0)


def tools() -> dict[str, Callable[[list[str]], list[bool]]]:
    from aupmilter.config import load_config
    from aupmilter.engine import build_ruleset

    check = next(c for c in build_ruleset(load_config(None)).checks if c.name == "offensive")
    found: dict[str, Callable[[list[str]], list[bool]]] = {
        "aupmilter": lambda texts: [bool(check.scan(t)) for t in texts]
    }  # type: ignore[attr-defined]
    try:
        from profanity_check import predict

        found["alt-profanity-check"] = lambda texts: [bool(x) for x in predict(texts)]
    except ImportError:
        pass
    try:
        from better_profanity import profanity

        found["better-profanity"] = lambda texts: [profanity.contains_profanity(t) for t in texts]
    except ImportError:
        pass
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out")
    parser.add_argument("--better-sample", type=int, default=1500)
    args = parser.parse_args()
    if not OLID.exists():
        print("OLID not present (../shared/data): skipped")
        return
    with OLID.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))[1:]
    texts = [r[1] for r in rows]
    gold = [r[2] == "OFF" for r in rows]
    sample = random.Random(0).sample(range(len(texts)), args.better_sample)
    clean = [p.read_text() for p in CLEAN]
    clean_bytes = sum(len(t.encode()) for t in clean)
    results = {}
    for name, run in tools().items():
        row: dict[str, object] = {}
        if name != "better-profanity":
            t0 = time.perf_counter()
            pred = run(texts)
            row["olid_all"] = dict(
                zip(("precision", "recall", "f1"), (round(x, 3) for x in prf(pred, gold)), strict=True)
            )
            row["olid_seconds"] = round(time.perf_counter() - t0, 2)
        pred_s = run([texts[i] for i in sample])
        row["olid_sample"] = dict(
            zip(
                ("precision", "recall", "f1"),
                (round(x, 3) for x in prf(pred_s, [gold[i] for i in sample])),
                strict=True,
            )
        )
        t0 = time.perf_counter()
        flagged = run(clean * 4)[: len(clean)]
        elapsed = (time.perf_counter() - t0) / 4
        row["clean_school_mail_flagged"] = f"{sum(flagged)}/{len(clean)}"
        row["clean_mb_per_s"] = round(clean_bytes / elapsed / 1e6, 2)
        results[name] = row
    print(
        f"| tool | OLID F1 (all 13,240) | OLID P/R/F1 (sample of {args.better_sample}) | clean school mail flagged | MB/s on mail |"
    )
    print("|---|---|---|---|---|")
    for name, row in results.items():
        full = row.get("olid_all")
        s = row["olid_sample"]
        full_f1 = f"{full['f1']}" if isinstance(full, dict) else "(sample only)"
        print(
            f"| {name} | {full_f1} | {s['precision']}/{s['recall']}/{s['f1']} | {row['clean_school_mail_flagged']} | {row['clean_mb_per_s']} |"
        )  # type: ignore[index]
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
