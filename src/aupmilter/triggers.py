"""Run many word patterns over a long text cheaply: only near the words that can start them.

The chain-letter and phishing features are two dozen multilingual alternations each.  Run over
every position of a 12 KB newsletter they cost tens of milliseconds per message; yet each can
only match where one of a few literal words occurs ("send", "envie", "weiterleit"...).  One
Aho-Corasick pass (in C) finds every trigger word for every pattern at once; each pattern is
then searched only in windows around its triggers.  Windows are wider than any pattern's span
(the patterns bound their gaps, ``{0,70}``), so the answer is the same as a full search; a test
checks each pattern's examples contain one of its triggers.

Patterns without triggers are read, from their source, for what a match must start with
(:func:`anchor_starts`: tried only where such a literal occurs, and only at word starts when
every match begins at ``\\b``) and for literals every match contains (:func:`required_literals`:
a text without one is not searched at all).  The reading is a proof, not a heuristic: the
answer is what ``search``/``finditer`` over the whole text would give, and
``tests/test_perf_equivalence.py`` compares the two on every fixture and on spliced, re-cased,
accented text.  With ``classes=True`` the reading also takes character classes, accented
letters and white space (as one space), and is then used on flattened text only
(:func:`is_flat`), which is what the chain-letter and phishing checks search.
"""

from __future__ import annotations

import importlib
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

import ahocorasick
import regex

#: Characters searched either side of a trigger: more than any pattern's longest match.
WINDOW = 320


