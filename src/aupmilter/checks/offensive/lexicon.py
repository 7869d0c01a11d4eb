"""Word and phrase lists (profanity, insults, sexual terms, slurs, harassment phrases), hard to
fool and free of Scunthorpe-style false positives.

Text is normalised (:mod:`aupmilter.normalise`); single words are looked up *whole* in a hash
set (leetspeak, look-alike letters, spacing and repeated letters seen through, plus common
suffixes for listed stems — but never when the written word is itself a real English word such
as "Mongers" or "dumbbell"), phrases with one compiled alternation over the token stream, after
allow-listed phrases are blanked out.  Identifiers (``PORN_GALLERIES``, ``dumb_terminal``,
``fooBar``), URLs and e-mail addresses are not words people say and are skipped.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

import regex

from aupmilter import schema
from aupmilter.errors import ConfigError
from aupmilter.normalise import (
    Token,
    TokenView,
    normalise_text,
    prepare,
    spaced_somewhere,
    token_texts,
    variants,
)
from aupmilter.quoting import FORWARDED, QUOTED
from aupmilter.schema import setting
from aupmilter.triggers import AnchoredPattern

SUFFIXES = (
    "s",
    "es",
    "ed",
    "er",
    "ers",
    "ing",
    "in",
    "y",
    "ie",
    "ies",
    "ish",
    "ty",
    "tier",
    "tiest",
    "ting",
    "ted",
    "ter",
    "ters",
    "head",
    "heads",
    "face",
    "faces",
    "wit",
    "wits",
    "bag",
    "bags",
    "hole",
    "holes",
    "tard",
    "tards",
    "stick",
    "sucker",
    "suckers",
    "load",
    "ton",
    "show",
    "storm",
)
SUFFIX_SET = frozenset(SUFFIXES)
#: Most words a memo keeps before it starts again.
MEMO_SIZE = 200_000
#: Signs of obfuscation that only the full normalisation path handles.
# (stdlib re: two to three times faster than the regex module on these simple ASCII patterns)
# Every alternative starts at the sign itself (context in look-arounds), so the engine skips
# ahead to the next sign instead of trying each letter: the same texts match, three times faster.
_OBFUSCATED = re.compile(
    r"[0-9@$!*|+](?<=[a-z][0-9@$!*|+])(?=[a-z])|[@$](?<![a-z0-9][@$])(?=[a-z])|\*(?<=[a-z]\*)|\*(?=[a-z])"
)
#: Every match of :data:`_OBFUSCATED` has one of these: when none occurs, it is not searched.
_SIGNS = "0123456789@$!*|+"
_SPACED_FAST = re.compile(r"(?<![a-z0-9])(?:[a-z0-9][ .\-_~/]{1,2}){2,}[a-z0-9](?![a-z0-9])")
_SPACED_FAST_MIDDLE = re.compile(r"[ .\-_~/](?=[a-z0-9][ .\-_~/])")  # one character: matches overlap
_ASCII_WORD = re.compile(r"[a-z]+")
_DOUBLE = re.compile(r"([a-z])\1")
_DOUBLE_RUN = re.compile(r"([a-z])\1+")
#: Not words a person says: URLs, addresses, identifiers (SpamAssassin's PORN_GALLERIES, a
#: variable dumb_terminal, a rule XXX.SEX, camelCase names).
_IDENTIFIER_KINDS = (
    # (what every match contains, searched cheaply from its first literal; the kind's pattern)
    (re.compile(r"://|www\."), r"\b(?:https?://|www\.)\S+"),
    (re.compile("@"), r"\S+@\S+\.\w+"),
    (re.compile(r"_(?<=\w\w_)\w\w"), r"\b\w{2,}(?:_\w{2,})+\b"),
    (re.compile(r"[a-z][A-Z]"), r"\b[a-z]+[A-Z]\w*\b"),
    (re.compile(r"\.(?<=\w\w\.)\w{2,}\.\w\w"), r"\b\w{2,}(?:\.\w{2,}){2,}\b"),
)
_IDENTIFIERS = re.compile("|".join(pattern for _, pattern in _IDENTIFIER_KINDS))
_IDENTIFIER_VARIANTS: dict[tuple[bool, ...], re.Pattern[str]] = {}
_NO_IDENTIFIER = re.compile(r"(?!)")


def _identifiers(text: str) -> re.Pattern[str]:
    """:data:`_IDENTIFIERS` without the alternatives that cannot match ``text`` (no "@": no
    address; no "x_y" or "aB": no snake or camel case), which finds exactly the same spans:
    the address alternative alone tried a backtracking ``\\S+@`` at every position of every
    letter, and each kind left costs a try at every word."""
    present = tuple(need.search(text) is not None for need, _ in _IDENTIFIER_KINDS)
    pattern = _IDENTIFIER_VARIANTS.get(present)
    if pattern is None:
        kept = [p for (_, p), keep in zip(_IDENTIFIER_KINDS, present, strict=True) if keep]
        pattern = _IDENTIFIER_VARIANTS[present] = re.compile("|".join(kept)) if kept else _NO_IDENTIFIER
    return pattern


def _without_identifiers(text: str) -> str:
    """``text`` with URLs, addresses and identifiers blanked out."""
    pattern = _identifiers(text)
    return text if pattern is _NO_IDENTIFIER else pattern.sub(" ", text)


#: Typography that school mail is full of, as the full path reads it: NFKC ("…" → "...", no-break
#: space → space), the apostrophe inside a word dropped as the ASCII one is, "£"/"€" read as the
#: ASCII leet sign "$" is (letters next to one take the full path), separators kept separators
#: ("•" and "·" join spaced-out letters as "." does).  Only for the fast path's question "could
#: anything match?"; any other non-ASCII character takes the full path.
_TYPOGRAPHY = (
    ("’", "'"), ("‘", " "), ("“", " "), ("”", " "), ("–", " "), ("—", " "), ("…", "..."), ("\xa0", " "),
    ("•", "."), ("·", "."), ("£", "$"), ("€", "$"),
)  # fmt: skip


@dataclass(frozen=True)
class Term:
    rule: str
    score: float
    display: str  # the canonical term, for masking
    cap: float = 1000.0  # most the list can add up to in one location


def starred(term: str) -> str:
    """``fuck`` → ``f**k``; short terms keep only the first letter."""
    letters = term.replace(" ", "")
    if len(letters) <= 3:
        return letters[0] + "*" * (len(letters) - 1)
    return " ".join(w[0] + "*" * (len(w) - 2) + w[-1] if len(w) > 2 else w[0] + "*" for w in term.split())


def _phrase_key(text: str) -> str:
    return normalise_text(text)


def _proper_noun(token: Token, text: str) -> bool:
    """Capitalised in mid-sentence (not shouted in capitals): a name, not the word."""
    raw = token.raw
    if not raw[:1].isupper() or raw.isupper():
        return False
    before = text[: token.start].rstrip()
    return bool(before) and before[-1] not in ".!?:;\n\"'(>-"


@dataclass(frozen=True)
class ListEntry:
    """``[[list]]``: one word list file and what its words mean."""

    file: str = setting(doc="Word list file beside lexicon.toml (one word or phrase per line, # comments).")
    rule: str = setting(doc="Rule id raised, e.g. offensive.profanity.strong.")
    score: float = setting(doc="Score of one hit.")
    cap: float = setting(1000.0, doc="Most the list's hits add up to in one message.")
    compounds: bool = setting(False, doc="Also match words that start with a listed word (4+ letters).")


@dataclass(frozen=True)
class AllowEntry:
    file: str = setting("allowlist.txt", doc="Phrases and names containing a listed word that are not offensive.")


@dataclass(frozen=True)
class ModelEntry:
    enabled: bool = setting(False, doc="Use the learned second opinion.")
    file: str = setting("offensive-model.json", doc="Model weights beside lexicon.toml.")
    threshold: float = setting(0.85, minimum=0, maximum=1, doc="Sentence probability from which it speaks.")
    rule: str = setting("offensive.model", doc="Rule id raised.")
    score: float = setting(2.0, doc="Score of its finding (below the review tier: it only tags).")


@dataclass(frozen=True)
class LexiconFile:
    """``rules/lexicon/lexicon.toml``."""

    list: tuple[ListEntry, ...] = setting((), doc="Word lists.")
    allow: AllowEntry = setting(AllowEntry(), doc="The allow list.")
    model: ModelEntry = setting(ModelEntry(), doc="The learned model.")


class Lexicon:
    """The compiled word lists of ``lexicon.toml``."""

    def __init__(self, directory: Path, real_words: frozenset[str] = frozenset()) -> None:
        self.real_words = real_words
        self.words: dict[str, Term] = {}
        self.stems: dict[str, Term] = {}
        phrases: dict[str, Term] = {}
        index = schema.read_file(LexiconFile, directory / "lexicon.toml")
        #: the whole file, parsed once: the check reads its [model] table from here
        self.index = index
        for entry in index.list:
            for line in _lines(directory / entry.file):
                key = _phrase_key(line)
                if not key:
                    continue
                term = Term(entry.rule, entry.score, line.lower(), entry.cap)
                if " " in key:
                    phrases[key] = term
                else:
                    self.words[key] = term
                    if entry.compounds and len(key) >= 4:
                        self.stems[key] = term
        allow = [_phrase_key(line) for line in _lines(directory / index.allow.file)]
        self.allow = _alternation([a for a in allow if a])
        self.phrases = phrases
        self.phrase_re = _alternation(list(phrases))
        # The allow list and the phrases are alternations of literal phrases: tried only where
        # one of them occurs (one Aho-Corasick pass), not at each of a letter's 6,000 positions.
        self._passes = [
            (AnchoredPattern(pattern), is_phrase)
            for pattern, is_phrase in ((self.allow, False), (self.phrase_re, True))
            if pattern is not None
        ]
        self.stem_prefixes = frozenset(stem[:4] for stem in self.stems)
        self.homonyms = _homonyms(directory / "homonyms.toml")
        # Each phrase's longest word: a phrase cannot be present unless that word is.
        self.phrase_keys = frozenset(max(p.split(), key=len) for p in phrases)
        self._memo: dict[str, Term | None] = {}
        self._listed: set[str] = set()  # the words of ``_memo`` that stand for a listed term
        self._screened: set[str] = set()  # words the fast path has asked :meth:`_doubtful_word` about
        self._doubtful: set[str] = set()  # ... and those it answered yes for
        self._phrase_pass = next((p for p, is_phrase in self._passes if is_phrase), None)

    # --- matching -------------------------------------------------------------------------------

    def _clearly_clean(self, text: str) -> bool:
        """Fast path for the common case: plain ASCII text with no sign of obfuscation and no
        listed word or phrase.  C-speed scans, then each word that could be listed looked up
        once per process; anything else takes the full path.  (In such text the full path's
        tokens are these words, less any inside identifiers, so the same lookups decide.)"""
        if "&" in text:
            return False
        if not text.isascii():
            for char, ascii_form in _TYPOGRAPHY:  # "£12", "don’t", “quotes”: UK mail is rarely pure ASCII
                if char in text:
                    text = text.replace(char, ascii_form)
            if not text.isascii():
                return False
        low = text.lower()
        if (any(sign in low for sign in _SIGNS) and _OBFUSCATED.search(low)) or spaced_somewhere(
            _SPACED_FAST, _SPACED_FAST_MIDDLE, low
        ):
            return False
        words = _ASCII_WORD.findall(low.replace("'", ""))
        unique = set(words)
        new = unique.difference(self._screened)
        if new:
            if len(self._screened) > MEMO_SIZE:
                self._screened.clear()
                self._doubtful.clear()
                new = unique
            self._screened |= new
            self._doubtful |= {w for w in new if self._doubtful_word(w)}
        # A word that only *could* be listed ("buffet", "cockerel", "Cockermouth": most letters
        # have one) is looked up as the full path would look it up; only a listed one needs it.
        if not self._doubtful.isdisjoint(unique) and self._listed_word_in(self._doubtful.intersection(unique)):
            return False
        if self.phrase_keys.isdisjoint(unique):
            return True
        return self._phrase_pass is None or next(iter(self._phrase_pass.finditer(" ".join(words))), None) is None

    def _doubtful_word(self, w: str) -> bool:
        """Could this plain lower-case word be a listed one (as written, with a suffix, or with
        its doubled letters collapsed: "fuuck", "shiiit")?  Asked once per word per process."""
        if w in self.words or (len(w) > 5 and w[:4] in self.stem_prefixes) or w.startswith("mother"):
            return True
        if _DOUBLE.search(w):
            one = _DOUBLE_RUN.sub(r"\1", w)
            if one in self.words or one[:4] in self.stem_prefixes:
                return True
        return False

    def scan(self, text: str) -> list[Term]:
        """Every listed term in ``text`` (already one location), in order of kind."""
        if self._clearly_clean(text):
            return []
        prepared = prepare(_without_identifiers(text))
        words = token_texts(prepared)
        if not self._listed_word_in(words) and (
            self._phrase_pass is None or next(iter(self._phrase_pass.finditer(" ".join(words))), None) is None
        ):
            return []  # no listed word or phrase: the tokens' places and spellings are not needed
        toks = TokenView(prepared)  # a token's spelling and place are made only where read
        texts = toks.texts
        if not texts:
            return []
        offsets = list(accumulate((len(t) + 1 for t in texts[:-1]), initial=0))
        stream = " ".join(texts)
        consumed: set[int] = set()
        hits: list[Term] = []
        for pattern, is_phrase in self._passes:
            for m in pattern.finditer(stream):
                first = bisect.bisect_left(offsets, m.start())
                last = bisect.bisect_left(offsets, m.end())
                indices = set(range(first, last)) - consumed
                if not indices:
                    continue
                consumed |= indices
                if is_phrase:
                    hits.append(self.phrases[m.group()])
        listed = {w for w in set(texts) if self._word(w) is not None}
        for i, text_i in enumerate(texts):
            if text_i not in listed or i in consumed:
                continue
            term = self._word(text_i)
            if term is None:
                continue
            t = toks[i]
            if term.rule.endswith(".mild") and _proper_noun(t, prepared):
                continue  # "Dick Whittington", "the Cock and Bull": names, not words
            context = self.homonyms.get(term.display)
            if context and any(w in context for w in texts[max(0, i - HOMONYM_WINDOW) : i + HOMONYM_WINDOW + 1]):
                continue  # "a dyke along the river", "our spaniel bitch", "a dumb terminal"
            if _surname(toks, i, prepared):
                continue  # "Aditya Pakki", "Jonathan Cockburn": a capitalised name after a first name
            if term.rule.endswith(".mild") and _name_at_start(toks, i):
                continue  # "Dick will be covering my duty"
            hits.append(term)
        return hits

    def _word(self, word: str) -> Term | None:
        """Cached: mail repeats its words, and most are not in any list."""
        try:
            return self._memo[word]
        except KeyError:
            pass
        if len(self._memo) > MEMO_SIZE:
            self._memo.clear()
            self._listed.clear()
        term = self._lookup(word)
        self._memo[word] = term
        if term is not None:
            self._listed.add(word)
        return term

    def _listed_word_in(self, words: Iterable[str]) -> bool:
        """Does any of ``words`` stand for a listed word?  Each distinct word is looked up once
        per process (:meth:`_word`); the question is then one set intersection."""
        distinct = set(words)
        if not self._listed.isdisjoint(distinct):
            return True
        # (each answer read as it comes: the memo may be cleared on the way)
        return any(self._word(word) is not None for word in distinct.difference(self._memo))

    def _lookup(self, word: str) -> Term | None:
        term = self.words.get(word)
        if term is not None:
            return term
        if "*" in word:
            return self._wildcard(word)
        for candidate in variants(word):
            term = self.words.get(candidate)
            if term is not None:
                return term
            if len(candidate) > 5 and candidate[:4] in self.stem_prefixes and candidate not in self.real_words:
                for cut in range(4, len(candidate)):
                    stem = self.stems.get(candidate[:cut])
                    if stem is not None and candidate[cut:] in SUFFIX_SET:
                        return stem
            if candidate.startswith("mother") and candidate[6:] in self.stems:
                return self.stems[candidate[6:]]
        return None

    def _wildcard(self, word: str) -> Term | None:
        """``f*ck``, ``f**k``, ``sh*t``, ``c*nt``, ``f*cking``: asterisks stand for letters."""
        letters = word.replace("*", "")
        if len(letters) < 2 or len(word) < 3:
            return None
        direct = self._wildcard_in(word, self.words)
        if direct is not None:
            return direct
        for suffix in SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 4:
                stem = self._wildcard_in(word[: -len(suffix)], self.stems)
                if stem is not None:
                    return stem
        return None

    @staticmethod
    def _wildcard_in(word: str, table: dict[str, Term]) -> Term | None:
        pattern = regex.compile("^" + regex.escape(word).replace(r"\*", "[a-z]") + "$")
        matches = [t for w, t in table.items() if len(w) == len(word) and pattern.match(w)]
        return max(matches, key=lambda t: t.score) if matches else None


HOMONYM_WINDOW = 6
_AUXILIARIES = frozenset({"will", "is", "was", "has", "had", "and", "said", "says", "can", "could", "would", "should"})


def _name_at_start(toks: Sequence[Token], i: int) -> bool:
    """A capitalised word opening a sentence and followed by a verb is a name ("Dick will ...")."""
    raw = toks[i].raw
    return raw[:1].isupper() and not raw.isupper() and i + 1 < len(toks) and toks[i + 1].text in _AUXILIARIES


def _surname(toks: Sequence[Token], i: int, text: str) -> bool:
    """Capitalised (not shouted) and right after another capitalised word on the same line."""
    raw, previous = toks[i].raw, toks[i - 1] if i else None
    if previous is None or not raw[:1].isupper() or raw.isupper():
        return False
    between = text[previous.start + len(previous.raw) : toks[i].start]
    return previous.raw[:1].isupper() and not previous.raw.isupper() and between in {" ", "-"}


@dataclass(frozen=True)
class HomonymsFile:
    context: dict[str, tuple[str, ...]] = setting(
        {}, doc="Listed word = context words that mark its innocent sense (a 'cock' near 'hen', 'farm')."
    )


def _homonyms(path: Path) -> dict[str, frozenset[str]]:
    """``homonyms.toml``: listed word -> context words that mark its innocent sense."""
    if not path.exists():
        return {}
    data = schema.read_file(HomonymsFile, path)
    return {word.lower(): frozenset(normalise_text(c) for c in context) for word, context in data.context.items()}


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc.strerror}") from None
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


def _alternation(items: list[str]) -> regex.Pattern[str] | None:
    if not items:
        return None
    ordered = sorted(set(items), key=len, reverse=True)
    return regex.compile(r"(?<![a-z0-9])(?:" + "|".join(regex.escape(i) for i in ordered) + r")(?![a-z0-9])")


# Quoted kinds are part of the public vocabulary of locations.
__all__ = ["FORWARDED", "QUOTED", "Lexicon", "Term", "starred"]
