"""Spelling variation the normaliser cannot undo: a swapped or missing letter, words run together.

:mod:`aupmilter.normalise` already sees through leetspeak, look-alike letters, zero-width
characters, letters spaced apart and repeated letters.  What is left are the variations a writer
makes on purpose to slip past a word list, or by accident: ``haet``/``hte`` (a swap or a
missing letter) and ``ihate``/``killall`` (spaces removed).  Both are only resolved *towards the
vocabulary the detectors use*, never the other way, and never when the written word is a real
English word: ``hat`` is not a misspelt ``hate``, ``therapist`` is not ``the rapist``.

The real-word guard is a shipped file (``rules/lexicon/realwords.txt``) produced offline by
``train/offensive_realwords.py`` from Debian's British and American word lists: only the words
that collide with a variant, a run-together split or a listed stem are kept, so it stays small.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

#: Variants are generated for words at least this long (a swap) ...
MIN_SWAP = 4
#: ... and for a missing letter only on longer words: deletions of short words are real words.
MIN_DELETION = 4
#: Run-together tokens shorter than this are not split.
MIN_SPLIT = 5
#: ... and longer ones neither (a URL fragment or a hash is not a sentence run together).
MAX_SPLIT = 24


def swaps(word: str) -> set[str]:
    """Every spelling with two adjacent letters exchanged (``hate`` → ``ahte``, ``htae``, ``haet``)."""
    out = set()
    for i in range(len(word) - 1):
        if word[i] != word[i + 1]:
            out.add(word[:i] + word[i + 1] + word[i] + word[i + 2 :])
    return out


def deletions(word: str) -> set[str]:
    """Every spelling with one letter missing (``women`` → ``wmen``, ``womn``...)."""
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def misspellings(word: str) -> set[str]:
    """The variants of one vocabulary word that :class:`Speller` resolves back to it."""
    if not word.isalpha():
        return set()
    out: set[str] = set()
    if len(word) >= MIN_SWAP:
        out |= swaps(word)
    if len(word) >= MIN_DELETION:
        out |= deletions(word)
    out.discard(word)
    return out


class Speller:
    """Maps a written token to the vocabulary word it stands for, or ``None``.

    ``vocabulary``: the words the detectors know (single tokens).  ``joinable``: the words that
    may appear inside a run-together token (the vocabulary plus function words such as ``i``,
    ``all``, ``are``).  ``real_words``: English words that must be taken as written.
    """

    def __init__(self, vocabulary: Iterable[str], joinable: Iterable[str], real_words: Iterable[str]) -> None:
        self.vocabulary = frozenset(vocabulary)
        self.joinable = frozenset(joinable) | self.vocabulary
        self.real_words = frozenset(real_words)
        fixes: dict[str, str | None] = {}
        for word in sorted(self.vocabulary):
            for variant in misspellings(word):
                if variant in self.joinable or variant in self.real_words:
                    continue
                # Two vocabulary words with the same variant: ambiguous, leave it alone.
                fixes[variant] = word if variant not in fixes or fixes[variant] == word else None
        self.fixes = {k: v for k, v in fixes.items() if v is not None}
        self._longest = max((len(w) for w in self.joinable), default=0)

    def correct(self, token: str) -> str | None:
        """The vocabulary word a misspelt token stands for (``haet`` → ``hate``)."""
        if token in self.joinable or token in self.real_words:
            return None
        return self.fixes.get(token)

    def split(self, token: str) -> list[str] | None:
        """A run-together token as its words (``ihate`` → ``i hate``; ``hatewomen`` → ``hate women``).

        Two or three pieces, every one a joinable word (or a one-letter-off vocabulary word),
        at least one a vocabulary word; the written token must not itself be a known word.
        """
        if len(token) < MIN_SPLIT or token in self.joinable or token in self.real_words or not token.isalpha():
            return None
        if len(token) > MAX_SPLIT:
            return None
        best = self._split(token, 5)
        if best is None or not any(piece in self.vocabulary for piece in best):
            return None
        return best

    def _piece(self, piece: str) -> str | None:
        if piece in self.joinable:
            return piece
        if len(piece) >= MIN_SWAP:
            return self.fixes.get(piece)
        return None

    def _split(self, token: str, parts: int) -> list[str] | None:
        whole = self._piece(token)
        if whole is not None:
            return [whole]
        if parts == 1:
            return None
        # Prefer the longest first piece: "hatewomen" → hate + women, not hat + ewomen.
        for cut in range(min(len(token) - 1, self._longest), 0, -1):
            head = self._piece(token[:cut])
            if head is None:
                continue
            rest = self._split(token[cut:], parts - 1)
            if rest is not None:
                return [head, *rest]
        return None


def load_real_words(path: Path) -> frozenset[str]:
    """The shipped real-word guard; absent file → no guard words (variants still need the vocabulary)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return frozenset()
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))