class TriggeredPatterns:
    """``patterns[name]`` searched only around ``triggers[name]`` (lower-case substrings); a
    pattern without triggers is searched over the whole text, but only where a literal it must
    start with occurs (:func:`anchor_starts`, ``classes=True``).  The trigger words and the
    start literals of every pattern are found in one Aho-Corasick pass over the lower case."""

    def __init__(self, patterns: Mapping[str, regex.Pattern[str]], triggers: Mapping[str, Iterable[str]]) -> None:
        self.patterns = dict(patterns)
        self.triggers = {name: tuple(words) for name, words in triggers.items()}
        unknown = set(self.triggers) - set(self.patterns)
        if unknown:
            raise ValueError(f"triggers for unknown patterns: {sorted(unknown)}")
        self._trigger_words = {
            name: tuple(dict.fromkeys(w.lower() for w in words)) for name, words in self.triggers.items()
        }
        #: The start literals of each pattern without triggers (None: not proven, searched whole).
        self.starts = {
            name: anchor_starts(pattern, classes=True)
            for name, pattern in self.patterns.items()
            if name not in self.triggers
        }
        #: Patterns whose every match begins at ``\b``: a start literal inside a word is not tried.
        self._boundary = {name: starts_at_boundary(self.patterns[name], starts) for name, starts in self.starts.items()}
        # A pattern with triggers is searched in windows around them; within a window, only where
        # a literal it starts with occurs (one letter will do: only the window is scanned for it).
        self._window_starts: dict[str, Any] = {}
        for name in self.triggers:
            literals = anchor_starts(self.patterns[name], classes=True, min_start=1)
            self._boundary[name] = starts_at_boundary(self.patterns[name], literals)
            if literals:
                self._window_starts[name] = (
                    WordStartFinder(literals) if self._boundary[name] else _literal_automaton(literals)
                )
        # A pattern without triggers that cannot be anchored on words is not searched at all when
        # the text lacks a literal every match needs, and else, if its matches begin at ``\b``,
        # tried only at word starts with a letter it can start with (its own automaton, scanned
        # only then: one-letter words would crowd the shared one).
        self._required = {name: required_literals(self.patterns[name]) for name in self.starts}
        self._single: dict[str, WordStartFinder] = {}
        for name in (n for n, starts in self.starts.items() if starts is None):
            literals = anchor_starts(self.patterns[name], classes=True, min_start=1)
            if literals and starts_at_boundary(self.patterns[name], literals):
                self._single[name] = WordStartFinder(literals)
        words = {w for ws in self._trigger_words.values() for w in ws} | {
            w for ws in self.starts.values() for w in ws or ()
        }
        words |= {w for sets in self._required.values() for f in sets or () for w in f}
        self._automaton = word_automaton(words)

    def matches(self, text: str, limit: int = 3) -> dict[str, list[str]]:
        """``name -> up to limit matched strings`` for every pattern that matches ``text``."""
        low = text.lower()
        if len(low) != len(text):  # a case mapping changed the length (rare): positions would drift
            full = {n: _first(p, text, limit) for n, p in self.patterns.items()}
            return {n: found for n, found in full.items() if found}
        ends: dict[str, list[int]] = defaultdict(list)  # word -> where its occurrences end in ``low``
        if self._automaton is not None:
            for end, word in self._automaton.iter(low):
                ends[word].append(end)
        # The literals (``classes=True``) read white space as one space: they are looked for only in
        # flattened text (:func:`is_flat`, as the callers pass); other text is searched plainly.
        aligned = lower_aligned(text, low) and is_flat(text)
        out: dict[str, list[str]] = {}
        for name, pattern in self.patterns.items():
            if name not in self.triggers:
                starts = self.starts[name]
                required = self._required.get(name)
                if aligned and required is not None and not satisfied(required, ends.keys()):
                    found = []
                elif aligned and name in self._single:
                    found = _anchored(pattern, text, self._single[name].positions(text, low), limit)
                elif starts is None or not aligned:
                    found = _first(pattern, text, limit)
                else:
                    spots = sorted({end - len(w) + 1 for w in starts if w in ends for end in ends[w]})
                    if self._boundary[name]:
                        spots = word_starts(text, spots)
                    found = _anchored(pattern, text, spots, limit)
            else:
                found = []
                positions = [end for w in self._trigger_words[name] if w in ends for end in ends[w]]
                literals = self._window_starts.get(name) if aligned else None
                for start, stop in _windows(positions, text):
                    if isinstance(literals, WordStartFinder):
                        inside = literals.positions(text, low, start, stop)
                        found += _anchored(pattern, text[start:stop], inside, limit - len(found))
                    elif literals is not None:
                        inside = sorted({end - back - start for end, back in literals.iter(low, start, stop)})
                        found += _anchored(pattern, text[start:stop], inside, limit - len(found))
                    else:
                        for m in pattern.finditer(text[start:stop]):
                            found.append(m.group())
                            if len(found) >= limit:
                                break
                    if len(found) >= limit:
                        break
            if found:
                out[name] = found
        return out


class WordStartFinder:
    """Where a pattern's start literals begin a word, for a pattern whose matches all begin at
    ``\\b`` (:func:`starts_at_boundary`).  Literals of two letters or more are found by an
    automaton over the lower case and kept at word starts (:func:`word_starts`); one-letter
    literals (``a`` of ``\\b(?:a|an)\\s+``) by one case-insensitive ``(?<!\\w)[...]`` search,
    so the many places a common letter occurs inside words never reach Python.  That search
    also finds letters only ``regex`` folds onto the literal (``ſ`` for ``s``): a few positions
    more to try, never one fewer."""

    def __init__(self, literals: Iterable[str]) -> None:
        words = set(literals)
        long = [w for w in words if len(w) > 1]
        short = sorted(w for w in words if len(w) == 1)
        self._automaton: Any = _literal_automaton(long) if long else None
        self._short = (
            regex.compile(r"(?<!\w)[" + "".join(regex.escape(c) for c in short) + "]", regex.IGNORECASE)
            if short
            else None
        )

    def positions(self, text: str, low: str, start: int = 0, stop: int | None = None) -> list[int]:
        """Ascending offsets, from ``start``, in ``text[start:stop]`` (``low`` its aligned lower
        case) where a match of the pattern can begin."""
        stop = len(text) if stop is None else stop
        window = text[start:stop] if start or stop != len(text) else text
        spots: list[int] = []
        if self._automaton is not None:
            found = sorted({end - back - start for end, back in self._automaton.iter(low, start, stop)})
            spots = word_starts(window, found)
        if self._short is not None:
            spots += [m.start() for m in self._short.finditer(window)]
            spots = sorted(set(spots))
        return spots


