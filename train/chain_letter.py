"""Train the chain-letter model and write ``src/aupmilter/models/chain_letter.json``.

    .venv/bin/python -m train.chain_letter [--out PATH] [--check]

Data (all written for this project; nothing from the reserved evaluation sets):

* ``tests/fixtures/chain/mail/*.eml`` with ``labels.json``: the hand-written chain letters, junk,
  hard negatives and school mail the cues were developed on (junk counts as "clean": the model
  only says whether a message is a chain letter, and which family);
* long legitimate mail: 120 digests of 8-20 of the clean texts above (a long text is not a chain
  however many imperatives it holds);
* ``train/data/chain_train.txt``: further hand-written chain letters (money pyramids with
  REPORT lists and name lists, luck, hoax, charity and prayer chains in English, German,
  Portuguese, French and Spanish) and legitimate look-alikes (forwards, newsletters, school
  charity mail, rota lists), wrapped the three ways ``build_corpus.py`` wraps mail.

Model: multinomial logistic regression (scikit-learn, ``lbfgs``, fixed data order, so the
output file is byte-identical run to run) over the named mechanics of
:mod:`aupmilter.checks.chain_features` plus hashed words.  Prints 5-fold cross-validated
precision and recall of "chain letter" at the shipped threshold before fitting on everything.
``--check`` rebuilds in memory and fails if the shipped file differs (used by a test).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
from pathlib import Path
from typing import Any

from train.shipping import write_or_check

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "chain"
DATA = REPO / "train" / "data"
OUT = REPO / "src" / "aupmilter" / "models" / "chain_letter.json"
HASHED_DIM = 1 << 12
C = 50
CLASSES = ["clean", "luck", "pyramid", "hoax", "charity_hoax", "prayer"]


def _build_corpus() -> Any:
    spec = importlib.util.spec_from_file_location("chain_build_corpus", FIXTURES / "build_corpus.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def examples() -> list[tuple[bytes, str]]:
    """``(raw message, class)`` in a fixed order."""
    out: list[tuple[bytes, str]] = []
    labels: dict[str, str] = json.loads((FIXTURES / "labels.json").read_text())
    for name in sorted(labels):
        label = labels[name]
        cls = label.split(".", 1)[1] if label.startswith("chain_letter.") else "clean"
        out.append(((FIXTURES / name).read_bytes(), cls))
    bc = _build_corpus()
    for path in sorted(DATA.glob("chain_*.txt")):
        for i, (label, subject, body) in enumerate(bc.blocks(path)):
            friend, staff = bc.OUTSIDE[i % 2], bc.STAFF[i % len(bc.STAFF)]
            out.append((bc._mail(i, subject, bc._wrap(body), friend, staff).as_bytes(), label))
            if label == "clean" or i % 2 == 0:
                note = bc.FORWARD_NOTES[i % len(bc.FORWARD_NOTES)] if label != "clean" else "FYI, see below."
                fwd = f"{note}\n\n{bc._forward_block(friend, staff, subject, body, i)}"
                out.append((bc._mail(i, f"Fwd: {subject}", fwd, staff, bc.OUTSIDE[3]).as_bytes(), label))
            else:
                text = (
                    f"{bc.FORWARD_NOTES[i % len(bc.FORWARD_NOTES)]}\n\n{friend[0]} wrote:\n{bc._quoted(bc._wrap(body))}"
                )
                out.append((bc._mail(i, f"FW: {subject}", text, staff, bc.STAFF[0]).as_bytes(), label))
    # Long legitimate mail (digests, minutes, policies): the mechanics' words turn up in any long
    # text, so the model must see long texts that are not chains (without these, a MIME torture
    # test and a licence text scored as chain letters).
    rng = random.Random(5)
    clean = [
        (s, b)
        for path in [*sorted(DATA.glob("chain_*.txt")), FIXTURES / "school_mail.txt", FIXTURES / "hard_negatives.txt"]
        for label, s, b in bc.blocks(path)
        if label.split("/")[0] == "clean"
    ]
    for i in range(120):
        parts = rng.sample(clean, rng.randint(8, 20))
        body = "\n\n".join(f"{s}\n{b}" for s, b in parts)
        out.append(
            (
                bc._mail(
                    i,
                    rng.choice(["Weekly digest", "Staff bulletin", "Minutes", "Newsletter"]),
                    bc._wrap(body),
                    bc.STAFF[i % len(bc.STAFF)],
                    bc.OUTSIDE[i % len(bc.OUTSIDE)],
                ).as_bytes(),
                "clean",
            )
        )
    return out


def vectorise(raw_messages: list[bytes]) -> tuple[Any, list[str]]:
    from scipy.sparse import csr_matrix

    from aupmilter.checks import chain_features as cf
    from aupmilter.featmodel import hashed_words
    from aupmilter.message import MessageView

    names = cf.NAMES
    rows, cols, vals = [], [], []
    for r, raw in enumerate(raw_messages):
        view = MessageView(raw)
        text = cf.message_text(view)
        named = cf.features(view.subject, text)
        for c, name in enumerate(names):
            if named.get(name):
                rows.append(r)
                cols.append(c)
                vals.append(named[name])
        for j, v in hashed_words(text, HASHED_DIM).items():
            rows.append(r)
            cols.append(len(names) + j)
            vals.append(v)
    return csr_matrix((vals, (rows, cols)), shape=(len(raw_messages), len(names) + HASHED_DIM)), names


def fit(x: Any, y: list[int]) -> Any:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=5000, class_weight="balanced", solver="lbfgs")
    model.fit(x, y)
    return model


def threshold() -> float:
    import tomllib

    data = tomllib.loads((REPO / "rules" / "chain_letter.toml").read_text())
    return float(data["model"]["threshold"])


def build(verbose: bool) -> dict[str, object]:
    from sklearn.model_selection import StratifiedKFold

    from aupmilter.featmodel import export

    data = examples()
    x, names = vectorise([raw for raw, _ in data])
    y = [CLASSES.index(cls) for _, cls in data]
    if verbose:
        t = threshold()
        tp = fp = fn = 0
        for train_idx, test_idx in StratifiedKFold(5, shuffle=True, random_state=7).split(x, y):
            model = fit(x[train_idx], [y[i] for i in train_idx])
            proba = model.predict_proba(x[test_idx])
            for row, i in enumerate(test_idx):
                said = 1.0 - proba[row][list(model.classes_).index(0)] >= t
                truth = y[i] != 0
                tp += said and truth
                fp += said and not truth
                fn += truth and not said
        print(
            f"5-fold CV at threshold {t}: precision {tp / max(1, tp + fp):.3f} recall {tp / max(1, tp + fn):.3f} "
            f"({tp + fn} chain letters, {len(y) - tp - fn} others, {fp} false alarms)"
        )
    model = fit(x, y)
    return export(
        CLASSES,
        [list(map(float, row)) for row in model.coef_],
        [float(b) for b in model.intercept_],
        names,
        HASHED_DIM,
        {
            "trained_on": "tests/fixtures/chain (hand-written, project) + train/data/chain_train.txt (hand-written, project)",
            "examples": len(y),
            "chain_letters": sum(1 for v in y if v),
            "algorithm": f"multinomial logistic regression, scikit-learn, C={C}, class_weight=balanced",
        },
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--check", action="store_true", help="fail if the shipped model differs from a rebuild")
    args = parser.parse_args()
    model = build(verbose=not args.check)
    return write_or_check(model, Path(args.out), args.check, "chain-letter")


if __name__ == "__main__":
    sys.exit(main())
