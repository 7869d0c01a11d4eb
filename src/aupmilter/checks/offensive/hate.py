"""Targeted abuse, hate and threats: *who* a statement is about and *what* it says of them.

A word list catches "f**k"; it cannot catch "I want to kill all Muslims", "women belong in the
kitchen" or "I have no respect for any of them" — ordinary words that are hateful because of
who they are aimed at — and it flags "I don't hate anyone" or "she told me he called her a ...".
This module reads each sentence as a sequence of word *classes* and matches sentence frames:

=========================  ==============================================================
frame                      example
=========================  ==============================================================
derogation (emotion)       I (really) hate / can't stand / am sick of <group>
derogation (attribute)     <group> are (so) disgusting · I find <group> disgusting ·
                           filthy <group> · why are <group> so lazy?
dehumanisation             <group> are vermin / a plague / animals
implicit derogation        <group> belong in a zoo · have no place in · should know their place
negated positive           I have no respect for any <group> · <group> lives don't matter ·
                           <group> can't be trusted · I don't think <group> are human
threat (direct)            I'm going to kill <group/you> · the next <group> I see I will shoot
threat (normative)         <group> should all be shot / deserve to die / should be deported
                           · death to <group> · kill all <group>
profane abuse              f*** all <group> · <group> can f*** off
=========================  ==============================================================

Targets are the Equality Act 2010's protected characteristics (``rules/lexicon/targets.toml``)
and, for threats and harassment, individuals ("you", "him", "her").  A later "they/them/every
one of them" refers back to a group named in the same or one of the two previous sentences.

Context that stops a frame from counting (mention is not use):

* negation in the clause ("I don't hate ...", "<group> are not disgusting"), reaching into the
  next clause after a belief verb ("I don't think that ...", "no one should say that ...");
* counter-speech: the frame is inside quotation marks, is reported ("he called her ...", "if you
  say ...", "statements like ...") by someone other than the sender, or the sentence condemns
  it ("... is racist", "hate speech", "bigot") — except the apologist "I'm not racist, but ...".

Spelling variation is handled by :mod:`aupmilter.normalise` (leet, look-alikes, spacing,
repeats) and :mod:`.spelling` (one swapped or missing letter, words run together).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain, pairwise
from pathlib import Path
from typing import NamedTuple

import regex

from aupmilter import schema
from aupmilter.checks.offensive.spelling import Speller, load_real_words
from aupmilter.errors import ConfigError
from aupmilter.normalise import fold, prepare, variants
from aupmilter.triggers import AnchoredPattern

# --- word classes -------------------------------------------------------------------------------
# One character per class; frames are regular expressions over the class string of a sentence.
GROUP = "G"  # a protected group ("muslims", "disabled people", "the elderly")
THEY = "T"  # they/them/those people: a group when one was named just before
YOU = "Y"  # the addressee
THIRD = "H"  # he/him/she/her: an individual
PERSON = "P"  # a named or described person ("Mr Okafor", "the head teacher", "my wife")
SELF = "I"  # i/we: the speaker
EMOTION = "V"
VIOLENCE = "K"
CALL = "M"  # "death to", "down with": a call against a group
EXCLUSION = "J"
ATTRIBUTE = "X"
STRONG = "W"  # an attribute that also derogates before the noun ("filthy ...")
IMPLICIT = "Z"
REGARD = "R"  # respect/trust/like: negated, derogates
WORTH = "O"  # human/equal/welcome/matter: negated, derogates
PERMIT = "L"  # allowed/hired/let in: negated for a group, excludes it
INTENT = "F"
NORM = "S"
BELIEF = "B"
PROFANE = "U"
NEG = "N"
FILLER = "d"  # determiners, quantifiers, intensifiers, auxiliaries
COPULA = "A"
BE = "E"
BOUNDARY = "|"
OTHER = "."

_NEGATIONS = {
    "not", "no", "never", "nobody", "none", "noone", "neither", "nor", "without", "hardly", "nothing",
    "no one", "nowhere", "cannot", "zero", "refuse to", "refuses to",
}  # fmt: skip
_FILLERS = {
    "all", "every", "each", "any", "the", "a", "an", "some", "most", "many", "such", "so", "really", "just",
    "totally", "completely", "absolutely", "truly", "literally", "simply", "genuinely", "honestly", "actually",
    "bloody", "damn", "more", "very", "too", "quite", "pretty", "extremely", "utterly", "rather", "always",
    "only", "still", "also", "even", "of", "for", "at", "about", "do", "does", "did", "have", "has", "had",
    "can", "to", "ever", "one", "single", "certain", "basically", "frankly", "personally", "seriously", "lot",
    "lots", "bunch", "kind", "sort", "type", "next", "other", "and", "or", "lives", "life", "kinds", "types",
    "these", "those", "fucking", "effing", "freaking", "frigging", "deeply", "mostly", "generally", "usually",
    "clearly", "obviously", "definitely", "surely", "probably", "nothing but", "by", "with", "like", "it",
    "whole", "entire", "last", "bit", "little", "own", "up",
}  # fmt: skip
_COPULAS = {"are", "is", "was", "were", "am", "r", "being", "been", "seem", "seems", "look", "looks", "become", "act"}
_BE = {"be", "get", "got", "gets", "getting", "be all", "all be"}
_SELF = {"i", "we", "me and", "us"}
_YOU = {"you", "u", "ya", "ye", "yourself", "yourselves", "your", "ur", "yours"}
_THIRD = {"he", "him", "she", "her", "himself", "herself"}
_THEY = {
    "they", "them", "those people", "these people", "such people", "people like that", "people like them",
    "their kind", "every one of them", "each of them", "all of them", "every single one of them",
    "one of them", "any of them", "the lot of them", "that lot", "this lot", "their lot", "those",
    "these",
}  # fmt: skip
#: Contractions as the tokeniser sees them (the normaliser drops in-word apostrophes: "can't"
#: → "cant"), written out so negation and person are plain words.
_CONTRACTED: dict[str, tuple[str, ...]] = {
    "cant": ("can", "not"), "cannot": ("can", "not"), "dont": ("do", "not"), "doesnt": ("does", "not"),
    "didnt": ("did", "not"), "wont": ("will", "not"), "isnt": ("is", "not"), "arent": ("are", "not"),
    "wasnt": ("was", "not"), "werent": ("were", "not"), "shouldnt": ("should", "not"),
    "couldnt": ("could", "not"), "wouldnt": ("would", "not"), "havent": ("have", "not"),
    "hasnt": ("has", "not"), "hadnt": ("had", "not"), "mustnt": ("must", "not"), "aint": ("are", "not"),
    "shant": ("shall", "not"), "neednt": ("need", "not"), "im": ("i", "am"), "ive": ("i", "have"),
    "youre": ("you", "are"), "youll": ("you", "will"), "youve": ("you", "have"), "youd": ("you", "would"),
    "theyre": ("they", "are"), "theyll": ("they", "will"), "theyve": ("they", "have"),
    "theyd": ("they", "would"), "hes": ("he", "is"), "shes": ("she", "is"), "thats": ("that", "is"),
    "theres": ("there", "is"), "whats": ("what", "is"), "gonna": ("going", "to"),
    "wanna": ("want", "to"), "gotta": ("got", "to"), "itll": ("it", "will"),
    "weve": ("we", "have"), "id": ("i", "would"), "hed": ("he", "would"), "shed": ("she", "would"),
}  # fmt: skip
_WILL_WOULD = re.compile(r"(?i)\b(i|we|he|she|they|you|it|u)['’](ll|d)\b")
#: Every match of :data:`_WILL_WOULD` has this in it; searched from the apostrophe, it is cheap.
_WILL_WOULD_HINT = re.compile(r"['’](?i:ll|d)\b")


def _write_out(m: re.Match[str]) -> str:
    return f"{m.group(1)} {'will' if m.group(2).lower() == 'll' else 'would'}"


#: "ill", "well", "hell", "shell" are "I'll", "we'll", "he'll", "she'll" before these words.
_WILL_CONTRACTIONS = {"ill": "i", "well": "we", "hell": "he", "shell": "she"}
_WILL_KEYS = frozenset(_WILL_CONTRACTIONS)
#: Most entries a per-token or per-word memo keeps before it starts again.
MEMO_SIZE = 50_000
_ILL_BEFORE = frozenset(
    {"kill", "shoot", "murder", "stab", "hurt", "find", "get", "end", "make", "smash", "burn", "come", "be",
     "never", "not", "break", "beat", "kick", "punch", "see", "slap", "show", "teach", "ruin", "do", "have"}
)  # fmt: skip
#: Text-speak and deliberate misspellings no edit distance reaches.
_SLANG: dict[str, tuple[str, ...]] = {
    "ppl": ("people",), "peeps": ("people",), "h8": ("hate",), "h8e": ("hate",), "h8ers": ("haters",),
    "b": ("be",), "gona": ("going", "to"), "imma": ("i", "am", "going", "to"), "ima": ("i", "am", "going", "to"),
    "shud": ("should",),
    "shld": ("should",), "wud": ("would",), "kil": ("kill",), "hte": ("hate",), "ur": ("you", "are"),
    "deserv": ("deserve",), "dnt": ("do", "not"), "gtfo": ("get", "out"),
}  # fmt: skip
PERMISSIONS = (
    "allowed", "permitted", "let in", "hired", "employed", "promoted", "let near", "allowed near",
    "allowed to", "given jobs", "employ", "hire", "let", "tolerated",
)  # fmt: skip
#: Described people a threat can name ("the head teacher", "my wife", "his kids").
_PEOPLE_NOUNS = frozenset(
    {"teacher", "head", "headteacher", "head teacher", "wife", "husband", "children", "kids", "kid", "child",
     "son", "daughter", "mum", "dad", "mother", "father", "boss", "manager", "neighbour", "pupil", "pupils",
     "student", "students", "caretaker", "cleaner", "receptionist", "governor", "governors", "colleague",
     "colleagues", "class", "family", "partner", "girlfriend", "boyfriend", "baby", "deputy", "senco"}
)  # fmt: skip
_PERSON_DETERMINERS = frozenset({"the", "my", "his", "her", "their", "our", "your", "that", "this", "every", "each"})
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "sir"})
_GROUP_ANY = {
    "you people", "your kind", "your lot", "people like you", "people like him", "people like her",
    "his people", "her people", "his kind", "her kind", "her lot", "his lot", "their lot", "their kind",
}  # fmt: skip
_BOUNDARY_WORDS = {
    "but", "because", "although", "though", "while", "whereas", "if", "when", "unless", "until", "since",
    "who", "which", "that", "whether", "where", "however", "then", "cos", "cause",
}  # fmt: skip
# Function words a run-together token may contain ("ihate", "killall", "womenare").
_JOINABLE = _NEGATIONS | _FILLERS | _COPULAS | _BE | _SELF | _YOU | _THIRD | {"they", "them", "should", "will", "must"}
_RESPELL_Z = re.compile(r"z(?=$)|(?<=[aeiou])z(?=[aeiou])")
_TOKEN = regex.compile(r"[\p{L}\p{N}@$*|+€£]+(?:!+[\p{L}\p{N}]+)*|[\"“”«»„]|[‘’']|[,;:()\[\]?!.…—–]|-(?=\s)")
#: :data:`_TOKEN` on ASCII text (where both read the same), in the stdlib engine: twice as fast.
_ASCII_TOKEN = re.compile(r"[A-Za-z0-9@$*|+]+(?:!+[A-Za-z0-9]+)*|[\"]|[']|[,;:()\[\]?!.]|-(?=[\t\n\x0b\x0c\r ])")
_SENTENCE_END = frozenset(".?!…")
#: Where :meth:`str.splitlines` breaks a line: tokens of their own when lines are read together
#: (a "-" before one is not a token: within its line it was last).
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_TOKEN_LINES = regex.compile(_TOKEN.pattern.replace(r"-(?=\s)", rf"-(?=[^\S{_LINE_BREAKS}])") + rf"|[{_LINE_BREAKS}]")
_ASCII_TOKEN_LINES = re.compile(
    _ASCII_TOKEN.pattern.replace(r"-(?=[\t\n\x0b\x0c\r ])", r"-(?=[\t ])") + r"|[\n\r\x0b\x0c\x1c\x1d\x1e]"
)
_ENDS = _SENTENCE_END | frozenset(_LINE_BREAKS)
_ALL_QUOTES = "\"“”«»„‘’'"
_QUOTE_MARKS = frozenset('"“”«»„')
_SINGLE_QUOTES = frozenset("‘’'")
_LEADING = "!*|"
_ANY_QUOTE = re.compile("[" + _ALL_QUOTES + "]")
_FIRST = operator.itemgetter(0)  # a Word's text, a Symbol's class: read in C
_WORDS = operator.itemgetter(1)  # a Symbol's words
_QUOTED = operator.itemgetter(2)  # a Word's or a Symbol's ``quoted``

#: Frames: (name, kind, pattern).  ``t`` names the target; ``p`` the predicate.
_FRAMES: list[tuple[str, str, str]] = [
    ("derogation", "hate", r"(?:I|^)d*(?:A d*)?(?P<p>V)d*(?:\.d*)?(?P<t>[GT])"),
    ("derogation", "hate", r"(?P<t>G)\|?d*I d*(?:A d*)?(?P<p>V)d*(?![GTYH.])"),
    ("derogation", "hate", r"(?P<t>[GT])d*(?:A d*)?(?P<p>[XW])"),
    ("derogation", "hate", r"(?P<t>[GT])d*A d*\.d*(?P<p>[XW])"),
    ("derogation", "hate", r"(?P<p>W)d{0,2}(?P<t>G)"),
    ("derogation", "hate", r"A d*(?P<t>[GT])d*(?P<p>[XW])"),
    ("implicit derogation", "hate", r"(?P<t>[GT])d*(?:A d*)?(?P<p>Z)"),
    ("negated positive", "hate", r"I d*(?:A d*)?(?:[FS]d*)?N d*(?:E d*)?(?P<p>R)d*(?P<t>[GT])"),
    ("negated positive", "hate", r"(?P<t>[GT])d*(?:[AFS]d*)?N d*(?:[EA]d*)?(?P<p>[OR])(?!d*[GTYH])"),
    ("negated positive", "hate", r"N d*B d*(?P<t>[GT])d*A d*(?P<p>O)"),
    ("negated positive", "hate", r"N [.d]{0,4}(?P<p>O)d*(?P<t>G)"),
    ("negated positive", "hate", r"N d*(?P<t>G)d*(?:[AFS]d*)+(?P<p>O)"),
    ("exclusion", "hate", r"(?P<t>[GT])d*(?:[AFS]d*)*N d*(?:[EA]d*)*(?P<p>L)"),
    ("exclusion", "hate", r"N d*(?:[FS]d*)?(?:E d*)?(?P<p>L)d*(?P<t>G)"),
    ("threat", "threat", r"I d*(?:A d*)?[FS]d*(?:E d*)?(?P<p>K)d*(?P<t>[GTYHP])"),
    ("threat", "threat", r"(?P<t>[GY])[.d|]{0,5}I d*(?:A d*)?[FS]d*(?P<p>K)"),
    ("threat", "threat", r"(?P<t>[GTY])d*(?:A d*)?[SF]d*E d*(?P<p>[KJ])"),
    ("threat", "threat", r"(?P<t>[GTY])d*(?:A d*)?[SF]d*(?P<p>K)(?!d*[GTYH.])"),
    ("threat", "threat", r"(?:^|[|S])d*(?P<p>[KJ])d*(?P<t>[GT])"),
    ("threat", "threat", r"(?P<p>M)d*(?P<t>[GT])"),
    ("personal abuse", "abuse", r"(?P<t>Y)d*A d*(?P<p>[XW])"),
    ("profane abuse", "hate", r"(?P<p>U)d*(?P<t>[GT])"),
    ("profane abuse", "hate", r"(?P<t>[GT])d*(?:[FS]d*)?(?P<p>U)"),
]


def _group_classes(pattern: str, group: str) -> frozenset[str]:
    """The classes the named group of a frame matches: one class letter or a set of them."""
    m = re.search(rf"\(\?P<{group}>(\[[A-Z.|]+\]|[A-Z.|])\)", pattern)
    if m is None:
        raise ValueError(f"frame {pattern!r}: group {group} is not one class")
    return frozenset(m.group(1).strip("[]"))


#: Frames compiled, with the classes their target and predicate can be: a sentence without one
#: of each cannot match.
_COMPILED = [
    (name, kind, re.compile(pattern.replace(" ", "")), _group_classes(pattern, "t"), _group_classes(pattern, "p"))
    for name, kind, pattern in _FRAMES
]
_PREDICATES = frozenset().union(*(predicates for *_, predicates in _COMPILED))
_DEHUMANISING = "dehumanisation"


class Word(NamedTuple):
    """One token of a sentence after normalisation (``text``) with where it came from.
    (A named tuple: mail has many words, and a tuple is built in C.)"""

    text: str
    raw: str
    quoted: bool


class Symbol(NamedTuple):
    """A word or listed phrase of a sentence as its word class.  (A named tuple: the reading
    of a word alone is shared by every sentence it occurs in; a different reading in context
    is a new symbol, see :meth:`HateDetector.symbols` and :meth:`HateDetector.analyse`.)"""

    cls: str
    words: tuple[str, ...]
    quoted: bool
    category: str = ""  # the group's protected characteristic, for G
    dehumanising: bool = False
    capitalised: bool = False  # an unlisted word written with a capital: likely a name


@dataclass(frozen=True)
class Hit:
    """One frame matched: what kind, against whom, on which words (already normalised)."""

    frame: str  # "derogation", "dehumanisation", "threat", ...
    kind: str  # "hate" | "threat" | "abuse"
    target: str  # a protected characteristic (see targets.toml) or "individual"
    words: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class _Entry:
    cls: str
    category: str = ""
    dehumanising: bool = False


#: What a word reads as on its own: see :meth:`HateDetector._symbol_entry`.
_SymbolEntry = tuple[Symbol | None, bool, Symbol, Symbol, bool, bool, bool]


def _contextual(sym: Symbol) -> bool:
    """Can the neighbours change this symbol's reading (see :meth:`HateDetector.symbols`)?"""
    cls = sym.cls
    return (
        (cls == THEY and sym.words[0] in {"those", "these"})
        or (cls == BOUNDARY and sym.words == ("that",))
        or cls == PROFANE
        or (cls == REGARD and sym.words == ("like",))
    )