def word_automaton(words: Iterable[str]) -> Any | None:
    """An Aho-Corasick automaton whose value for each of ``words`` is the word itself (``iter``
    yields ``(end, word)``), or None when there are no words (an empty automaton cannot be made)."""
    words = set(words)
    if not words:
        return None
    automaton = ahocorasick.Automaton()
    for word in words:
        automaton.add_word(word, word)
    automaton.make_automaton()
    return automaton


def _literal_automaton(words: Iterable[str]) -> Any:
    """An automaton of ``words`` whose value is ``len(word) - 1`` (end minus that is the start)."""
    automaton = ahocorasick.Automaton()
    for word in words:
        automaton.add_word(word, len(word) - 1)
    automaton.make_automaton()
    return automaton


def _anchored(pattern: regex.Pattern[str], text: str, spots: list[int], limit: int) -> list[str]:
    """The first ``limit`` of ``pattern.finditer(text)``, trying only ``spots`` (ascending
    positions where a start literal occurs), as :meth:`AnchoredPattern.finditer` does."""
    found: list[str] = []
    after = 0
    for start in spots:
        if start < after:
            continue
        m = pattern.match(text, start)
        if m:
            found.append(m.group())
            if len(found) >= limit:
                break
            after = m.end()
    return found


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
#: Letters other than ASCII (Latin-1 and Latin Extended-A/B: the accents of German, French,
#: Portuguese and Spanish wording) that ``regex``'s case-insensitive matching equates only with
#: characters whose ``str.lower`` is the letter's own lower case: a lower-case comparison finds
#: every place the letter matches.  The five left out fold onto something else (ß onto ẞ and a
#: newer code point, İ onto i, ı onto I, ſ onto s, ƛ onto a newer code point); a test recomputes
#: the set over every code point.  Literals with these are anchored only when asked
#: (``classes=True``), so callers that did not ask keep their literals exactly as before.
_FOLDS = tuple(sorted(FOLDS_TO_ASCII))
SAFE_NON_ASCII = frozenset(c for c in map(chr, range(0xC0, 0x250)) if c.isalpha()) - frozenset("ßİıſƛ")
#: Literal starts shorter than this are not worth anchoring on (too many candidate positions).
MIN_START = 2
_MAX_STARTS = 256
#: The standard library's regular-expression parser (typeshed has no stub for it).
_sre_parser: Any = importlib.import_module("re._parser")


def lower_aligned(text: str, low: str) -> bool:
    """Does ``low = text.lower()`` keep every position, and does a lower-case comparison there
    find every place where a case-insensitive ``regex`` literal of ASCII characters matches?"""
    # ``in`` per fold character: a substring search in C, not a set walk over every character.
    return len(low) == len(text) and (text.isascii() or not any(c in text for c in _FOLDS))


