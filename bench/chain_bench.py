"""Chain-letter classifier on the labelled set: precision, recall, confusions, held-out recall.

    .venv/bin/python -m bench.chain_bench [--out results.json]

The tuning set (tests/fixtures/chain: chain_letters.txt, hard_negatives.txt, 200+ ordinary
mails) was used while writing the cues, so its numbers are optimistic.  heldout_chain_letters
was written after the first version of the cues (which caught 1 of its 8) and then used for one
round of broadening, so it is no longer clean; heldout2 was written after that and never used
for tuning: it is the honest estimate of recall on new wording.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter

from tests.chain_corpus import HERE, _blocks, _mail, samples

from aupmilter.config import load_config
from aupmilter.engine import build_ruleset
from aupmilter.message import MessageView
from aupmilter.model import Envelope


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out")
    args = parser.parse_args()
    check = next(c for c in build_ruleset(load_config(None)).checks if c.name == "chain_letter")
    env = Envelope("a@home.test", ("t@oakfield.example",), client_addr="198.51.100.1")
    confusion: Counter[tuple[str, str]] = Counter()
    for s in samples():
        rules = sorted(f.rule for f in check.run(env, MessageView(s.raw)))
        predicted = next((r for r in rules if r.startswith("chain_letter")), rules[0] if rules else "clean")
        truth = s.label
        confusion[
            (
                truth.split(".")[0] if truth.startswith("chain") else truth,
                predicted.split(".")[0] if predicted.startswith("chain") else predicted,
            )
        ] += 1
    tp = confusion[("chain_letter", "chain_letter")]
    fp = sum(v for (t, p), v in confusion.items() if p == "chain_letter" and t != "chain_letter")
    fn = sum(v for (t, p), v in confusion.items() if t == "chain_letter" and p != "chain_letter")
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    heldout = {}
    for name in ("heldout_chain_letters.txt", "heldout2_chain_letters.txt"):
        blocks = _blocks(HERE / name)
        caught = sum(
            1
            for _, subject, body in blocks
            if any(
                f.rule.startswith("chain_letter")
                for f in check.run(env, MessageView(_mail(subject, body, "a@home.test", "t@oakfield.example")))
            )
        )
        heldout[name] = (caught, len(blocks))
    print("| set | chain letters | precision | recall |")
    print("|---|---|---|---|")
    print(f"| tuning set (cues written against it) | {tp + fn} | {precision:.3f} | {recall:.3f} |")
    notes = {
        "heldout_chain_letters.txt": "used for one round of fixes",
        "heldout2_chain_letters.txt": "never used for tuning",
    }
    for name, (caught, total) in heldout.items():
        print(f"| {name} ({notes[name]}) | {total} | - | {caught / total:.3f} ({caught}/{total}) |")
    print("\nconfusions (truth -> predicted: count):")
    for (t, p), v in sorted(confusion.items()):
        print(f"  {t:>24} -> {p:<24} {v}")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(
                {
                    "precision": precision,
                    "recall": recall,
                    "heldout": heldout,
                    "confusion": {f"{t}->{p}": v for (t, p), v in confusion.items()},
                },
                fh,
                indent=2,
            )


if __name__ == "__main__":
    main()