class HateDetector:
    """Built once per configuration load from ``hate.toml`` and ``targets.toml``."""

    def __init__(self, directory: Path) -> None:
        classes = _read_toml(directory / "hate.toml")
        targets = _read_toml(directory / "targets.toml")
        self.labels: dict[str, str] = {}
        table: dict[tuple[str, ...], _Entry] = {}

        def add(phrase: str, entry: _Entry, *, replace: bool = False) -> None:
            key = tuple(self._fold_phrase(phrase))
            if key and (replace or key not in table):
                table[key] = entry

        # Lowest priority first; later classes replace earlier ones for the same phrase.
        for word in _FILLERS:
            add(word, _Entry(FILLER))
        for word in _BOUNDARY_WORDS:
            add(word, _Entry(BOUNDARY))
        simple = {
            "belief": BELIEF,
            "intent": INTENT,
            "normative": NORM,
            "positive": REGARD,
            "attribute": ATTRIBUTE,
            "strong_attribute": STRONG,
            "dehumanising": ATTRIBUTE,
            "exclusion": EXCLUSION,
            "violence": VIOLENCE,
            "emotion": EMOTION,
            "implicit": IMPLICIT,
            "profane": PROFANE,
        }
        expected = set(simple) | {"report", "condemn", "personal_threat", "personal_abuse"}
        unknown = set(classes) - expected
        if unknown:
            raise ConfigError(str(directory / "hate.toml"), sorted(unknown)[0], "unknown key")
        for key, cls in simple.items():
            for phrase in _strings(classes, key, directory / "hate.toml"):
                add(phrase, _Entry(cls, dehumanising=key == "dehumanising"), replace=True)
        for word in (
            "human",
            "humans",
            "equal",
            "equals",
            "real",
            "normal",
            "capable",
            "welcome",
            "matter",
            "matters",
            "belong",
            "belongs",
            "decent",
            "honest",
            "good",
            "trustworthy",
            "british",
            "english",
            "loyal",
        ):
            add(word, _Entry(WORTH), replace=True)
        for phrase in [p for p in _strings(classes, "positive", directory / "hate.toml") if " " in p]:
            if phrase.split()[0] in {"deserve", "be", "belong", "worth", "welcome", "real", "care"}:
                add(phrase, _Entry(WORTH), replace=True)
        for word in PERMISSIONS:
            add(word, _Entry(PERMIT), replace=True)
        for word in ("death to", "down with", "kill all", "gas all", "shoot all", "hang all", "nuke all"):
            add(word, _Entry(CALL), replace=True)
        for words, cls in (
            (_NEGATIONS, NEG),
            (_COPULAS, COPULA),
            (_BE, BE),
            (_SELF, SELF),
            (_YOU, YOU),
            (_THIRD, THIRD),
            (_THEY, THEY),
        ):
            for word in words:
                add(word, _Entry(cls), replace=True)
        person_nouns = _strings(targets, "person_nouns", directory / "targets.toml")
        groups = targets.get("groups", {})
        if not isinstance(groups, dict):
            raise ConfigError(str(directory / "targets.toml"), "groups", "must be a table of groups")
        targets_path = str(directory / "targets.toml")
        for category, spec in groups.items():
            if not isinstance(spec, dict) or set(spec) - {"label", "nouns", "adjectives"}:
                raise ConfigError(targets_path, f"groups.{category}", "needs label, nouns, adjectives")
            self.labels[category] = str(spec.get("label", category))
            for noun in _strings(spec, "nouns", directory / "targets.toml"):
                for form in _number_forms(noun):
                    add(form, _Entry(GROUP, category), replace=True)
            for adjective in _strings(spec, "adjectives", directory / "targets.toml"):
                add(f"the {adjective}", _Entry(GROUP, category))
                for person in person_nouns:
                    add(f"{adjective} {person}", _Entry(GROUP, category), replace=True)
        for phrase in _GROUP_ANY:
            add(phrase, _Entry(GROUP, "unspecified"), replace=True)
        self.labels["unspecified"] = "a group"
        self.labels["individual"] = "an individual"
        self.table = table
        self.first_words = frozenset(k[0] for k in table)
        hate_path = directory / "hate.toml"
        self.report = frozenset(tuple(self._fold_phrase(p)) for p in _strings(classes, "report", hate_path))
        self.condemn = frozenset(
            tuple(self._fold_phrase(p)) for p in _strings(classes, "condemn", directory / "hate.toml")
        )
        self.cue_starts = frozenset(g[0] for g in self.report | self.condemn)
        self._cue_words = frozenset(g[0] for g in self.report | self.condemn if len(g) == 1)
        self._cue_pairs = frozenset(g[:2] for g in self.report | self.condemn if len(g) > 1)
        self.personal_threat = _phrase_pattern(
            [" ".join(self._fold_phrase(p)) for p in _strings(classes, "personal_threat", directory / "hate.toml")]
        )
        self.personal_abuse = _phrase_pattern(
            [" ".join(self._fold_phrase(p)) for p in _strings(classes, "personal_abuse", directory / "hate.toml")]
        )
        #: the personal phrases, each looked for only where one of their first words occurs
        self._personal = [
            (kind, pattern, AnchoredPattern(pattern))
            for kind, pattern in (("threat", self.personal_threat), ("abuse", self.personal_abuse))
            if pattern is not None
        ]
        #: either of them (one pass over a text that has neither, as most have)
        self._any_personal = (
            AnchoredPattern(re.compile("|".join(p.pattern for _, p, _ in self._personal))) if self._personal else None
        )
        vocabulary = {w for key in table for w in key if len(w) >= 3} - _JOINABLE
        self.speller = Speller(vocabulary, _JOINABLE, load_real_words(directory / "realwords.txt"))
        self._memo: dict[str, tuple[str, ...]] = {}
        #: token as written -> its words (unquoted, quoted): each distinct token is read once
        self._token_memo: dict[str, tuple[Word, ...]] = {}
        self._quoted_memo: dict[str, tuple[Word, ...]] = {}
        self._symbol_memo: dict[Word, _SymbolEntry] = {}  # word -> what it reads as alone
        self._last: tuple[str, list[tuple[list[Word], list[Symbol]]]] | None = None
        self._negated_sentences: set[int] = set()  # sentences of the last text whose frame was negated
        lengths: dict[str, set[int]] = {}
        for entry_key in table:
            lengths.setdefault(entry_key[0], set()).add(len(entry_key))
        #: first word -> the phrase lengths that start with it, longest first
        self.lengths_from = {w: tuple(sorted(n, reverse=True)) for w, n in lengths.items()}
        #: the first two words of every phrase of two or more: a phrase can only start there
        self._phrase_pairs = frozenset(k[:2] for k in table if len(k) > 1)

    @staticmethod
    def _fold_phrase(phrase: str) -> list[str]:
        return _written_out(fold(w) for w in prepare(phrase.lower()).replace("-", " ").split())

    # --- text → sentences of words -------------------------------------------------------------

    def _resolve(self, token: str) -> tuple[str, ...]:
        """A folded token as the vocabulary words it stands for (cached: mail repeats words)."""
        cached = self._memo.get(token)
        if cached is not None:
            return cached
        if len(self._memo) > 100_000:
            self._memo.clear()
        out: tuple[str, ...] = (token,)
        slang = _CONTRACTED.get(token) or _SLANG.get(token)
        if slang is not None:
            out = slang
        elif "*" in token and len(token.replace("*", "")) >= 2:
            # "f*cking", "k*ll": asterisks stand for letters; only an unambiguous reading counts
            shape = re.compile(re.escape(token).replace(r"\*", "[a-z]") + r"\Z")
            readings = [w for w in self.first_words if len(w) == len(token) and shape.match(w)]
            out = (readings[0],) if len(readings) == 1 else (token,)
        elif token not in self.first_words:
            for candidate in variants(token)[1:]:
                if candidate in self.first_words:
                    out = (candidate,)
                    break
            else:
                fixed = self.speller.correct(token)
                if fixed is None:
                    respelt = _RESPELL_Z.sub("s", token).replace("ph", "f").replace("kk", "k")
                    if respelt != token:
                        fixed = respelt if respelt in self.first_words else self.speller.correct(respelt)
                if fixed is not None:
                    out = (fixed,)
                else:
                    pieces = self.speller.split(token)
                    if pieces is not None:
                        out = tuple(pieces)
        self._memo[token] = out
        return out

    def sentences(self, text: str) -> list[list[Word]]:
        """Sentences of normalised words; punctuation kept as boundary words, quotes tracked.
        A line break ends a sentence (lists, signatures, headings).

        Each distinct token is read once per process (:meth:`_token_words`: its pieces as
        words); a line without quotation marks needs no quote tracking, so its tokens are only
        looked up."""
        if ("'" in text or "’" in text) and _WILL_WOULD_HINT.search(text):
            text = _WILL_WOULD.sub(_write_out, text)
        text = prepare(text)
        out: list[list[Word]] = []
        memo = self._token_memo
        if len(memo) > MEMO_SIZE or len(self._quoted_memo) > MEMO_SIZE:
            memo.clear()
            self._quoted_memo.clear()
        if text.isascii() and _ANY_QUOTE.search(text) is None:
            self._plain_lines(text, out)
        else:
            # Lines without quotation marks are read together, ASCII ones apart from the rest
            # (the stdlib engine reads those); a line with quotation marks on its own.
            plain: list[str] = []
            plain_ascii = True
            for line in text.splitlines():
                if _ANY_QUOTE.search(line) is None:
                    ascii_line = line.isascii()
                    if plain and ascii_line != plain_ascii:
                        self._plain_lines("\n".join(plain), out)
                        plain = []
                    plain.append(line)
                    plain_ascii = ascii_line
                    continue
                if plain:
                    self._plain_lines("\n".join(plain), out)
                    plain = []
                current: list[Word] = []
                out.append(current)
                self._quoted_line(line, current, out)
            if plain:
                self._plain_lines("\n".join(plain), out)
        for sentence in out:
            if len(sentence) > 1 and not _WILL_KEYS.isdisjoint(map(_FIRST, sentence)):
                for k in range(len(sentence) - 1):
                    word = sentence[k]
                    subject = _WILL_CONTRACTIONS.get(word.text)
                    if subject is not None and sentence[k + 1].text in _ILL_BEFORE and "'" not in word.raw:
                        will = Word("will", word.raw, word.quoted)
                        sentence[k : k + 1] = [Word(subject, word.raw, word.quoted), will]
        return [s for s in out if any(map(BOUNDARY.__ne__, map(_FIRST, s)))]

    def _plain_lines(self, text: str, out: list[list[Word]]) -> None:
        """The sentences of lines without quotation marks, appended to ``out``: each token's
        words looked up, split after each sentence end and line break (empty sentences are
        dropped by the caller)."""
        tokens = (_ASCII_TOKEN_LINES if text.isascii() else _TOKEN_LINES).findall(text)
        memo = self._token_memo
        try:
            entries = list(map(memo.__getitem__, tokens))
        except KeyError:
            entries = [memo[raw] if raw in memo else self._token_words(raw, False) for raw in tokens]
        ends = list(map(_ENDS.__contains__, tokens))
        current: list[Word] = []
        out.append(current)
        start = 0
        while True:
            try:
                end = ends.index(True, start) + 1
            except ValueError:
                current.extend(chain.from_iterable(entries[start:]))
                return
            current.extend(chain.from_iterable(entries[start:end]))
            current = []
            out.append(current)
            start = end

    def _quoted_line(self, line: str, current: list[Word], out: list[list[Word]]) -> None:
        """The tokens of a line with quotation marks: words inside quotes are ``quoted``.
        A single quote is a quote unless it is an apostrophe ("girls' team")."""
        in_double = in_single = False
        for m in (_ASCII_TOKEN if line.isascii() else _TOKEN).finditer(line):
            raw = m.group()
            if raw in _QUOTE_MARKS:
                in_double = not in_double if raw in '"„' else raw in "“«„"
                continue
            if raw in _SINGLE_QUOTES:
                before = line[m.start() - 1] if m.start() else " "
                after = line[m.end()] if m.end() < len(line) else " "
                if before.isalnum() and not after.isalnum() and not in_single:
                    continue  # possessive "girls' team": not a quote
                if not before.isalnum() and after.isalnum():
                    in_single = True
                elif before.isalnum() or before in ".?!,":
                    in_single = False
                continue
            if in_double or in_single:
                words = self._quoted_memo.get(raw)
                if words is None:
                    words = self._token_words(raw, True)
            else:
                words = self._token_memo.get(raw)
                if words is None:
                    words = self._token_words(raw, False)
            current.extend(words)
            if raw in _SENTENCE_END:
                current = []
                out.append(current)

    def _token_words(self, raw: str, quoted: bool) -> tuple[Word, ...]:
        """One token of :data:`_TOKEN` as the words it stands for (memoised per token): a
        word-like token as its resolved pieces (none for a number), punctuation as a boundary."""
        first = raw[0]
        if first in _LINE_BREAKS:
            words: tuple[Word, ...] = ()
        elif first.isalnum() or first in "@$*|+€£":
            core = raw.strip(_LEADING) if first in _LEADING or raw[-1] in _LEADING else raw
            if not core or core.isdigit():
                words = ()
            else:
                folded = core.lower() if core.isascii() and core.isalpha() else fold(core)
                pieces = self._memo.get(folded) or self._resolve(folded)
                words = tuple(Word(piece, core, quoted) for piece in pieces)
        else:
            words = (Word(BOUNDARY, raw, quoted),)
        (self._quoted_memo if quoted else self._token_memo)[raw] = words
        return words

    # --- words → symbols ------------------------------------------------------------------------

    def symbols(self, words: Sequence[Word]) -> list[Symbol]:
        """Words as symbols: the longest listed phrase at each word, or the word alone (a
        person when it is a name or a described person).  What a word alone reads as is worked
        out once per distinct word (:meth:`_symbol_entry`); phrases are looked for only where
        a listed phrase starts with the word and the next one."""
        out: list[Symbol] = []
        n = len(words)
        texts = list(map(_FIRST, words))
        memo = self._symbol_memo
        if len(memo) > MEMO_SIZE:
            memo.clear()
        get = memo.get
        pairs = self._phrase_pairs
        context: list[int] = []  # symbols whose reading depends on their neighbours
        i = 0
        while i < n:
            word = words[i]
            entry = get(word)
            if entry is None:
                entry = self._symbol_entry(word)
            fixed, contextual, other, person, name, noun, multi = entry
            if multi and i + 1 < n and (texts[i], texts[i + 1]) in pairs:
                phrase = self._phrase_at(words, texts, i)
                if phrase is not None:
                    if _contextual(phrase):
                        context.append(len(out))
                    out.append(phrase)
                    i += len(phrase.words)
                    continue
            if fixed is not None:
                if contextual:
                    context.append(len(out))
                out.append(fixed)
            elif i and ((noun and texts[i - 1] in _PERSON_DETERMINERS) or (name and texts[i - 1] != BOUNDARY)):
                out.append(person)
            else:
                out.append(other)
            i += 1
        # Context-dependent readings.
        last = len(out) - 1
        for k in context:
            sym = out[k]
            nxt = out[k + 1].cls if k < last else ""
            if sym.cls == THEY and sym.words[0] in {"those", "these"} and nxt in {GROUP, OTHER}:
                out[k] = sym._replace(cls=FILLER)  # "those immigrants": a determiner
            elif (
                sym.cls == BOUNDARY
                and sym.words == ("that",)
                and nxt == GROUP
                and k > 0
                and out[k - 1].cls in {EMOTION, VIOLENCE, REGARD, PROFANE, FILLER, INTENT, NORM}
            ):
                out[k] = sym._replace(cls=FILLER)  # "I hate that woman" (not "it is obvious that women ...")
            elif sym.cls == PROFANE and nxt in {ATTRIBUTE, STRONG, EMOTION, VIOLENCE, REGARD}:
                out[k] = sym._replace(cls=FILLER)  # "a fucking idiot", "I fucking hate": an intensifier
            elif sym.cls == REGARD and sym.words == ("like",) and (k == 0 or out[k - 1].cls not in {NEG, FILLER}):
                out[k] = sym._replace(cls=FILLER)  # "people like you", not "I don't like ..."
        return out

    def _symbol_entry(self, word: Word) -> _SymbolEntry:
        """What one word reads as on its own (memoised per word): its listed reading (or the
        boundary), whether that depends on the neighbours, its readings as an unlisted word
        and as a person, whether it looks like a name or a described person's noun, and
        whether a listed phrase of several words starts with it."""
        text, raw, quoted = word
        fixed: Symbol | None = None
        multi = False
        if text == BOUNDARY:
            fixed = Symbol(BOUNDARY, (raw,), quoted)
        else:
            sizes = self.lengths_from.get(text)
            if sizes is not None:
                multi = sizes[0] > 1
                single = self.table.get((text,))
                if single is not None:
                    fixed = Symbol(single.cls, (text,), quoted, single.category, single.dehumanising)
        capital = raw[:1].isupper() and not raw.isupper()
        entry = (
            fixed,
            fixed is not None and _contextual(fixed),
            Symbol(OTHER, (text,), quoted, capitalised=capital),
            Symbol(PERSON, (text,), quoted, "individual", capitalised=capital),
            capital and raw.isalpha(),
            text in _PEOPLE_NOUNS,
            multi,
        )
        self._symbol_memo[word] = entry
        return entry

    def _phrase_at(self, words: Sequence[Word], texts: list[str], i: int) -> Symbol | None:
        """The longest listed phrase of two or more words at ``i``, if any."""
        n = len(texts)
        for size in self.lengths_from[texts[i]]:
            if size == 1:
                break
            if size > n - i:
                continue
            key = tuple(texts[i : i + size])
            match = self.table.get(key)
            if match is not None:
                quoted = any(w.quoted for w in words[i : i + size])
                return Symbol(match.cls, key, quoted, match.category, match.dehumanising)
        return None

    # --- frames -------------------------------------------------------------------------------------

    def analyse(self, text: str) -> list[tuple[list[Word], list[Symbol]]]:
        """Sentences of ``text`` as words and as resolved symbols ("them" → the group named
        before).  The last text's analysis is kept: the frames and the model read the same one."""
        if self._last is not None and self._last[0] == text:
            return self._last[1]
        out: list[tuple[list[Word], list[Symbol]]] = []
        recent: list[str] = []  # group categories named in the last sentences
        for words in self.sentences(text):
            syms = self.symbols(words)
            classes = "".join(map(_FIRST, syms))
            named = [s.category for s in syms if s.cls == GROUP] if GROUP in classes else []
            if THEY in classes or named:
                context = named[-1] if named else (recent[-1] if recent else "")
                if context:
                    for k, s in enumerate(syms):
                        if s.cls == THEY:
                            syms[k] = s._replace(cls=GROUP, category=context)
                        elif s.cls == GROUP and s.category == "unspecified":
                            syms[k] = s._replace(category=context)
            recent = (recent + named)[-3:] if named else recent[-2:]
            out.append((words, syms))
        self._last = (text, out)
        self._negated_sentences = set()
        return out

    def scan(self, text: str) -> list[Hit]:
        """Every targeted-abuse frame in ``text`` (one location), context applied."""
        hits: list[Hit] = []
        analysed = self.analyse(text)
        # The personal phrases, first over all sentences at once (one per line: no phrase
        # spans a line), then sentence by sentence only if one of them occurs at all.
        flats = [" ".join(filter(BOUNDARY.__ne__, map(_FIRST, words))) for words, _ in analysed]
        joined = "\n".join(flats)
        personal = (
            [(kind, pattern) for kind, pattern, anchored in self._personal if _found(anchored, joined)]
            if self._any_personal is not None and _found(self._any_personal, joined)
            else []
        )
        for flat, (_, syms) in zip(flats, analysed, strict=True):
            for kind, pattern in personal:
                for m in pattern.finditer(flat):
                    if not self._reported_text(flat, m.start()):
                        hits.append(Hit("personal " + kind, kind, "individual", tuple(m.group().split())))
            classes = "".join(map(_FIRST, syms))
            if (GROUP not in classes and YOU not in classes and THIRD not in classes) or _PREDICATES.isdisjoint(
                classes
            ):
                continue  # no target, or nothing said of one
            for frame, kind, pattern, targets, predicates in _COMPILED:
                if targets.isdisjoint(classes) or predicates.isdisjoint(classes):
                    continue  # a frame's target and predicate are one class each
                for m in pattern.finditer(classes):
                    target = syms[m.start("t")]
                    predicate = syms[m.start("p")]
                    if target.cls in {YOU, THIRD} and kind not in {"threat", "abuse"}:
                        continue
                    if kind == "threat" and predicate.cls == EXCLUSION and target.cls in {YOU, THIRD}:
                        continue
                    if (
                        predicate.cls == VIOLENCE
                        and m.start("t") < m.start("p")
                        and BE not in classes[m.start("t") : m.start("p")]
                        and predicate.words[0] not in _INTRANSITIVE
                        and predicate.words[0] not in {"be", "a"}
                        and kind == "threat"
                        and SELF not in classes[m.start("t") : m.start("p")]
                    ):
                        continue  # "you should kill this process": the target is the agent
                    if self._negated(syms, classes, m.start(), m.start("p"), frame):
                        self._negated_sentences.add(id(syms))
                        continue
                    if self._counter_speech(syms, m.start(), m.end()):
                        continue
                    name = frame
                    if frame == "derogation" and predicate.dehumanising:
                        name = _DEHUMANISING
                    if kind == "threat" and predicate.cls == EXCLUSION:
                        name, kind_ = "exclusion", "hate"
                    else:
                        kind_ = kind
                    if target.cls == PERSON and _errand_follows(syms, m.end()):
                        continue  # "I'll shoot Priya an email"
                    if target.cls == PERSON:
                        name = "threat against a named person"  # reviewed, not refused: often a figure of speech
                    category = target.category if target.cls == GROUP else "individual"
                    hits.append(Hit(name, kind_, category, (*predicate.words, *target.words)))
        return _dedupe(hits)

    @staticmethod
    def _negated(syms: Sequence[Symbol], classes: str, start: int, predicate: int, frame: str) -> bool:
        """A negation before the predicate in its clause (frames that are negations themselves
        excepted), or a negated belief verb in the clause before ("I don't think that ...")."""
        if "?" in (s.words[0] for s in syms if s.cls == BOUNDARY):
            # "Aren't they all thieves?", "Don't you think ... ?": a rhetorical question asserts.
            classes = _RHETORICAL.sub(lambda m: m.group(1) + FILLER, classes)
        if frame == "negated positive":
            return classes.count(NEG, start, predicate + 1) >= 2
        clause_start = classes.rfind(BOUNDARY, 0, start) + 1
        if NEG in classes[clause_start:predicate]:
            return True
        before = classes[:clause_start]
        previous_clause = before[before.rfind(BOUNDARY, 0, max(0, len(before) - 1)) + 1 :]
        return bool(re.search(r"N d*(?:[FS]d*)?B".replace(" ", ""), previous_clause + classes[clause_start:start]))

    def negated_frame(self, syms: Sequence[Symbol]) -> bool:
        """Did :meth:`scan` find a frame in this sentence (of the last text) and a negation that
        turns it round ("I don't hate ...", "... are not vermin")?  The rules read it; the model
        is not asked to second-guess them."""
        return id(syms) in self._negated_sentences

    def is_counter_speech(self, words: Sequence[Word], syms: Sequence[Symbol]) -> bool:
        """Does this sentence quote, report (by someone else) or condemn?"""
        return any(map(_QUOTED, words)) or self._counter_speech(syms, 0, 0)

    def _counter_speech(self, syms: Sequence[Symbol], start: int, end: int) -> bool:
        """Quoted, reported by someone else, or condemned in the same sentence."""
        if start < end and any(map(_QUOTED, syms[start:end])):
            return True
        flat: list[str] = list(chain.from_iterable(map(_WORDS, syms)))
        if not self._may_cue(flat):
            return False  # no report or condemnation anywhere (most sentences)
        words = list(map(_WORDS, syms))
        # index of the first word of the span in ``flat``
        first = sum(len(g) for g in words[:start])
        last = first + sum(len(g) for g in words[start:end])
        report_at, condemned = self._cues(flat, first, last)
        return condemned or report_at is not None

    def _cues(self, flat: Sequence[str], first: int, last: int) -> tuple[int | None, bool]:
        """Outside ``flat[first:last]``: the first report by someone other than the sender, and
        whether anything condemns (not "I'm not racist, but").  Words before ``first`` come before
        the statement, words from ``last`` after it."""
        report_at: int | None = None
        condemned = False
        if not self._may_cue(flat):
            return report_at, condemned
        for k, word in enumerate(flat):
            if word not in self.cue_starts or first <= k < last:
                continue
            for size in (3, 2, 1):
                gram = tuple(flat[k : k + size])
                if not condemned and gram in self.condemn and not _negated_word(flat, k):
                    condemned = True
                if report_at is None and gram in self.report and not _own_speech(flat, k, first):
                    report_at = k
            if condemned and report_at is not None:
                break
        return report_at, condemned

    def _may_cue(self, flat: Sequence[str]) -> bool:
        """Could a report or condemnation be in ``flat``: one of the one-word cues, or the
        first two words of a longer one?  (Most sentences have neither: "the", "a", "not" only
        start longer cues.)"""
        return not self._cue_words.isdisjoint(flat) or not self._cue_pairs.isdisjoint(pairwise(flat))

    def unmentioned(self, text: str) -> str:
        """``text`` with words that are *mentioned*, not used, blanked out (for the word lists).

        Mention: a quoted word in a sentence that reports or condemns ("he called her a '…'",
        "words like '…' are unacceptable"), and whatever follows a report by someone else
        ("a pupil shouted … at him").  The sender's own quoted speech still counts.
        """
        if not _MENTION_HINT.search(text):
            return text
        chars = list(text)
        blanked = False
        for start, end in _sentence_spans(text):
            sentence = text[start:end]
            if not _MENTION_HINT.search(sentence):
                continue
            written = [fold(w.replace("'", "").replace("’", "")) for w in _WORD.findall(sentence.lower())]
            words: list[str] = []
            origin: list[int] = []  # the written word each of ``words`` comes from
            for index, word in enumerate(written):
                pieces = _CONTRACTED.get(word, (word,))
                words.extend(pieces)
                origin.extend([index] * len(pieces))
            report_at, condemned = self._cues(words, len(words), len(words))
            if report_at is None and not condemned:
                continue
            blanked = True
            for m in _QUOTED_SPAN.finditer(sentence):
                for k in range(start + m.start(), start + m.end()):
                    chars[k] = " "
            if report_at is not None:
                cue = _nth_word_end(sentence, origin[report_at])
                for k in range(start + cue, end):
                    chars[k] = " "
        # ``text`` itself when nothing is mentioned: the caller need not read it again.
        return "".join(chars) if blanked else text

    def _reported_text(self, flat: str, position: int) -> bool:
        """A phrase at ``position`` reported by someone else before it, or put as a condition."""
        words = flat.split()
        index = flat[:position].count(" ")
        if self._cues(words[:index], index, index)[0] is not None:
            return True
        return any(w in {"if", "when"} for w in words[max(0, index - 3) : index])


