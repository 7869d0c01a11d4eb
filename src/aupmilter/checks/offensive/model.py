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
import operator
import zlib
from pathlib import Path

from aupmilter.checks.offensive.hate import BOUNDARY, GROUP, OTHER, THEY, YOU, HateDetector, Symbol, Word

DIM = 1 << 20
#: Sentences scored per text part: the rest of a very long part is not read by the model.
MAX_SENTENCES = 200
#: Most entries a memo of buckets or tokens keeps before it starts again.
MEMO_SIZE = 200_000
_CLASS = operator.itemgetter(0)  # a Symbol's class, a Word's text
_RAW = operator.itemgetter(1)  # a Word as written


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
        self._unigrams: dict[str, int] = {}  # word -> bucket of its unigram feature
        self._bigrams: dict[tuple[str, str], int] = {}  # word pair -> bucket of its bigram feature
        self._trigrams: dict[tuple[str, str, str], int] = {}  # class triple -> bucket
        self._data_memo: dict[str, bool] = {}  # token -> is it a data token

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
        """The probability that one sentence is offensive: the weights of the features
        :meth:`sentence_features` names, each feature's bucket looked up in memos of words,
        word pairs and class triples (the same buckets, summed in the same order)."""
        abstract: list[str] = []
        plain: list[str] = []  # the words whose character n-grams count
        for s in symbols:
            cls = s.cls
            if cls == BOUNDARY:
                continue
            if cls == GROUP or (cls == THEY and s.category):
                abstract.append("<group>")
            elif cls == YOU:
                abstract.append("<you>")
            elif s.capitalised:
                abstract.append("<name>")
            else:
                abstract += s.words
                plain += s.words
        classes = "".join(map(_CLASS, symbols)).replace(BOUNDARY, "").replace(OTHER, "")
        try:
            hashed = self._buckets(abstract, classes)
        except KeyError:
            self._learn(abstract, classes)
            hashed = self._buckets(abstract, classes)
        get = self.weights.get
        words = set(plain)
        scores = self._char_memo
        try:
            chars = sum(map(scores.__getitem__, words))
        except KeyError:
            chars = sum(self._word_score(w) for w in words)
        z = self.bias + sum(map(get, hashed, itertools.repeat(0.0))) + chars
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def _buckets(self, abstract: list[str], classes: str) -> set[int]:
        """The buckets of the word unigrams, bigrams and class trigrams, added in that order
        as :meth:`sentence_features` adds them (so the set iterates, and sums, alike);
        ``KeyError`` when one is not memoised yet."""
        out = set(map(self._unigrams.__getitem__, abstract))
        out.update(map(self._bigrams.__getitem__, itertools.pairwise(abstract)))
        if len(classes) > 2:
            out.update(map(self._trigrams.__getitem__, zip(classes, classes[1:], classes[2:], strict=False)))
        return out

    def _learn(self, abstract: list[str], classes: str) -> None:
        """Memoise the buckets :meth:`_buckets` needs (mail repeats its words and pairs)."""
        if len(self._unigrams) + len(self._bigrams) + len(self._trigrams) > MEMO_SIZE:
            self._unigrams.clear()
            self._bigrams.clear()
            self._trigrams.clear()
        for t in abstract:
            if t not in self._unigrams:
                self._unigrams[t] = _bucket(f"u:{t}")
        for a, b in itertools.pairwise(abstract):
            if (a, b) not in self._bigrams:
                self._bigrams[a, b] = _bucket(f"b:{a}_{b}")
        for triple in zip(classes, classes[1:], classes[2:], strict=False):
            if triple not in self._trigrams:
                self._trigrams[triple] = _bucket(f"k:{''.join(triple)}")

    def _is_data(self, words: list[Word]) -> bool:
        """:func:`_looks_like_data`, with each token's answer memoised.  (Boundary words are
        punctuation, one character: never a data token, so they may be counted.)"""
        memo = self._data_memo
        try:
            mixed = sum(map(memo.__getitem__, map(_RAW, words)))
        except KeyError:
            if len(memo) > MEMO_SIZE:
                memo.clear()
            for w in words:
                memo[w.raw] = _data_token(w.raw)
            mixed = sum(map(memo.__getitem__, map(_RAW, words)))
        if not mixed:
            return False
        tokens = len(words) - list(map(_CLASS, words)).count(BOUNDARY)
        return mixed >= 2 or (tokens > 0 and mixed * 4 >= tokens)

    def max_sentence_probability(self, text: str) -> float:
        """The most offensive sentence's probability.  Sentences that quote, report or condemn
        (counter-speech, as :class:`HateDetector` judges it) are not the sender's words and are
        not scored: measured, the model alone flagged 30% of counter-speech, 6% with this gate."""
        best = 0.0
        detector = self.detector
        for words, symbols in detector.analyse(text)[:MAX_SENTENCES]:
            if self._is_data(words) or detector.negated_frame(symbols) or detector.is_counter_speech(words, symbols):
                continue
            best = max(best, self.sentence_probability(symbols))
        return best


def _bucket(feature: str) -> int:
    return zlib.crc32(feature.encode()) % DIM