def _standard_parse(source: str) -> list[tuple[Any, Any]] | None:
    """``source`` as the standard library's regular-expression parser reads it, or None when it
    cannot (``regex``-only syntax: such a pattern is searched in full, never anchored)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set": regex syntax, refused by the callers
            return list(_sre_parser.parse(source))
    except (_sre_parser.error, OverflowError, RecursionError, ValueError):
        return None


def starts_at_boundary(pattern: regex.Pattern[str], starts: frozenset[str] | None) -> bool:
    """Does every match of ``pattern`` begin at ``\\b`` with a word character?  (Its reading
    begins with ``\\b`` on every branch, and each start literal begins with a letter or digit.)
    Then a start literal found right after a word character cannot begin a match, and
    :func:`word_starts` drops it before any regular expression is tried there."""
    if not starts or not all(s[0].isalnum() for s in starts) or pattern.flags & (regex.ASCII | regex.VERBOSE):
        return False  # (under ``ASCII``, ``\b`` is not the boundary :func:`word_starts` tests)
    parsed = _standard_parse(pattern.pattern)
    return parsed is not None and _boundary_first(parsed)


def _boundary_first(items: list[tuple[Any, Any]]) -> bool:
    for op, av in items:
        name = str(op)
        if name in ("ASSERT", "ASSERT_NOT"):
            continue  # zero width: the match still starts where the boundary must be
        if name == "AT":
            return str(av) == "AT_BOUNDARY"
        if name == "SUBPATTERN":
            return _boundary_first(list(av[-1]))
        if name == "BRANCH":
            return all(_boundary_first(list(branch)) for branch in av[1])
        return False
    return False


_WORD_CHAR = regex.compile(r"\w")
_IS_WORD: dict[str, bool] = {}


def word_starts(text: str, spots: list[int]) -> list[int]:
    """The ``spots`` (positions in ``text`` where a start literal beginning with a letter or
    digit occurs) not preceded by a word character: where ``\\b`` can hold.  Whether a
    character is a word character is what ``regex``'s ``\\w`` says, remembered per character."""
    out = []
    for pos in spots:
        if pos:
            before = text[pos - 1]
            word = _IS_WORD.get(before)
            if word is None:
                word = _IS_WORD[before] = _WORD_CHAR.match(before) is not None
            if word:
                continue
        out.append(pos)
    return out


def start_literals(source: str, classes: bool = False, min_start: int = MIN_START) -> frozenset[str] | None:
    """Lower-case ASCII strings of which every match of ``source`` (compiled case-insensitively
    or not) starts with one, or None when no such short list can be proven.

    The pattern is read by the standard library's parser: zero-width assertions (``\\b``,
    look-arounds) are skipped, literals and alternations of literals are collected, and the
    reading stops at the first construct that is not a literal or an optional literal (a
    class, a repeat, a back reference), which only shortens the strings.  So if the pattern matches at a position,
    the lower-cased text there starts with one of them: searching with ``pattern.match`` at
    each such position, in order, returns what ``pattern.search`` returns.  A pattern the
    standard parser cannot read (``regex``-only syntax) is not anchored.

    ``classes``: also read a character class of plain characters (``[eé]``, ``n[aã]o``) as the
    alternation of its members, and letters of :data:`SAFE_NON_ASCII` as literals; the
    multilingual phishing and chain-letter wording is then anchored too."""
    parsed = _standard_parse(source)
    if parsed is None:
        return None
    starts, _ = _sequence(parsed, classes)
    if not starts or min(len(s) for s in starts) < min_start:
        return None
    return frozenset(starts)


def anchor_starts(
    pattern: regex.Pattern[str], classes: bool = False, min_start: int = MIN_START
) -> frozenset[str] | None:
    """:func:`start_literals` of a compiled pattern, unless its flags make case-insensitive
    matching fold whole strings ("ss" matches "ß" under ``FULLCASE``, the default of ``V1``),
    which a character-for-character lower case cannot follow, or ``VERBOSE`` makes the source's
    white space mean nothing (the standard parser, not told, would read it as literals)."""
    if pattern.flags & (regex.FULLCASE | regex.VERSION1 | regex.VERBOSE):
        return None
    return start_literals(pattern.pattern, classes, min_start)


def _literal(code: int, classes: bool) -> str | None:
    """The lower-case character a literal matches at (None when that cannot be proven)."""
    char = chr(code)
    if classes and (char in OTHER_SPACES or char == " "):
        return " "  # looked for in flattened text (:func:`is_flat`), where white space is one space
    if char.isascii() or (classes and char in SAFE_NON_ASCII):
        return char.lower()
    return None