#: Violence words that need no object: "<group> should die" is a threat, "<group> should kill" is not.
#: A negation right after an opening auxiliary ("aren't", "don't you", "isn't it").
_RHETORICAL = re.compile(r"((?:^|\|)[dAFS])N")
_INTRANSITIVE = frozenset({"die", "drown", "burn", "hang", "rot", "suffer", "perish"})
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_MENTION_HINT = re.compile(r"[\"“”‘’']|(?i:call|said|say|shout|told|word|like|wrote|post|report|yell|scream|chant)")
_QUOTED_SPAN = re.compile(
    r"\"[^\"\n]{1,200}\"|“[^”\n]{1,200}”|‘[^’\n]{1,200}’|(?<![\w])'[^'\n]{1,200}'(?![\w])|«[^»\n]{1,200}»"
)
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    start = 0
    for m in _SENTENCE_BREAK.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if b > a]


def _nth_word_end(sentence: str, n: int) -> int:
    """Offset in ``sentence`` just after its n-th word (0-based), as :data:`_WORD` counts words."""
    for i, m in enumerate(_WORD.finditer(sentence)):
        if i == n:
            return min(m.end(), len(sentence))
    return len(sentence)


_OWN_SPEECH = {"said", "say", "says", "wrote", "posted", "called", "shouted", "told", "texted", "messaged", "call"}


