"""A small linear model over *named* features plus hashed words, read from a JSON file.

The chain-letter and phishing checks each pair their explainable cues with a learned second
opinion (issue 21: cue lists are precise but miss wording nobody wrote down).  The models are
trained offline by ``train/*.py`` with scikit-learn and exported here as plain weights, so the
milter needs no scikit-learn, no pickle (version-fragile and unsafe to load) and no network: a
dictionary lookup per feature, the same result on every machine.

Why named features: a weight on ``link_ip_host`` or ``forward_instruction`` can be shown to a
reviewer ("what made this score high"), and it generalises to wording the training data never
had.  The hashed words (CRC-32, stable across processes) add the vocabulary of the genre with a
small weight each.  A model file is a multinomial (softmax) or binary (sigmoid) logistic
regression::

    {"classes": [...], "bias": [...], "named": {name: [w per class]},
     "hashed_dim": N, "hashed": {index: [w per class]}, "meta": {...}}

For a binary model ``classes`` has two entries and every weight list has one value (class 1).
"""

from __future__ import annotations

import itertools
import json
import math
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import regex

from aupmilter.errors import ConfigError

MODELS_DIR = Path(__file__).resolve().parent / "models"
_WORD = regex.compile(r"[\p{L}\p{N}$€£]+(?:['’][\p{L}]+)?")


def words(text: str, limit: int = 3000) -> list[str]:
    """Lower-case word tokens (Unicode letters, so German/Portuguese words stay whole)."""
    out = []
    for m in _WORD.finditer(text.lower()):
        out.append(m.group())
        if len(out) >= limit:
            break
    return out


def hashed_words(text: str, dim: int, limit: int = 3000) -> dict[int, float]:
    """Unigram and bigram presence, hashed into ``dim`` buckets, scaled to unit length.

    Presence, not counts, so repetition does not add up; unit length, so a long text does not
    outweigh a short one by the sheer number of words it contains (unscaled, a 25,000-line
    MIME torture test scored as a certain chain letter)."""
    toks = words(text, limit)
    grams = [f"u:{t}" for t in toks] + [f"b:{a}_{b}" for a, b in itertools.pairwise(toks)]
    buckets = {zlib.crc32(g.encode()) % dim for g in grams}
    value = 1.0 / math.sqrt(len(buckets)) if buckets else 0.0
    return dict.fromkeys(buckets, value)


@dataclass(frozen=True)
class Scored:
    """A model's answer: class probabilities and the named features that pushed the winner up."""

    probabilities: dict[str, float]
    contributions: list[tuple[str, float]]  # (feature name, weight x value), largest first

    def best(self, exclude: str = "") -> tuple[str, float]:
        items = [(c, p) for c, p in self.probabilities.items() if c != exclude]
        return max(items, key=lambda cp: cp[1])


class FeatureModel:
    """Weights loaded from a model file (see module docstring); ``score`` is pure Python."""

    def __init__(self, data: Mapping[str, object], source: str = "") -> None:
        try:
            self.classes: list[str] = [str(c) for c in data["classes"]]  # type: ignore[attr-defined]
            self.bias: list[float] = [float(b) for b in data["bias"]]  # type: ignore[attr-defined]
            named = data.get("named", {})
            hashed = data.get("hashed", {})
            self.named: dict[str, list[float]] = {str(k): [float(x) for x in v] for k, v in named.items()}  # type: ignore[attr-defined]
            self.hashed: dict[int, list[float]] = {int(k): [float(x) for x in v] for k, v in hashed.items()}  # type: ignore[attr-defined]
            self.hashed_dim = int(data.get("hashed_dim", 0))  # type: ignore[call-overload]
            self.meta: dict[str, object] = dict(data.get("meta", {}))  # type: ignore[call-overload]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"{source or 'model'}: malformed model file ({exc})") from None
        self.binary = len(self.classes) == 2 and len(self.bias) == 1
        width = 1 if self.binary else len(self.classes)
        if len(self.bias) != width or any(len(v) != width for v in (*self.named.values(), *self.hashed.values())):
            raise ValueError(f"{source or 'model'}: weight lists do not match the classes")

    @classmethod
    def load(cls, path: Path) -> FeatureModel:
        try:
            return cls(json.loads(path.read_text(encoding="utf-8")), str(path))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: cannot load model ({exc})") from None

    @classmethod
    def shipped(cls, name: str) -> FeatureModel:
        """A model shipped in the package (``models/<name>.json``); a bad file is a ConfigError
        at load time, so a gateway never starts with half a check."""
        path = MODELS_DIR / f"{name}.json"
        try:
            return cls.load(path)
        except ValueError as exc:
            raise ConfigError(str(path), "", str(exc)) from None

    def score(self, named: Mapping[str, float], text: str = "") -> Scored:
        width = len(self.bias)
        z = list(self.bias)
        contrib: dict[str, list[float]] = {}
        for name, value in named.items():
            weights = self.named.get(name)
            if weights is None or not value:
                continue
            for k in range(width):
                z[k] += weights[k] * value
            contrib[name] = [w * value for w in weights]
        if self.hashed_dim and text:
            for index, value in hashed_words(text, self.hashed_dim).items():
                weights = self.hashed.get(index)
                if weights is not None:
                    for k in range(width):
                        z[k] += weights[k] * value
        if self.binary:
            p = _sigmoid(z[0])
            probs = {self.classes[0]: 1.0 - p, self.classes[1]: p}
            ranked = sorted(((n, w[0]) for n, w in contrib.items()), key=lambda c: -c[1])
        else:
            top = max(z)
            exps = [math.exp(v - top) for v in z]
            total = sum(exps)
            probs = {c: e / total for c, e in zip(self.classes, exps, strict=True)}
            best = max(range(width), key=lambda k: z[k])
            ranked = sorted(((n, w[best]) for n, w in contrib.items()), key=lambda c: -c[1])
        return Scored(probs, [(n, round(w, 3)) for n, w in ranked if w > 0])


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def export(
    classes: Iterable[str],
    coef: list[list[float]],
    intercept: list[float],
    named: list[str],
    hashed_dim: int,
    meta: Mapping[str, object],
    min_weight: float = 1e-3,
) -> dict[str, object]:
    """The model-file dictionary from a fitted logistic regression's ``coef_``/``intercept_``
    (columns: the named features in order, then ``hashed_dim`` hashed buckets).  Weights below
    ``min_weight`` for every class are dropped; everything is rounded so the file is small and
    byte-identical between runs."""
    cols = list(zip(*coef, strict=True))  # one tuple of per-class weights per column
    out_named = {
        name: [round(w, 4) for w in cols[i]]
        for i, name in enumerate(named)
        if max(abs(w) for w in cols[i]) >= min_weight
    }
    out_hashed = {
        str(j): [round(w, 4) for w in cols[len(named) + j]]
        for j in range(hashed_dim)
        if max(abs(w) for w in cols[len(named) + j]) >= min_weight
    }
    return {
        "classes": list(classes),
        "bias": [round(b, 4) for b in intercept],
        "named": out_named,
        "hashed_dim": hashed_dim,
        "hashed": out_hashed,
        "meta": dict(meta),
    }