def _member(op: Any, av: Any) -> str | None:
    """What one member of a character class reads as (with ``classes=True``), or None."""
    if str(op) == "LITERAL" and chr(av) not in "{}[":
        # ``[`` in a class: ``regex`` may read ``[[:alpha:]]`` as a POSIX class where the
        # standard parser sees the characters "[:alph": prove nothing.
        return _literal(av, True)
    if str(op) == "CATEGORY" and str(av) == "CATEGORY_SPACE":
        return " "
    return None


def _sequence(items: list[tuple[Any, Any]], classes: bool = False) -> tuple[set[str], bool]:
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
            low = _literal(av, classes)
            if low is None:
                return out, False
            out = {p + low for p in out}
            continue
        if name == "IN" and classes:
            # ``[eé]``: one of its members; ``\s`` reads as a space (only flattened text is searched
            # this way: :func:`is_flat`); anything else in a class (a range, ``\d``, a negation)
            # ends the reading
            members = [_member(o, a) for o, a in av]
            if not members or any(m is None for m in members):
                return out, False
            subset, complete = {m for m in members if m is not None}, True
        elif name == "SUBPATTERN":
            subset, complete = _sequence(list(av[-1]), classes)
        elif name in ("MAX_REPEAT", "MIN_REPEAT") and classes and _sequence(list(av[2]), classes) == ({" "}, True):
            # ``\s+``, ``\s*``: in flattened text a run of white space is one space (or none)
            subset, complete = ({" "} if av[0] >= 1 else {"", " "}), True
        elif name in ("MAX_REPEAT", "MIN_REPEAT") and av[1] <= 1:
            found, complete = _sequence(list(av[2]), classes)
            if av[0] == 0 and complete:
                subset = found | {""}  # ``x?``: with or without it
            elif av[0] == 0:
                # ``(?:it\s+)?only``: a match starts with x's prefix, or (x absent) with the rest's
                subset, complete = found | _sequence(items[k + 1 :], classes)[0], False
            else:
                subset = found
        elif name in ("MAX_REPEAT", "MIN_REPEAT") and classes and av[0] >= 1:
            subset, _ = _sequence(list(av[2]), classes)  # ``\s+``: starts with one of them, then more
            complete = False
        elif name == "BRANCH":
            subset, complete = set(), True
            for branch in av[1]:
                found, whole = _sequence(list(branch), classes)
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