def _own_speech(flat: Sequence[str], k: int, first: int) -> bool:
    """``I said <...>``: the sender's own words, still theirs.  Reports *before* the frame by
    "I"/"we" with a speech verb are own speech; "I heard", "I was told" are not."""
    if k > first:
        # a report verb after the frame: "..., he said" — counter-speech unless the sender
        return k >= 1 and flat[k - 1] in {"i", "we"}
    subject = flat[k - 1] if k >= 1 else ""
    if subject in {"not", "never"}:
        subject = flat[k - 2] if k >= 2 else ""
    if subject in {"i", "we", "and", "also", "just", "always", "often", "really", "have", "had"}:
        return flat[k] in _OWN_SPEECH
    return False


def _negated_word(flat: Sequence[str], k: int) -> bool:
    """ "not racist", "I am not being racist but": the apologist's disclaimer, not condemnation."""
    window = flat[max(0, k - 3) : k]
    return any(w in {"not", "never", "no"} for w in window)


_ERRANDS = frozenset(
    {"email", "e-mail", "message", "line", "text", "note", "reminder", "invite", "link", "call", "look"}
)


def _errand_follows(syms: Sequence[Symbol], end: int) -> bool:
    return any(w in _ERRANDS for s in syms[end : end + 3] for w in s.words)


