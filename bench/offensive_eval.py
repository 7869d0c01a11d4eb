"""Offensive-language quality, measured the same way by the tests and by ``make bench``.

* The functional suite (tests/fixtures/offensive/functional/<split>/<category>.txt, written by a
  separate session blind to the code): per category, the share of lines the check *flags* (any
  offensive finding for the line sent as the sender's own text); for ``must_not_block_mild`` the
  share *stopped* (held or refused) when sent outbound.  ``heldout`` was never trained or tuned on.
* OLID: the 20% of the training split the model never saw (train/offensive_model.py's seeded
  split), macro-F1 of "flagged" against OFF/NOT.
* Legitimate mail: the share of messages an outbound send would stop (quarantine or block)
  *because of* offensive-language findings, under the shipped policy.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from aupmilter.config import Config, load_config
from aupmilter.message import MessageView
from aupmilter.model import Action, Direction, Envelope
from aupmilter.policy import decide
from aupmilter.ruleset import build_ruleset

REPO = Path(__file__).resolve().parents[1]
FUNCTIONAL = REPO / "tests" / "fixtures" / "offensive" / "functional"
OLID = REPO.parent / "shared" / "data" / "offensive-dev" / "olid-training-v1.0.tsv"
OLID_SEED = 2019  # the split train/offensive_model.py trains on
OUTBOUND = Envelope("t@oakfield.example", ("p@home.test",), auth_user="t", direction=Direction.OUTBOUND)
STOPPED = (Action.QUARANTINE, Action.BLOCK)


@dataclass(frozen=True)
class Rate:
    category: str
    hits: int
    total: int

    @property
    def rate(self) -> float:
        return self.hits / self.total if self.total else 0.0

    @property
    def must_flag(self) -> bool:
        return self.category.startswith("must_flag")


class Measure:
    """The shipped configuration's offensive check, with the helpers the measurements need."""

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or load_config(None)
        self.check = next(c for c in build_ruleset(self.config).checks if c.name == "offensive")

    def flags(self, text: str) -> bool:
        return bool(self.check.flags(text))  # type: ignore[attr-defined]

    def stops(self, raw: bytes) -> bool:
        findings = list(self.check.run(OUTBOUND, MessageView(raw)))
        return decide(findings, Direction.OUTBOUND, self.config, None).action in STOPPED

    def functional(self, split: str) -> list[Rate]:
        rates = []
        for path in sorted((FUNCTIONAL / split).glob("*.txt")):
            lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
            category = path.stem
            if category == "must_not_block_mild":
                hits = sum(self.stops(_mail(ln)) for ln in lines)
            else:
                hits = sum(self.flags(ln) for ln in lines)
            rates.append(Rate(category, hits, len(lines)))
        return rates

    def olid_dev_macro_f1(self, predict: Callable[[list[str]], list[bool]] | None = None) -> float | None:
        dev = olid_dev()
        if dev is None:
            return None
        predict = predict or (lambda texts: [self.flags(t) for t in texts])
        return macro_f1(predict([t for t, _ in dev]), [y for _, y in dev])

    def ham_stop_rate(self, messages: Iterable[Path]) -> tuple[int, int]:
        paths = list(messages)
        return sum(self.stops(p.read_bytes()) for p in paths), len(paths)


def olid_dev() -> list[tuple[str, bool]] | None:
    if not OLID.exists():
        return None
    with OLID.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))[1:]
    data = [(r[1], r[2] == "OFF") for r in rows]
    random.Random(OLID_SEED).shuffle(data)
    return data[int(len(data) * 0.8) :]


def macro_f1(pred: list[bool], gold: list[bool]) -> float:
    scores = []
    for positive in (True, False):
        tp = sum(p == positive and g == positive for p, g in zip(pred, gold, strict=True))
        fp = sum(p == positive and g != positive for p, g in zip(pred, gold, strict=True))
        fn = sum(p != positive and g == positive for p, g in zip(pred, gold, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / 2


def _mail(body: str) -> bytes:
    return f"From: t@oakfield.example\r\nTo: p@home.test\r\nSubject: Hello\r\n\r\n{body}\r\n".encode()


def table(rates: list[Rate]) -> str:
    lines = ["| category | flagged | rate | target |", "|---|---|---|---|"]
    for r in rates:
        target = "≥ 95%" if r.must_flag else ("stopped ≤ 5%" if r.category == "must_not_block_mild" else "≤ 5%")
        lines.append(f"| {r.category} | {r.hits}/{r.total} | {r.rate:.1%} | {target} |")
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    measure = Measure()
    split = sys.argv[1] if len(sys.argv) > 1 else "heldout"
    print(table(measure.functional(split)))
    f1 = measure.olid_dev_macro_f1()
    print(f"OLID dev macro-F1: {f1:.3f}" if f1 is not None else "OLID absent")