#: What ``regex`` reads as ``\s`` other than the space itself (a test recomputes it).
OTHER_SPACES = (
    "\t\n\x0b\x0c\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


def is_flat(text: str) -> bool:
    """Is ``text`` flattened text (``" ".join(text.split())``, as every caller of the literal
    searches passes): its only white space is single spaces?  Literals read with ``classes=True``
    take ``\\s+`` and ``\\s*`` for one space or none, which only such text makes true."""
    return "  " not in text and not any(c in text for c in OTHER_SPACES)


#: A required literal shorter than this is in nearly every text: not worth asking for.
MIN_REQUIRED = 3


def required_literals(pattern: regex.Pattern[str]) -> tuple[frozenset[str], ...] | None:
    """Sets of lower-case strings such that every match of ``pattern`` contains one string of
    each set (read with ``classes=True``, like :func:`anchor_starts`), or None when none can be
    proven.  A text whose lower case (aligned: :func:`lower_aligned`) contains no string of one
    of the sets has no match, and the pattern need not be searched at all: this is for patterns
    whose matches can start too many ways to be anchored (``\\d+ messages on hold``).

    A run of literals (and alternations or classes of literals) that every path through a
    sequence consumes is one set; a group that must occur adds its own sets; an alternation
    adds one set made of one set of each branch, when every branch has one.  Optional and
    repeated-from-zero parts add nothing."""
    if pattern.flags & (regex.FULLCASE | regex.VERSION1 | regex.VERBOSE):
        return None
    parsed = _standard_parse(pattern.pattern)
    if parsed is None or _has_brace_literal(parsed):
        return None  # a brace ``regex`` may read as fuzzy matching (``(?:send){e<=1}``): prove nothing
    found = tuple(dict.fromkeys(_requirements(parsed)))
    return found or None


def _has_brace_literal(items: list[tuple[Any, Any]]) -> bool:
    for op, av in items:
        name = str(op)
        if name == "LITERAL" and chr(av) in "{}":
            return True
        if name == "IN" and any(str(o) == "LITERAL" and chr(a) in "{}" for o, a in av):
            return True
        if name == "SUBPATTERN" and _has_brace_literal(list(av[-1])):
            return True
        if name == "BRANCH" and any(_has_brace_literal(list(b)) for b in av[1]):
            return True
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and _has_brace_literal(list(av[2])):
            return True
        if name in ("ASSERT", "ASSERT_NOT") and _has_brace_literal(list(av[1])):
            return True
        if name == "ATOMIC_GROUP" and _has_brace_literal(list(av)):
            return True
    return False


def _requirements(items: list[tuple[Any, Any]]) -> list[frozenset[str]]:
    """The sets of :func:`required_literals` for a sequence of parsed items."""
    out: list[frozenset[str]] = []
    run = {""}

    def flush() -> None:
        if min(len(r) for r in run) >= MIN_REQUIRED:
            out.append(frozenset(run))

    for op, av in items:
        name = str(op)
        if name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue  # zero width: the text either side is consumed next to each other
        exact: set[str] | None = None
        if name in ("LITERAL", "IN", "SUBPATTERN", "BRANCH", "MAX_REPEAT", "MIN_REPEAT"):
            strings, complete = _sequence([(op, av)], classes=True)
            exact = strings if complete else None
        if exact is not None and len(run) * len(exact) <= _MAX_STARTS:
            run = {r + e for r in run for e in exact}
            continue
        flush()
        run = {""}
        if exact is not None:
            if len(exact) <= _MAX_STARTS:
                run = exact  # too many combinations with the run before: a new run starts here
            continue
        if name == "SUBPATTERN":
            out += _requirements(list(av[-1]))
        elif name == "BRANCH":
            best = []
            for branch in av[1]:
                sets = _requirements(list(branch))
                if not sets:
                    break
                # Six letters make a rare enough word; past that, fewer strings keep the union small.
                best.append(max(sets, key=lambda f: (min(6, *(len(x) for x in f)), -len(f))))
            else:
                union = frozenset().union(*best)
                if union and len(union) <= 4 * _MAX_STARTS:
                    out.append(union)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and av[0] >= 1:
            out += _requirements(list(av[2]))
    flush()
    return out


class AnchoredPattern:
    """A compiled pattern's ``finditer``, tried only where one of its start literals occurs.

    Same matches as ``pattern.finditer`` (each is the leftmost match at or after the end of the
    last, and one can only start at a start literal); a pattern whose starts cannot be proven,
    or a text whose lower case moves positions, takes the ordinary path."""

    def __init__(self, pattern: regex.Pattern[str]) -> None:
        self.pattern = pattern
        self.starts = anchor_starts(pattern)
        self._automaton: Any = _literal_automaton(self.starts) if self.starts else None

    def finditer(self, text: str) -> Iterator[regex.Match[str]]:
        low = text.lower()
        if self._automaton is None or not lower_aligned(text, low):
            yield from self.pattern.finditer(text)
            return
        after = 0
        for start in sorted({end - back for end, back in self._automaton.iter(low)}):
            if start < after:
                continue
            m = self.pattern.match(text, start)
            if m:
                yield m
                after = m.end()


class AnchoredSearch:
    """Several patterns' ``search`` over the same texts, with one lower-casing and one automaton
    pass for all of them (an :class:`AnchoredPattern` each would lower-case and scan the text
    once per pattern, which costs as much as the searches it saves).

    :meth:`search` answers, for each pattern, what ``next((i, m) for i, t in enumerate(texts) if
    (m := pattern.search(t)))`` answers: the first text with a match, and the leftmost match in
    it.  A text that lacks a literal every match of a pattern needs (:func:`required_literals`)
    is not searched for it at all.  A pattern whose start literals cannot be proven
    (:func:`anchor_starts` with ``classes=True``), or texts whose lower case moves positions,
    are searched the plain way, and so is text that is not flattened (:func:`is_flat`)."""

    def __init__(self, patterns: Iterable[regex.Pattern[str]]) -> None:
        self.patterns = list(patterns)
        self.starts = [anchor_starts(p, classes=True) for p in self.patterns]
        for i, p in enumerate(self.patterns):
            # ``\b(?:a|an)\s+...``: a one-letter start is worth it when only word starts are tried.
            single = anchor_starts(p, classes=True, min_start=1) if self.starts[i] is None else None
            if single is not None and starts_at_boundary(p, single):
                self.starts[i] = single
        self._boundary = [starts_at_boundary(p, starts) for p, starts in zip(self.patterns, self.starts, strict=True)]
        # A pattern that cannot be anchored is still not searched when a text lacks what it needs.
        self.required = [required_literals(p) for p in self.patterns]
        words = {w for starts in self.starts for w in starts or ()}
        words |= {w for sets in self.required for f in sets or () for w in f}
        self._automaton = word_automaton(words)

    def search(self, texts: list[str]) -> list[tuple[int, regex.Match[str]] | None]:
        """Per pattern, ``(index of the first text with a match, the match)`` or None."""
        joined = " ".join(texts)
        low = joined.lower()
        out: list[tuple[int, regex.Match[str]] | None] = []
        if self._automaton is None or not lower_aligned(joined, low) or not all(map(is_flat, texts)):
            return [_plain_first(p, texts) for p in self.patterns]
        ends: dict[str, list[int]] = defaultdict(list)  # word -> where its occurrences end in ``low``
        for end, word in self._automaton.iter(low):
            ends[word].append(end)
        offsets: list[int] = []
        at = 0
        for text in texts:
            offsets.append(at)
            at += len(text) + 1
        for pattern, starts, boundary, required in zip(
            self.patterns, self.starts, self._boundary, self.required, strict=True
        ):
            if required is not None and not satisfied(required, ends.keys()):
                out.append(None)  # it lacks a literal every match needs
            elif starts is None:
                out.append(_plain_first(pattern, texts))
            else:
                candidates = sorted({end - len(w) + 1 for w in starts if w in ends for end in ends[w]})
                if boundary:
                    candidates = word_starts(joined, candidates)
                out.append(first_anchored(pattern, texts, offsets, candidates))
        return out


def satisfied(required: tuple[frozenset[str], ...], present: AbstractSet[str]) -> bool:
    """Does ``present`` (the words found in a text) hold a string of every set in ``required``?"""
    return all(not present.isdisjoint(strings) for strings in required)


def _plain_first(pattern: regex.Pattern[str], texts: list[str]) -> tuple[int, regex.Match[str]] | None:
    return next(((k, m) for k, text in enumerate(texts) if (m := pattern.search(text))), None)


def first_anchored(
    pattern: regex.Pattern[str], texts: list[str], offsets: list[int], starts: list[int]
) -> tuple[int, regex.Match[str]] | None:
    """``pattern.search`` over each text in turn, tried only at ``starts`` (ascending offsets in
    the texts joined by one space, ``offsets`` being where each text begins, where one of the
    pattern's start literals occurs): a match can begin nowhere else, so the first position that
    matches is where ``search`` would have matched."""
    k = 0
    for start in starts:
        while k + 1 < len(offsets) and offsets[k + 1] <= start:
            k += 1
        text = texts[k]
        pos = start - offsets[k]
        if pos >= len(text):
            continue  # the space joining two texts
        m = pattern.match(text, pos)
        if m:
            return k, m
    return None
