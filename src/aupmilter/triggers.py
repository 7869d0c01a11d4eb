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

import importlib
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

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
        # A pattern with no triggers is searched whole, but only where a literal it must start with occurs.
        self._untriggered = {
            name: AnchoredPattern(pattern) for name, pattern in self.patterns.items() if name not in self.triggers
        }

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
                found = [m.group() for _, m in zip(range(limit), self._untriggered[name].finditer(text), strict=False)]
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


# -- anchored search: a pattern whose every match starts with one of a few literal words --------

#: Characters other than ASCII that ``regex``'s case-insensitive matching equates with an ASCII
#: character while ``str.lower`` does not map them onto it (İ, ı, ſ, the Kelvin sign).  Found
#: by trying every code point; a test repeats the search so a new ``regex`` release cannot
#: change it unnoticed.  A text containing one is searched the plain way.
FOLDS_TO_ASCII = frozenset("\u0130\u0131\u017f\u212a")
#: Literal starts shorter than this are not worth anchoring on (too many candidate positions).
MIN_START = 2
_MAX_STARTS = 256
#: The standard library's regular-expression parser (typeshed has no stub for it).
_sre_parser: Any = importlib.import_module("re._parser")


def lower_aligned(text: str, low: str) -> bool:
    """Does ``low = text.lower()`` keep every position, and does a lower-case comparison there
    find every place where a case-insensitive ``regex`` literal of ASCII characters matches?"""
    return len(low) == len(text) and (text.isascii() or FOLDS_TO_ASCII.isdisjoint(text))


def start_literals(source: str) -> frozenset[str] | None:
    """Lower-case ASCII strings of which every match of ``source`` (compiled case-insensitively
    or not) starts with one, or None when no such short list can be proven.

    The pattern is read by the standard library's parser: zero-width assertions (``\\b``,
    look-arounds) are skipped, literals and alternations of literals are collected, and the
    reading stops at the first construct that is not a literal or an optional literal (a
    class, a repeat, a back reference), which only shortens the strings.  So if the pattern matches at a position,
    the lower-cased text there starts with one of them: searching with ``pattern.match`` at
    each such position, in order, returns what ``pattern.search`` returns.  A pattern the
    standard parser cannot read (``regex``-only syntax) is not anchored."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set": regex syntax, refused below
            parsed = _sre_parser.parse(source)
    except (_sre_parser.error, OverflowError, RecursionError, ValueError):
        return None
    starts, _ = _sequence(list(parsed))
    if not starts or min(len(s) for s in starts) < MIN_START:
        return None
    return frozenset(starts)


def anchor_starts(pattern: regex.Pattern[str]) -> frozenset[str] | None:
    """:func:`start_literals` of a compiled pattern, unless its flags make case-insensitive
    matching fold whole strings ("ss" matches "ß" under ``FULLCASE``, the default of ``V1``),
    which a character-for-character lower case cannot follow."""
    if pattern.flags & (regex.FULLCASE | regex.VERSION1):
        return None
    return start_literals(pattern.pattern)


def _sequence(items: list[tuple[Any, Any]]) -> tuple[set[str], bool]:
    """``(prefixes, complete)``: every match of the sequence starts with one of the prefixes
    (is exactly one of them, ignoring case, when ``complete``)."""
    out = {""}
    for k, (op, av) in enumerate(items):
        name = str(op)
        if name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue  # zero width: the next literal still starts where this position is
        if name == "LITERAL":
            char = chr(av)
            if char in "{}":
                # The standard parser reads a brace it cannot use as a repeat as a literal;
                # ``regex`` may not (fuzzy matching, ``(?:send){e<=1}``): prove nothing.
                return {""}, False
            if not char.isascii():
                return out, False
            out = {p + char.lower() for p in out}
            continue
        if name == "SUBPATTERN":
            subset, complete = _sequence(list(av[-1]))
        elif name in ("MAX_REPEAT", "MIN_REPEAT") and av[1] <= 1:
            found, complete = _sequence(list(av[2]))
            if av[0] == 0 and complete:
                subset = found | {""}  # ``x?``: with or without it
            elif av[0] == 0:
                # ``(?:it\s+)?only``: a match starts with x's prefix, or (x absent) with the rest's
                subset, complete = found | _sequence(items[k + 1 :])[0], False
            else:
                subset = found
        elif name == "BRANCH":
            subset, complete = set(), True
            for branch in av[1]:
                found, whole = _sequence(list(branch))
                subset |= found
                complete = complete and whole
        else:
            return out, False
        if len(out) * len(subset) > _MAX_STARTS:
            return out, False
        out = {p + s for p in out for s in subset}
        if not complete:
            return out, False
    return out, True


class AnchoredPattern:
    """A compiled pattern's ``finditer``, tried only where one of its start literals occurs.

    Same matches as ``pattern.finditer`` (each is the leftmost match at or after the end of the
    last, and one can only start at a start literal); a pattern whose starts cannot be proven,
    or a text whose lower case moves positions, takes the ordinary path."""

    def __init__(self, pattern: regex.Pattern[str]) -> None:
        self.pattern = pattern
        self.starts = anchor_starts(pattern)
        self._automaton: Any = None
        if self.starts:
            self._automaton = ahocorasick.Automaton()
            for word in self.starts:
                self._automaton.add_word(word, len(word))
            self._automaton.make_automaton()

    def finditer(self, text: str) -> Iterator[regex.Match[str]]:
        low = text.lower()
        if self._automaton is None or not lower_aligned(text, low):
            yield from self.pattern.finditer(text)
            return
        after = 0
        for start in sorted({end - size + 1 for end, size in self._automaton.iter(low)}):
            if start < after:
                continue
            m = self.pattern.match(text, start)
            if m:
                yield m
                after = m.end()