def _number_forms(noun: str) -> list[str]:
    """A group noun in singular and plural ("muslims" ↔ "muslim", "gypsies" ↔ "gypsy")."""
    if " " in noun or len(noun) < 4:
        return [noun]
    if noun.endswith("ies"):
        return [noun, noun[:-3] + "y"]
    if noun.endswith("y"):
        return [noun, noun[:-1] + "ies"]
    if noun.endswith("s") and not noun.endswith("ss"):
        return [noun, noun[:-1]]
    return [noun, noun + "s"]


def _found(pattern: AnchoredPattern, text: str) -> bool:
    """Does ``pattern`` match anywhere in ``text``?"""
    return next(iter(pattern.finditer(text)), None) is not None


def _dedupe(hits: Iterable[Hit]) -> list[Hit]:
    seen: dict[tuple[str, str, str], Hit] = {}
    for hit in hits:
        seen.setdefault((hit.frame, hit.kind, hit.target), hit)
    return list(seen.values())


def _written_out(words: Iterable[str]) -> list[str]:
    """Contractions as plain words ("cant" → "can not"), by the same table the tokeniser uses."""
    return [piece for word in words for piece in _CONTRACTED.get(word, (word,))]


def _phrase_pattern(phrases: list[str]) -> re.Pattern[str] | None:
    phrases = sorted({p for p in phrases if p}, key=len, reverse=True)
    if not phrases:
        return None
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(re.escape(p) for p in phrases) + r")(?![a-z0-9])")


def _read_toml(path: Path) -> dict[str, object]:
    return schema.load_toml(path)


def _strings(table: dict[str, object], key: str, path: Path) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(str(path), key, "must be a list of strings")
    return [v.lower() for v in value]
