"""A small linear model of offensive text: the statistical second opinion to the lexicons.

Logistic regression over hashed unigrams and bigrams of *normalised* tokens (so it sees
through the same obfuscations as the lexicons).  Trained offline by
``bench/train_offensive_model.py`` on the OLID training split and saved as a JSON file of
non-zero weights: no network, no model hub, loads in milliseconds.  Measured: it lifts F1 on
OLID (5-fold CV) from 0.55 to 0.62, but flags ordinary school letters (safeguarding reports,
behaviour letters) at the same confidence, so it is off by default and not shipped.
The hash is CRC-32 (stable across processes, unlike
Python's ``hash``).  Mail is scored per sentence and the maximum taken, because one abusive
sentence in a long letter is diluted if the whole body is scored at once.
"""

from __future__ import annotations

import itertools
import json
import math
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import regex

from aupmilter.normalise import prepare, tokens

DIM = 1 << 18
_SENTENCES = regex.compile(r"(?<=[.!?])\s+|\n+")


def features(text: str) -> list[int]:
    toks = [t.text for t in tokens(prepare(text))]
    grams = [f"u:{t}" for t in toks] + [f"b:{a}_{b}" for a, b in itertools.pairwise(toks)]
    return [zlib.crc32(g.encode()) % DIM for g in grams]


def sentences(text: str, limit: int = 400) -> list[str]:
    parts = [p.strip() for p in _SENTENCES.split(text) if p and len(p.strip()) > 2]
    return parts[:limit]


class LinearModel:
    def __init__(self, weights: dict[int, float], bias: float) -> None:
        self.weights = weights
        self.bias = bias

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        data = json.loads(path.read_text())
        if data.get("dim") != DIM:
            raise ValueError(f"{path}: model dimension {data.get('dim')} != {DIM}")
        return cls({int(k): float(v) for k, v in data["w"].items()}, float(data["bias"]))

    def save(self, path: Path, min_weight: float = 0.02, meta: dict[str, object] | None = None) -> None:
        kept = {str(k): round(v, 4) for k, v in self.weights.items() if abs(v) >= min_weight}
        path.write_text(
            json.dumps(
                {"dim": DIM, "bias": round(self.bias, 4), "meta": meta or {}, "w": kept},
                separators=(",", ":"),
            )
        )

    def probability(self, feats: Iterable[int]) -> float:
        z = self.bias + sum(self.weights.get(f, 0.0) for f in feats)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def max_sentence_probability(self, text: str) -> float:
        return max((self.probability(features(s)) for s in sentences(text)), default=0.0)

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        labels: Sequence[int],
        epochs: int = 6,
        lr: float = 0.2,
        l2: float = 1e-5,
        seed: int = 7,
    ) -> LinearModel:
        """Plain SGD, class-balanced; deterministic for a given seed."""
        import random

        data = [(features(t), y) for t, y in zip(texts, labels, strict=True)]
        pos = sum(labels) or 1
        neg = (len(labels) - pos) or 1
        weight_of = {1: len(labels) / (2 * pos), 0: len(labels) / (2 * neg)}
        w: dict[int, float] = {}
        b = 0.0
        rng = random.Random(seed)
        for epoch in range(epochs):
            rng.shuffle(data)
            step = lr / (1 + epoch)
            for feats, y in data:
                z = b + sum(w.get(f, 0.0) for f in feats)
                p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
                g = (p - y) * weight_of[y]
                b -= step * g
                for f in feats:
                    w[f] = w.get(f, 0.0) * (1 - step * l2) - step * g
        return cls(w, b)
