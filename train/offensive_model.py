"""Train the offensive-language model and write ``rules/lexicon/offensive-model.json``.

    python -m train.offensive_model [--data var/offensive-data] [--out PATH]

Training data (docs/policy.md lists sources and licences):

* OLID v1.0 training split (../shared/data/offensive-dev), **80%** of it: a fixed, seeded split;
  the other 20% is the OLID *dev* set, never trained on (``--report`` measures it).
* HateXplain (Mathew et al. 2021, MIT), a copy at ``<data>/hatexplain.tsv`` (text, label, extra):
  label 1 = hate speech or offensive.  Optional: skipped with a notice when absent.
* The project's own functional suite, **dev split only** (tests/fixtures/offensive/functional/dev):
  must-flag lines are positives, must-not lines negatives.  The held-out split is never read here.
* Templated identity statements written for this script (neutral and positive mentions of every
  protected group in targets.toml), as negatives, so a group's name alone is not evidence.
* Legitimate mailing-list mail, optional: ``<data>/ham/ksummit/*.eml``, even-numbered files only
  (odd ones are kept for measuring), sentences of the sender's own text as negatives.

Deterministic: fixed seeds, liblinear, sorted inputs.  Prints the OLID dev macro-F1 of the model
alone and of the whole check, and writes the threshold chosen on a validation slice of the
*training* data (never on OLID dev or the held-out suite).
"""

from __future__ import annotations

import argparse
import csv
import email
import email.policy
import json
import random
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from aupmilter.checks.offensive.hate import HateDetector
from aupmilter.checks.offensive.model import DIM, OffensiveModel
from aupmilter.quoting import OWN, split_quoted

REPO = Path(__file__).resolve().parents[1]
LEXICON = REPO / "src" / "aupmilter" / "rules" / "lexicon"
OLID = REPO.parent / "shared" / "data" / "offensive-dev" / "olid-training-v1.0.tsv"
FUNCTIONAL_DEV = REPO / "tests" / "fixtures" / "offensive" / "functional" / "dev"
SEED = 2019

_IDENTITY_TEMPLATES = [
    "We have two {g} joining the staff in September.",
    "Our {g} network meets on Tuesday after school.",
    "I live with two {g}.",
    "Many {g} came to the open evening.",
    "The assembly on Friday celebrates {g} in our community.",
    "I love working with {g}.",
    "{G} are welcome at every club we run.",
    "We are proud to support {g}.",
    "Please make sure {g} have the access arrangements they need.",
    "The guest speaker talked about the history of {g} in Britain.",
    "{G} are part of our school family.",
    "I was chatting to some {g} at the fair, they were lovely.",
    "The survey asked {g} about their experience of the school.",
    "Our policy protects {g} from discrimination.",
    "Some {g} asked whether the prayer room is free at lunch.",
    "There are lots of {g} in the choir this year.",
    "I admire {g} who speak up about their experiences.",
    "The governors want to hear from {g}.",
    "Being one of the {g} in the department, she led the training.",
    "Thank you to the {g} who volunteered at sports day.",
]


def load_olid() -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """OLID's training split cut 80/20 with a fixed seed: (train, dev)."""
    with OLID.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))[1:]
    data = [(r[1], 1 if r[2] == "OFF" else 0) for r in rows]
    random.Random(SEED).shuffle(data)
    cut = int(len(data) * 0.8)
    return data[:cut], data[cut:]


def load_tsv(path: Path) -> list[tuple[str, int]]:
    if not path.exists():
        print(f"  (absent, skipped: {path})")
        return []
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    return [(r[0], int(r[1])) for r in rows if len(r) >= 2 and r[1] in {"0", "1"}]


