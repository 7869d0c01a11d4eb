"""Train the offensive-text model on OLID (../shared/data/offensive-dev) and ship it.

    .venv/bin/python -m bench.train_offensive_model [--out src/aupmilter/rules/lexicon/model.json]

Prints 5-fold cross-validated precision/recall/F1 of the model alone and combined with the
lexicons (as the check combines them), then trains on everything and writes the weights.
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

from aupmilter.textmodel import LinearModel

REPO = Path(__file__).resolve().parents[1]
OLID = REPO.parent / "shared" / "data" / "offensive-dev" / "olid-training-v1.0.tsv"


def load() -> list[tuple[str, int]]:
    with OLID.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))[1:]
    return [(r[1], 1 if r[2] == "OFF" else 0) for r in rows]


def prf(pairs: list[tuple[bool, int]]) -> tuple[float, float, float]:
    tp = sum(1 for h, y in pairs if h and y)
    fp = sum(1 for h, y in pairs if h and not y)
    fn = sum(1 for h, y in pairs if not h and y)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(REPO / "var/offensive-model.json"))
    parser.add_argument("--threshold", type=float, default=0.85)
    args = parser.parse_args()
    from aupmilter.config import load_config
    from aupmilter.engine import build_ruleset

    lexicon = next(c for c in build_ruleset(load_config(None)).checks if c.name == "offensive")
    data = load()
    random.Random(42).shuffle(data)
    folds = 5
    model_pairs: list[tuple[bool, int]] = []
    combined: list[tuple[bool, int]] = []
    for k in range(folds):
        test = data[k::folds]
        train = [d for i, d in enumerate(data) if i % folds != k]
        model = LinearModel.train([t for t, _ in train], [y for _, y in train])
        for text, y in test:
            m = model.max_sentence_probability(text) >= args.threshold
            model_pairs.append((m, y))
            combined.append((m or bool(lexicon.scan(text)), y))  # type: ignore[attr-defined]
    for label, pairs in (("model alone", model_pairs), ("lexicon + model", combined)):
        p, r, f = prf(pairs)
        print(f"5-fold CV, {label:<16} P={p:.3f} R={r:.3f} F1={f:.3f}")
    final = LinearModel.train([t for t, _ in data], [y for _, y in data])
    final.save(
        Path(args.out),
        meta={
            "trained_on": "OLID v1.0 training split",
            "examples": len(data),
            "threshold": args.threshold,
        },
    )
    print(f"wrote {args.out} ({Path(args.out).stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
