"""The learned second opinion: a logistic-regression model over hashed sentence features.

Rules name what they know; a model generalises to wording nobody listed ("Jews control the
banks", "your face makes me want to vomit").  It reads each sentence as the hate frames do
(:class:`~.hate.HateDetector` normalisation: leet, look-alikes, spacing, misspellings, words run
together), with protected groups replaced by ``<group>``, the addressee by ``<you>`` and names by
``<name>``, so what it learns about one group carries to all of them and no surname is evidence.
Features: word unigrams and bigrams over that abstracted sentence, character 3-5-grams of each
word (robust to spelling), and the sentence's word-class trigrams (``G A X`` = "<group> are
<attribute>").  All are hashed (CRC-32, stable
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

from tests.offensive_reference.hate import GROUP, OTHER, THEY, YOU, HateDetector, Symbol, Word

DIM = 1 << 20
#: Sentences scored per text part: the rest of a very long part is not read by the model.
MAX_SENTENCES = 200


def _looks_like_data(words: list[Word]) -> bool:
    """Encoded or machine text (base64, hex, log lines): two or a quarter of its tokens are long
    mixes of digits and letters.  Leet folding turns "0x20000" into "ox2oooo"; the model must not read that as words."""
    tokens = 0
    mixed = 0
    for w in words:
        if w.text != "|":
            tokens += 1
            if _data_token(w.raw):
                mixed += 1
    return mixed >= 2 or (tokens > 0 and mixed * 4 >= tokens)


def _data_token(token: str) -> bool:
    """Long tokens mixing digits and letters ("a2ad0f9c", "0x20000"); leet words are short.
    (The character tests run in C: a 50 KB run of letters is one token.)"""
    if token[:2] in ("0x", "0X"):
        return True
    if len(token) < 7 or token.isalpha() or token.isdigit():
        return False
    return any(map(str.isdigit, token)) and any(map(str.isalpha, token))


class OffensiveModel:
    def __init__(self, weights: dict[int, float], bias: float, detector: HateDetector) -> None:
        self.weights = weights
        self.bias = bias
        self.detector = detector
        self._char_memo: dict[str, float] = {}
        self._gram_memo: dict[str, int] = {}  # feature string -> bucket (mail repeats its words)

    @classmethod
    def load(cls, path: Path, detector: HateDetector) -> OffensiveModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("dim") != DIM:
            raise ValueError(f"{path}: model dimension {data.get('dim')} != {DIM}")
        return cls({int(k): float(v) for k, v in data["w"].items()}, float(data["bias"]), detector)

    def sentence_features(self, symbols: list[Symbol]) -> tuple[set[int], set[str]]:
        """One sentence (as :meth:`HateDetector.analyse` gives it) as its hashed word, bigram and
        class features, and the set of its words whose character n-grams count (group names
        excepted: what is learnt about one group must carry to the others; capitalised unlisted
        words, i.e. names, excepted: a surname is no evidence of anything)."""
        abstract: list[str] = []
        words: set[str] = set()
        for s in symbols:
            if s.cls == "|":
                continue
            if s.cls == GROUP or (s.cls == THEY and s.category):
                abstract.append("<group>")
            elif s.cls == YOU:
                abstract.append("<you>")
            elif s.capitalised:
                abstract.append("<name>")  # names carry no offence: "Hussain" must not learn one
            else:
                abstract.extend(s.words)
                words.update(s.words)
        memo = self._gram_memo
        if len(memo) > 400_000:
            memo.clear()
        hashed: set[int] = set()
        grams = [f"u:{t}" for t in abstract]
        grams += [f"b:{a}_{b}" for a, b in itertools.pairwise(abstract)]
        classes = [s.cls for s in symbols if s.cls not in {"|", OTHER}]
        grams += [f"k:{''.join(t)}" for t in zip(classes, classes[1:], classes[2:], strict=False)]
        for g in grams:
            h = memo.get(g)
            if h is None:
                h = memo[g] = zlib.crc32(g.encode()) % DIM
            hashed.add(h)
        return hashed, words

    @staticmethod
    def char_features(word: str) -> list[int]:
        """The character 3-5-grams of one word, hashed (each counted once per word)."""
        padded = f"<{word}>"
        grams = {f"c{k}:{padded[i : i + k]}" for k in (3, 4, 5) for i in range(len(padded) - k + 1)}
        return [zlib.crc32(g.encode()) % DIM for g in grams]

    def _word_score(self, word: str) -> float:
        """The summed weight of a word's character n-grams, memoised (mail repeats its words)."""
        cached = self._char_memo.get(word)
        if cached is not None:
            return cached
        if len(self._char_memo) > 200_000:
            self._char_memo.clear()
        get = self.weights.get
        score = sum(get(f, 0.0) for f in self.char_features(word))
        self._char_memo[word] = score
        return score

    def sentence_probability(self, symbols: list[Symbol]) -> float:
        hashed, words = self.sentence_features(symbols)
        get = self.weights.get
        z = self.bias + sum(get(f, 0.0) for f in hashed) + sum(self._word_score(w) for w in words)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def max_sentence_probability(self, text: str) -> float:
        """The most offensive sentence's probability.  Sentences that quote, report or condemn
        (counter-speech, as :class:`HateDetector` judges it) are not the sender's words and are
        not scored: measured, the model alone flagged 30% of counter-speech, 6% with this gate."""
        best = 0.0
        for words, symbols in self.detector.analyse(text)[:MAX_SENTENCES]:
            if (
                _looks_like_data(words)
                or self.detector.negated_frame(symbols)
                or self.detector.is_counter_speech(words, symbols)
            ):
                continue
            best = max(best, self.sentence_probability(symbols))
        return best
