"""The learned second opinion: a logistic-regression model over hashed sentence features.

Rules name what they know; a model generalises to wording nobody listed ("Jews control the
banks", "your face makes me want to vomit").  It reads each sentence as the hate frames do
(:class:`~.hate.HateDetector` normalisation: leet, look-alikes, spacing, misspellings, words run
together), with protected groups replaced by ``<group>`` and the addressee by ``<you>``, so what
it learns about one group carries to all of them.  Features: word unigrams and bigrams over that
abstracted sentence, character 3-5-grams of each word (robust to spelling), and the sentence's
word-class trigrams (``G A X`` = "<group> are <attribute>").  All are hashed (CRC-32, stable
across processes) into :data:`DIM` buckets.

Trained offline by ``train/offensive_model.py`` (``make train``) on data listed in
docs/policy.md; shipped as ``rules/lexicon/offensive-model.json`` (non-zero weights only); loads
with no network in milliseconds; CPU only; deterministic (liblinear, fixed seeds).
"""

from __future__ import annotations

import itertools
import json
import math
import zlib
from pathlib import Path

from aupmilter.checks.offensive.hate import GROUP, OTHER, THEY, YOU, HateDetector, Word

DIM = 1 << 20
#: Sentences scored per text part: the rest of a very long part is not read by the model.
MAX_SENTENCES = 200


class OffensiveModel:
    def __init__(self, weights: dict[int, float], bias: float, detector: HateDetector) -> None:
        self.weights = weights
        self.bias = bias
        self.detector = detector
        self._char_memo: dict[str, list[int]] = {}

    @classmethod
    def load(cls, path: Path, detector: HateDetector) -> OffensiveModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("dim") != DIM:
            raise ValueError(f"{path}: model dimension {data.get('dim')} != {DIM}")
        return cls({int(k): float(v) for k, v in data["w"].items()}, float(data["bias"]), detector)

    def sentence_features(self, words: list[Word]) -> list[int]:
        """Hashed features of one sentence (as :meth:`HateDetector.sentences` gives it)."""
        symbols = self.detector.symbols(words)
        abstract: list[str] = []
        for s in symbols:
            if s.cls == "|":
                continue
            if s.cls == GROUP or (s.cls == THEY and s.category):
                abstract.append("<group>")
            elif s.cls == YOU:
                abstract.append("<you>")
            else:
                abstract.extend(s.words)
        grams = [f"u:{t}" for t in abstract]
        grams += [f"b:{a}_{b}" for a, b in itertools.pairwise(abstract)]
        classes = [s.cls for s in symbols if s.cls not in {"|", OTHER}]
        grams += [f"k:{''.join(t)}" for t in zip(classes, classes[1:], classes[2:], strict=False)]
        out = [zlib.crc32(g.encode()) % DIM for g in grams]
        for w in words:
            if w.text != "|":
                out.extend(self._char_features(w.text))
        return out

    def _char_features(self, word: str) -> list[int]:
        cached = self._char_memo.get(word)
        if cached is not None:
            return cached
        if len(self._char_memo) > 200_000:
            self._char_memo.clear()
        padded = f"<{word}>"
        grams = {f"c{k}:{padded[i : i + k]}" for k in (3, 4, 5) for i in range(len(padded) - k + 1)}
        feats = [zlib.crc32(g.encode()) % DIM for g in sorted(grams)]
        self._char_memo[word] = feats
        return feats

    def features(self, text: str) -> list[list[int]]:
        """One feature list per sentence of ``text``."""
        return [self.sentence_features(s) for s in self.detector.sentences(text)[:MAX_SENTENCES]]

    def probability(self, features: list[int]) -> float:
        z = self.bias + sum(self.weights.get(f, 0.0) for f in set(features))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def max_sentence_probability(self, text: str) -> float:
        return max((self.probability(f) for f in self.features(text)), default=0.0)
