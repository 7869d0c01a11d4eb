"""Run many word patterns over a long text cheaply: only near the words that can start them.

The chain-letter and phishing features are two dozen multilingual alternations each.  Run over
every position of a 12 KB newsletter they cost tens of milliseconds per message; yet each can
only match where one of a few literal words occurs ("send", "envie", "weiterleit"...).  One
Aho-Corasick pass (in C) finds every trigger word for every pattern at once; each pattern is
then searched only in windows around its triggers.  Windows are wider than any pattern's span
(the patterns bound their gaps, ``{0,70}``), so the answer is the same as a full search; a test
checks each pattern's examples contain one of its triggers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

import ahocorasick
import regex

#: Characters searched either side of a trigger: more than any pattern's longest match.
WINDOW = 320


class TriggeredPatterns:
    """``patterns[name]`` searched only around ``triggers[name]`` (lower-case substrings); a
    pattern without triggers is searched over the whole text."""

    def __init__(self, patterns: Mapping[str, regex.Pattern[str]], triggers: Mapping[str, Iterable[str]]) -> None:
        self.patterns = dict(patterns)
        self.triggers = {name: tuple(words) for name, words in triggers.items()}
        unknown = set(self.triggers) - set(self.patterns)
        if unknown:
            raise ValueError(f"triggers for unknown patterns: {sorted(unknown)}")
        self._owners: dict[str, list[str]] = defaultdict(list)
        for name, words in self.triggers.items():
            for word in words:
                self._owners[word.lower()].append(name)
        self._automaton = ahocorasick.Automaton()
        for word in self._owners:
            self._automaton.add_word(word, word)
        if self._owners:
            self._automaton.make_automaton()

    def matches(self, text: str, limit: int = 3) -> dict[str, list[str]]:
        """``name -> up to limit matched strings`` for every pattern that matches ``text``."""
        low = text.lower()
        if len(low) != len(text):  # a case mapping changed the length (rare): positions would drift
            full = {n: _first(p, text, limit) for n, p in self.patterns.items()}
            return {n: found for n, found in full.items() if found}
        spots: dict[str, list[int]] = defaultdict(list)
        if self._owners:
            for end, word in self._automaton.iter(low):
                for name in self._owners[word]:
                    spots[name].append(end)
        out: dict[str, list[str]] = {}
        for name, pattern in self.patterns.items():
            if name not in self.triggers:
                found = _first(pattern, text, limit)
            else:
                found = []
                for start, stop in _windows(spots.get(name, []), text):
                    for m in pattern.finditer(text[start:stop]):
                        found.append(m.group())
                        if len(found) >= limit:
                            break
                    if len(found) >= limit:
                        break
            if found:
                out[name] = found
        return out


def _first(pattern: regex.Pattern[str], text: str, limit: int) -> list[str]:
    return [m.group() for _, m in zip(range(limit), pattern.finditer(text), strict=False)]


def _windows(positions: list[int], text: str) -> list[tuple[int, int]]:
    """Merged ``[start, stop)`` ranges of ``WINDOW`` characters either side of each position,
    widened to whole words (a window never starts or ends inside a word, so ``\\b`` means
    what it means in the full text)."""
    merged: list[tuple[int, int]] = []
    size = len(text)
    for pos in sorted(positions):
        start, stop = max(0, pos - WINDOW), min(size, pos + WINDOW)
        start = text.rfind(" ", 0, start) + 1 if start else 0
        space = text.find(" ", stop)
        stop = size if space < 0 else space
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged
