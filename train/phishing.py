"""Train the phishing model and write ``src/aupmilter/models/phishing.json``.

    .venv/bin/python -m train.phishing [--out PATH] [--check]

Data (all written for this project; nothing from the reserved evaluation sets):

* ``train/phishing_data.py``: 1,500 phishing and 2,000 legitimate messages generated from
  hand-written sentence pools in English, German, Portuguese, French and Spanish (seed 21);
* ``tests/fixtures/phishing/mail/*.eml``: the hand-written labelled phishing corpus.

Model: binary logistic regression (scikit-learn, ``lbfgs``) over the *named* features of
:mod:`aupmilter.checks.phishing.features` only: no hashed words, because sentences we wrote
ourselves must not become the model's vocabulary; the lure categories are its text part.
Prints 5-fold cross-validated recall and false-positive rate at the tag threshold and at the
quarantine score, then fits on everything.  ``--check`` fails if the shipped file differs.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

from train.shipping import write_or_check

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "phishing"
OUT = REPO / "src" / "aupmilter" / "models" / "phishing.json"
C = 1.0
N_PHISH, N_HAM = 1500, 2000
QUARANTINE_P = 0.9  # SUSPICIOUS_SCALE x P reaches the quarantine tier (rules/policy.d/phishing.toml) from here


def examples() -> list[tuple[bytes, str, int]]:
    """``(raw, direction, label)``: label 1 phishing, 0 legitimate; fixed order."""
    from train import phishing_data as gen

    rng = random.Random(21)
    out: list[tuple[bytes, str, int]] = []
    for i in range(N_PHISH):
        out.append((gen.phishing(rng, i).as_bytes(), "inbound", 1))
    for i in range(N_HAM):
        out.append((gen.legitimate(rng, i).as_bytes(), "inbound", 0))
    labels: dict[str, dict[str, str]] = json.loads((FIXTURES / "labels.json").read_text())
    for name in sorted(labels):
        spec = labels[name]
        if spec["direction"] == "inbound":
            out.append(((FIXTURES / name).read_bytes(), "inbound", int(spec["label"] == "phishing")))
    return out


def _check() -> Any:
    from aupmilter.config import load_config
    from aupmilter.ruleset import build_ruleset

    if not OUT.exists():  # first training: the check needs some model file to start
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps({"classes": ["legitimate", "phishing"], "bias": [0.0], "named": {}}))
    return next(c for c in build_ruleset(load_config(None)).checks if c.name == "phishing")


def vectorise(data: list[tuple[bytes, str, int]]) -> tuple[list[list[float]], list[str]]:
    from aupmilter.checks.phishing import extract_links
    from aupmilter.checks.phishing import features as pf
    from aupmilter.message import MessageView
    from aupmilter.model import Direction, Envelope

    check = _check()
    rows = []
    for raw, _direction, _ in data:
        view = MessageView(raw)
        env = Envelope("x@outside.test", ("s.patel@oakfield.example",), direction=Direction.INBOUND)
        links = extract_links(view, check.rules.max_links)
        findings = [f for f in check.run(env, view) if f.rule != "phishing.suspicious"]
        harvest = sum(cue.weight for cue, _, _ in check.cue_hits(view))
        named, _ = check.feature_vector(env, view, links, findings, harvest)
        rows.append([named[n] for n in pf.NAMES])
    return rows, list(pf.NAMES)


def threshold() -> float:
    import tomllib

    return float(tomllib.loads((REPO / "rules" / "phishing.toml").read_text())["model"]["threshold"])


def fit(x: Any, y: list[int]) -> Any:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=5000, class_weight="balanced", solver="lbfgs")
    model.fit(x, y)
    return model


def build(verbose: bool) -> dict[str, object]:
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    from aupmilter.featmodel import export

    data = examples()
    rows, names = vectorise(data)
    x = np.array(rows)
    y = [label for _, _, label in data]
    if verbose:
        t = threshold()
        counts = {"tp": 0, "fn": 0, "fp": 0, "tn": 0, "q_fp": 0, "q_tp": 0}
        for train_idx, test_idx in StratifiedKFold(5, shuffle=True, random_state=7).split(x, y):
            model = fit(x[train_idx], [y[i] for i in train_idx])
            proba = model.predict_proba(x[test_idx])[:, 1]
            for p, i in zip(proba, test_idx, strict=True):
                truth = y[i] == 1
                counts[("tp" if p >= t else "fn") if truth else ("fp" if p >= t else "tn")] += 1
                if p >= QUARANTINE_P:
                    counts["q_tp" if truth else "q_fp"] += 1
        pos, neg = counts["tp"] + counts["fn"], counts["fp"] + counts["tn"]
        print(
            f"5-fold CV ({pos} phishing, {neg} legitimate): tagged at P>={t}: recall {counts['tp'] / pos:.3f}, "
            f"legitimate tagged {counts['fp'] / neg:.4f}; model alone quarantines (P>={QUARANTINE_P}): "
            f"phishing {counts['q_tp'] / pos:.3f}, legitimate {counts['q_fp'] / neg:.4f}"
        )
    model = fit(x, y)
    return export(
        ["legitimate", "phishing"],
        [list(map(float, row)) for row in model.coef_],
        [float(b) for b in model.intercept_],
        names,
        0,
        {
            "trained_on": "train/phishing_data.py (generated from hand-written EN/DE/PT/FR/ES pools, seed 21) + tests/fixtures/phishing (hand-written)",
            "examples": len(y),
            "phishing": sum(y),
            "algorithm": f"binary logistic regression over named features, scikit-learn, C={C}, class_weight=balanced",
        },
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--check", action="store_true", help="fail if the shipped model differs from a rebuild")
    args = parser.parse_args()
    model = build(verbose=not args.check)
    status = write_or_check(model, Path(args.out), args.check, "phishing")
    if status or args.check:
        return status
    weights = sorted(((w[0], n) for n, w in model["named"].items()), reverse=True)  # type: ignore[attr-defined]
    print("largest weights:", ", ".join(f"{n} {w:+.2f}" for w, n in weights[:12]))
    print("most negative:", ", ".join(f"{n} {w:+.2f}" for w, n in weights[-6:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
