"""Chain-letter classifier on the labelled set: precision, recall, confusions, per source set.

    .venv/bin/python -m bench.chain_bench [--out bench/results/chain.json]

The labelled set is ``tests/fixtures/chain/labels.json`` (built from hand-written texts by
``tests/fixtures/chain/build_corpus.py``).  Honesty about what was tuned on what:

* ``chain_*`` and the clean/junk mail: the cues were written against them; optimistic.
* ``heldout_*`` (batch 1): written after the first cues (caught 1 of 8), then tuned on.
* ``heldout2_*``: caught 3 of 6 when first measured; later seen and partly tuned on.
* ``heldout3_*``: caught 3 of 10 when first measured (blind), then tuned on.
* ``heldout4_*``: caught 1 of 8 when first measured (blind), then used to add abstract cues
  (mass_forward, obligation, only_takes_seconds, threat_if_you).
* ``heldout5_*``: written after that, measured once, never tuned on: caught 3 of 8.

So every batch is caught once it has been tuned on, and fresh wording is caught 13-38% of the
time.  The untouched latest batch is the number to quote; the rest only shows the cues do not
forget what they learned.  Before tuning on heldout5, write heldout6.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from aupmilter.config import load_config
from aupmilter.engine import build_ruleset
from aupmilter.message import MessageView
from aupmilter.model import Envelope

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "chain"


def predict(check: object, raw: bytes) -> str:
    """The label the check gives a message: a chain family wins over junk; else ``clean``."""
    env = Envelope("a@home.test", ("t@oakfield.example",), client_addr="198.51.100.1")
    rules = sorted(f.rule for f in check.run(env, MessageView(raw)))  # type: ignore[attr-defined]
    return next((r for r in rules if r.startswith("chain_letter")), rules[0] if rules else "clean")


def source_set(name: str) -> str:
    stem = name.removeprefix("mail/")
    if stem.startswith("heldout"):
        return stem.split("_")[0]
    if stem.startswith("chain_"):
        return "tuning"
    if stem.startswith("hard_"):
        return "hard_negative"
    return stem.split("_")[0]


def evaluate() -> dict[str, object]:
    labels: dict[str, str] = json.loads((CORPUS / "labels.json").read_text())
    check = next(c for c in build_ruleset(load_config(None)).checks if c.name == "chain_letter")
    family_confusion: Counter[tuple[str, str]] = Counter()
    per_set: dict[str, list[int]] = {}
    flagged_negatives: list[str] = []
    missed: list[str] = []
    tp = fp = fn = 0
    for name, truth in sorted(labels.items()):
        predicted = predict(check, (CORPUS / name).read_bytes())
        family_confusion[(truth, predicted)] += 1
        is_chain, said_chain = truth.startswith("chain_letter"), predicted.startswith("chain_letter")
        tp += is_chain and said_chain
        fp += said_chain and not is_chain
        fn += is_chain and not said_chain
        if is_chain:
            caught_total = per_set.setdefault(source_set(name), [0, 0])
            caught_total[0] += said_chain
            caught_total[1] += 1
            if not said_chain:
                missed.append(name)
        elif predicted != truth:
            flagged_negatives.append(f"{name}: {truth} -> {predicted}")
    return {
        "messages": len(labels),
        "chain_letters": tp + fn,
        "clean": sum(1 for v in labels.values() if v == "clean"),
        "junk": sum(1 for v in labels.values() if v.startswith("junk")),
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "recall_by_set": {k: {"caught": v[0], "total": v[1]} for k, v in sorted(per_set.items())},
        "hard_negatives_flagged": [n for n in flagged_negatives if "/hard_" in n],
        "negatives_misclassified": flagged_negatives,
        "chain_letters_missed": missed,
        "confusion": {f"{t} -> {p}": v for (t, p), v in sorted(family_confusion.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args()
    r = evaluate()
    print(
        f"## Chain-letter classifier ({r['messages']} messages: {r['chain_letters']} chain letters, "
        f"{r['clean']} clean, {r['junk']} junk)\n"
    )
    print("| measure | value |\n|---|---|")
    print(f"| precision (chain_letter vs rest) | {r['precision']:.3f} |")
    print(f"| recall (all chain letters) | {r['recall']:.3f} |")
    for name, v in r["recall_by_set"].items():  # type: ignore[attr-defined]
        print(f"| recall, {name} | {v['caught'] / v['total']:.3f} ({v['caught']}/{v['total']}) |")
    print(f"| hard negatives flagged | {len(r['hard_negatives_flagged'])} |")  # type: ignore[arg-type]
    print("\n### Confusions (truth -> predicted: count)\n")
    print("| truth | predicted | count |\n|---|---|---|")
    for key, v in r["confusion"].items():  # type: ignore[attr-defined]
        t, _, p = key.partition(" -> ")
        print(f"| {t} | {p} | {v} |")
    for title, key in (
        ("Chain letters missed", "chain_letters_missed"),
        ("Negatives misclassified", "negatives_misclassified"),
    ):
        items = r[key]
        print(f"\n### {title}: {len(items)}\n")  # type: ignore[arg-type]
        for item in items:  # type: ignore[attr-defined]
            print(f"- {item}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(r, indent=2) + "\n")


if __name__ == "__main__":
    main()