def load_functional(directory: Path) -> list[tuple[str, int]]:
    out = []
    for path in sorted(directory.glob("*.txt")):
        label = 1 if path.name.startswith("must_flag") else 0
        out += [(line, label) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out


def identity_statements(detector: HateDetector) -> list[tuple[str, int]]:
    import tomllib

    targets = tomllib.loads((LEXICON / "targets.toml").read_text(encoding="utf-8"))
    nouns = sorted(
        {n for spec in targets["groups"].values() for n in spec["nouns"] if n.endswith("s") and " " not in n}
    )
    nouns += sorted(
        {f"{a} {p}" for spec in targets["groups"].values() for a in spec["adjectives"] for p in ("people", "pupils")}
    )
    rng = random.Random(SEED)
    out = []
    for noun in nouns:
        for template in rng.sample(_IDENTITY_TEMPLATES, 4):
            out.append((template.format(g=noun, G=noun[:1].upper() + noun[1:]), 0))
    return out


def load_ham(directory: Path, parity: int, limit_lines: int = 40) -> list[tuple[str, int]]:
    out = []
    for i, path in enumerate(sorted(directory.glob("*.eml"))):
        if i % 2 != parity:
            continue
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        subject = str(msg.get("Subject", ""))
        body = msg.get_body(preferencelist=("plain",))
        text = ""
        if body is not None:
            try:
                text = body.get_content()  # type: ignore[attr-defined]
            except (LookupError, ValueError):
                text = ""
        own = "\n".join(t for kind, t in split_quoted(text) if kind == OWN)
        lines = [ln for ln in own.splitlines() if ln.strip()][:limit_lines]
        if subject:
            out.append((subject, 0))
        out += [(ln, 0) for ln in lines if len(ln.split()) >= 4]
    return out


def matrix(model: OffensiveModel, texts: list[str]) -> csr_matrix:
    """Rows as the model scores them: hashed features present (1) and character n-grams counted
    once per distinct word (so a row's score is the sum the model computes word by word)."""
    from collections import Counter

    indices: list[int] = []
    values: list[float] = []
    pointers = [0]
    for text in texts:
        row: Counter[int] = Counter()
        for _, symbols in model.detector.analyse(text):
            hashed, words = model.sentence_features(symbols)
            row.update(dict.fromkeys(hashed, 1))
            for word in words:
                row.update(model.char_features(word))
        for feature in sorted(row):
            indices.append(feature)
            values.append(float(row[feature]))
        pointers.append(len(indices))
    return csr_matrix((np.array(values, dtype=np.float32), indices, pointers), shape=(len(texts), DIM))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / "var" / "offensive-data")
    parser.add_argument("--out", type=Path, default=LEXICON / "offensive-model.json")
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--min-weight", type=float, default=0.1)
    parser.add_argument(
        "--with-hatexplain", action="store_true", help="add HateXplain (measured: lowers OLID dev macro-F1)"
    )
    args = parser.parse_args()
    if not OLID.exists():
        raise SystemExit(f"OLID training split not found at {OLID}")
    detector = HateDetector(LEXICON)
    featuriser = OffensiveModel({}, 0.0, detector)
    olid_train, olid_dev = load_olid()
    print("data:")
    sources: dict[str, list[tuple[str, int]]] = {
        "olid-80%": olid_train,
        "hatexplain": load_tsv(args.data / "hatexplain.tsv") if args.with_hatexplain else [],
        "functional-dev": load_functional(FUNCTIONAL_DEV),
        "identity-templates": identity_statements(detector),
        "ham-ksummit-even": load_ham(args.data / "ham" / "ksummit", 0) if (args.data / "ham").exists() else [],
    }
    for name, rows in sources.items():
        print(f"  {name}: {len(rows)} ({sum(y for _, y in rows)} positive)")
    # Validation slice for the threshold: the last 15% of the OLID training rows (OLID dev is only
    # reported, never used to choose anything).
    olid_cut = int(len(olid_train) * 0.85)
    val_rows = olid_train[olid_cut:]
    fit_rows = olid_train[:olid_cut] + [r for name in sorted(sources) if name != "olid-80%" for r in sources[name]]
    random.Random(SEED).shuffle(fit_rows)
    rows = [r for name in sorted(sources) for r in sources[name]]
    random.Random(SEED).shuffle(rows)
    X_fit = matrix(featuriser, [t for t, _ in fit_rows])
    clf = LogisticRegression(C=args.C, max_iter=3000, class_weight="balanced", solver="liblinear", random_state=SEED)
    clf.fit(X_fit, [y for _, y in fit_rows])
    val_p = clf.predict_proba(matrix(featuriser, [t for t, _ in val_rows]))[:, 1]
    val_y = [y for _, y in val_rows]
    threshold = max(np.arange(0.4, 0.91, 0.025), key=lambda t: f1_score(val_y, val_p >= t, average="macro"))
    print(f"threshold (validation slice of training data): {threshold:.3f}")
    # Refit on everything, export.
    X_all = matrix(featuriser, [t for t, _ in rows])
    clf.fit(X_all, [y for _, y in rows])
    coef = clf.coef_[0]
    kept = {int(i): round(float(coef[i]), 3) for i in np.flatnonzero(np.abs(coef) >= args.min_weight)}
    meta = {
        "trained_on": {name: len(r) for name, r in sources.items()},
        "threshold": round(float(threshold), 3),
        "C": args.C,
        "seed": SEED,
    }
    args.out.write_text(
        json.dumps(
            {"dim": DIM, "bias": round(float(clf.intercept_[0]), 4), "meta": meta, "w": kept}, separators=(",", ":")
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"{args.out}: {len(kept)} weights, {args.out.stat().st_size // 1024} KiB")
    shipped = OffensiveModel(kept, float(clf.intercept_[0]), detector)
    p = [shipped.max_sentence_probability(t) for t, _ in olid_dev]
    gold = [y for _, y in olid_dev]
    alone = [x >= threshold for x in p]
    print(f"OLID dev (20%, never trained on) macro-F1, model alone: {f1_score(gold, alone, average='macro'):.3f}")
    from aupmilter.checks.offensive.lexicon import Lexicon
    from aupmilter.checks.offensive.spelling import load_real_words

    lexicon = Lexicon(LEXICON, load_real_words(LEXICON / "realwords.txt"))
    rules = [bool(lexicon.scan(detector.unmentioned(t)) or detector.scan(t)) for t, _ in olid_dev]
    both = [a or b for a, b in zip(alone, rules, strict=True)]
    rules_f1 = f1_score(gold, rules, average="macro")
    both_f1 = f1_score(gold, both, average="macro")
    print(f"OLID dev macro-F1, rules alone: {rules_f1:.3f}; the whole check: {both_f1:.3f}")


if __name__ == "__main__":
    main()
