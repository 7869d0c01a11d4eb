"""Speed-ups that must not change an answer: each fast path against the slow path it replaced.

The slow paths are kept here, as they were, and both run over every fixture message and text
block in ``tests/fixtures`` (chain letters, school mail, offensive functional sets, phishing,
the corpus): the findings must be identical, not merely as good.
"""

from __future__ import annotations

import copy
import random
import re
from email.message import EmailMessage
from functools import cache
from pathlib import Path

import pytest
import regex

from aupmilter.checks import chain_features
from aupmilter.checks.chain_letter import ChainLetterCheck, Hit, _segments
from aupmilter.checks.offensive.lexicon import _SPACED_FAST, _SPACED_FAST_MIDDLE, _identifiers
from aupmilter.checks.phishing import features as phishing_features
from aupmilter.checks.phishing.check import PhishingCheck
from aupmilter.checks.phishing.check import _segments as _phishing_segments
from aupmilter.config import load_config
from aupmilter.evidence import excerpt
from aupmilter.message import MessageView
from aupmilter.normalise import _SPACED, _SPACED_MIDDLE, prepare, spaced_somewhere, tokens
from aupmilter.ruleset import build_ruleset
from aupmilter.triggers import (
    FOLDS_TO_ASCII,
    OTHER_SPACES,
    SAFE_NON_ASCII,
    AnchoredPattern,
    AnchoredSearch,
    TriggeredPatterns,
    _windows,
    anchor_starts,
    is_flat,
    lower_aligned,
    required_literals,
    start_literals,
    starts_at_boundary,
    word_starts,
)
from tests.test_phishing import HARVEST_EXAMPLES

FIXTURES = Path(__file__).parent / "fixtures"
RULESET = build_ruleset(load_config(None))
CHAIN = next(c for c in RULESET.checks if c.name == "chain_letter")
assert isinstance(CHAIN, ChainLetterCheck)


def _message(text: str, subject: str = "hello") -> MessageView:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@home.test", "t@oakfield.example", subject
    msg.set_content(text)
    return MessageView(msg.as_bytes())


@cache
def fixture_messages() -> list[tuple[str, MessageView]]:
    """Every .eml under tests/fixtures, and every block of every .txt fixture as a message body."""
    out = [(str(p.relative_to(FIXTURES)), MessageView(p.read_bytes())) for p in sorted(FIXTURES.rglob("*.eml"))]
    for path in sorted(FIXTURES.rglob("*.txt")):
        text = path.read_text(encoding="utf-8", errors="replace")
        blocks = [b for b in re.split(r"\n(?:===[^\n]*|\s*)\n", text) if b.strip()]
        out += [(f"{path.relative_to(FIXTURES)}#{i}", _message(b)) for i, b in enumerate(blocks)]
    return out


def reference_cue_hits(check: ChainLetterCheck, message: MessageView) -> list[Hit]:
    """``ChainLetterCheck.cue_hits`` before it anchored patterns: a full search per segment."""
    segments = _segments(message)
    low = " ".join(s.text for s in segments).lower()
    present = {w for w in check._need_words if w in low}
    hits: list[Hit] = []
    for cue in check.cues:
        if cue.needs and present.isdisjoint(cue.needs):
            continue
        for seg in segments:
            m = cue.pattern.search(seg.text)
            if m:
                hits.append(Hit(cue, excerpt(m.group()), seg.location))
                break
    return hits


def test_the_fixtures_are_there() -> None:
    assert len(fixture_messages()) > 1000


def test_chain_cue_hits_equal_the_full_search_on_every_fixture() -> None:
    assert isinstance(CHAIN, ChainLetterCheck)
    differ = [name for name, view in fixture_messages() if CHAIN.cue_hits(view) != reference_cue_hits(CHAIN, view)]
    assert not differ, differ[:10]


def test_most_chain_cues_are_anchored() -> None:
    """The speed-up is real: the common cues ("send ... 10 people", "within 24 hours") are anchored."""
    assert isinstance(CHAIN, ChainLetterCheck)
    anchored = {c.id for c in CHAIN.cues if c.starts is not None}
    assert {"forward_count", "deadline", "mass_forward", "send_money_each", "forward_to_everyone"} <= anchored
    assert len(anchored) * 3 >= len(CHAIN.cues) * 2


def test_every_match_on_the_fixtures_starts_with_a_proven_literal() -> None:
    """Soundness of ``start_literals`` on real text: every match of every anchored cue, anywhere."""
    assert isinstance(CHAIN, ChainLetterCheck)
    for _, view in fixture_messages():
        for seg in _segments(view):
            low = seg.text.lower()
            if not lower_aligned(seg.text, low):
                continue
            for cue in CHAIN.cues:
                if cue.starts is None:
                    continue
                for m in cue.pattern.finditer(seg.text, overlapped=True):
                    assert any(low.startswith(s, m.start()) for s in cue.starts), (cue.id, m.group())


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"\b(?:send|forward)\s+x", {"send", "forward"}),
        (r"\be-?mail\b", {"email", "e-mail"}),
        (r"\bwithin\s+\d|\bbefore\s+", {"within", "before"}),
        (r"(?<=a)bc|(?=d)de", {"bc", "de"}),
        (r"\b(?:stops?|ends?)\s+with", {"stop", "stops", "end", "ends"}),
        (r"SEND", {"send"}),
        (r"\b(?:it\s+)?only\s", {"it", "only"}),
        (r"(?:it'?s\s+)?(?:not|legal)", {"it's", "its", "not", "legal"}),
    ],
)
def test_start_literals_reads_literals_and_alternations(pattern: str, expected: set[str]) -> None:
    starts = start_literals(pattern)
    assert starts == frozenset(expected)


@pytest.mark.parametrize(
    "pattern",
    [
        r"\w+send",
        r"(?:it\s+)?\w",
        r"a|send",
        r"x*send",
        r"[ab]cd",
        r"(send)?",
        r"\p{L}send",
        r"(a)\1",
        r"(?:send){e<=1}",
        r"(?:x|(?:send){e<=1})",
    ],
)
def test_start_literals_refuses_what_it_cannot_prove(pattern: str) -> None:
    assert start_literals(pattern) is None


def test_full_case_folding_is_not_anchored() -> None:
    """Under FULLCASE (the default of V1) "strasse" matches "STRAẞE", whose lower case has no "strasse"."""
    assert regex.compile("strasse", regex.IGNORECASE | regex.FULLCASE).search("STRAẞE")
    assert anchor_starts(regex.compile("strasse", regex.IGNORECASE | regex.FULLCASE)) is None
    assert anchor_starts(regex.compile("strasse", regex.IGNORECASE | regex.VERSION1)) is None
    assert anchor_starts(regex.compile("strasse", regex.IGNORECASE)) == frozenset({"strasse"})


def test_folds_to_ascii_is_every_character_regex_equates_with_ascii() -> None:
    """The characters that make lower-case positions unreliable, recomputed from the installed regex."""
    ascii_ci = regex.compile(r"[\x00-\x7f]", regex.IGNORECASE)
    found = {chr(c) for c in range(0x80, 0x110000) if ascii_ci.fullmatch(chr(c))}
    assert found == FOLDS_TO_ASCII


def test_texts_regex_and_lower_disagree_on_are_searched_the_plain_way() -> None:
    """ "ſend this to 10 people" matches the case-insensitive pattern; its lower case has no "send"."""
    assert isinstance(CHAIN, ChainLetterCheck)
    for text in (
        "ſend this to 10 people within 24 hours and do not break the chain",
        "Send this to 10 people \u212aeep it moving within 24 hours, İstanbul",
        "SEND THIS TO 10 PEOPLE WITHIN 24 HOURS. DO NOT BREAK THE CHAIN.",
    ):
        view = _message(text, subject="Fwd: luck")
        assert CHAIN.cue_hits(view) == reference_cue_hits(CHAIN, view)
        assert CHAIN.cue_hits(view)


def test_chain_cue_hits_equal_the_full_search_on_shuffled_cue_text() -> None:
    """Cue examples cut up, re-cased and spliced into school mail: first match and segment agree."""
    assert isinstance(CHAIN, ChainLetterCheck)
    from tests.test_chain_letter import CUE_EXAMPLES

    rng = random.Random(24)
    phrases = [p for pair in CUE_EXAMPLES.values() for p in pair]
    school = [b for name, b in fixture_messages() if name.startswith("chain/school_mail")][:40]
    for _ in range(300):
        words = " ".join(rng.sample(phrases, 6)).split()
        cut = rng.randrange(len(words))
        text = " ".join(w.upper() if rng.random() < 0.2 else w for w in [*words[cut:], "\n> ", *words[:cut]])
        body = school[rng.randrange(len(school))].body_text[:400] if school else ""
        view = _message(body + "\n\n" + text, subject=" ".join(rng.sample(phrases, 2)))
        assert CHAIN.cue_hits(view) == reference_cue_hits(CHAIN, view)


SPACED_PAIRS = [(_SPACED, _SPACED_MIDDLE), (_SPACED_FAST, _SPACED_FAST_MIDDLE)]
#: Letters, digits, separators and symbols each pattern knows, and a few it does not.
ALPHABETS = {_SPACED: "ab1 .-_~·•/\\@$!*éΩ,x  ", _SPACED_FAST: "ab1 .-_~/ b1 A,é@"}


@pytest.mark.parametrize(("spaced", "middle"), SPACED_PAIRS)
def test_spaced_somewhere_equals_a_full_search_on_every_fixture(
    spaced: re.Pattern[str] | regex.Pattern[str], middle: regex.Pattern[str]
) -> None:
    for name, view in fixture_messages():
        for text in (view.subject, view.body_text, view.body_text.lower()):
            assert spaced_somewhere(spaced, middle, text) == (spaced.search(text) is not None), name


@pytest.mark.parametrize(("spaced", "middle"), SPACED_PAIRS)
def test_spaced_somewhere_equals_a_full_search_on_random_text(
    spaced: re.Pattern[str] | regex.Pattern[str], middle: regex.Pattern[str]
) -> None:
    """Short strings of letters, digits, separators and symbols: every way a match can begin."""
    rng = random.Random(2024)
    alphabet = ALPHABETS[spaced]
    seen = {True: 0, False: 0}
    for _ in range(30_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 14)))
        expected = spaced.search(text) is not None
        assert spaced_somewhere(spaced, middle, text) == expected, repr(text)
        seen[expected] += 1
    assert min(seen.values()) > 200  # both answers were exercised


OFFENSIVE = next(c for c in RULESET.checks if c.name == "offensive")


def _lexicon_streams() -> list[str]:
    """The token streams ``Lexicon.scan`` runs its phrase patterns over, for every fixture."""
    streams = []
    for _, view in fixture_messages():
        for text in (view.subject, view.body_text):
            prepared = prepare(_identifiers(text).sub(" ", text))
            streams.append(" ".join(t.text for t in tokens(prepared)))
    return streams


def test_anchored_phrase_patterns_find_what_finditer_finds() -> None:
    """The allow list and the offensive phrases: every fixture, and the phrases run together."""
    lexicon = OFFENSIVE.lexicon  # type: ignore[attr-defined]
    rng = random.Random(7)
    for pattern in (lexicon.allow, lexicon.phrase_re):
        fast = AnchoredPattern(pattern)
        assert fast.starts is not None  # anchored, or this test proves nothing
        items = [m.group() for s in [pattern.pattern] for m in regex.finditer(r"(?<=[(|])[^|()]+(?=[|)])", s)]
        items = [regex.sub(r"\\(.)", r"\1", i) for i in items]
        synthetic = []
        for _ in range(300):
            picked = rng.sample(items, 4)
            glue = rng.choice([" ", "", "x", " the ", "1"])
            synthetic.append(glue.join(picked) + rng.choice(["", "s", " ok"]))
        for stream in _lexicon_streams() + synthetic:
            assert [m.span() for m in fast.finditer(stream)] == [m.span() for m in pattern.finditer(stream)], stream


def reference_matches(fast: TriggeredPatterns, text: str, limit: int = 3) -> dict[str, list[str]]:
    """``TriggeredPatterns.matches`` before one automaton pass served triggers and start literals:
    windows around every occurrence of a trigger word, and an untriggered pattern searched whole
    (its ``AnchoredPattern`` returned what ``finditer`` returns)."""
    low = text.lower()
    if len(low) != len(text):
        full = {
            n: [m.group() for _, m in zip(range(limit), p.finditer(text), strict=False)]
            for n, p in fast.patterns.items()
        }
        return {n: found for n, found in full.items() if found}
    out: dict[str, list[str]] = {}
    for name, pattern in fast.patterns.items():
        if name not in fast.triggers:
            found = [m.group() for _, m in zip(range(limit), pattern.finditer(text), strict=False)]
        else:
            spots = []
            for word in fast.triggers[name]:
                word = word.lower()
                at = low.find(word)
                while at >= 0:
                    spots.append(at + len(word) - 1)
                    at = low.find(word, at + 1)
            found = []
            for start, stop in _windows(spots, text):
                for m in pattern.finditer(text[start:stop]):
                    found.append(m.group())
                    if len(found) >= limit:
                        break
                if len(found) >= limit:
                    break
        if found:
            out[name] = found
    return out


CHAIN_SETS = {"_GATE_SET": chain_features._GATE_SET, "_REST_SET": chain_features._REST_SET}


@pytest.mark.parametrize("name", sorted(CHAIN_SETS))
def test_chain_features_patterns_match_as_before_on_every_fixture(name: str) -> None:
    fast = CHAIN_SETS[name]
    assert any(fast.starts.values())  # some untriggered pattern is anchored, or this proves little
    for label, view in fixture_messages():
        text = chain_features.message_text(view)
        flat = " ".join(chain_features._QUOTE_MARKS.sub("", text).split())
        for sample in (flat, text):
            assert fast.matches(sample) == reference_matches(fast, sample), label


@pytest.mark.parametrize("name", sorted(CHAIN_SETS))
def test_chain_features_patterns_match_as_before_on_spliced_mutated_text(name: str) -> None:
    """The features' own alternatives and trigger words, re-cased, accented, with ſ/K/İ, run together."""
    fast = CHAIN_SETS[name]
    examples = tuple(w for words in chain_features.TRIGGERS.values() for w in words)
    texts = _spliced([list(fast.patterns.values())], 5, 2000, examples)
    hits = 0
    for text in texts:
        expected = reference_matches(fast, text)
        assert fast.matches(text) == expected, text
        hits += len(expected)
    assert hits > 200


# -- literal reading of character classes and accented letters (phishing lures, chain features) --


def test_safe_non_ascii_is_every_latin_letter_that_folds_only_onto_its_own_lower_case() -> None:
    """Recomputed from the installed regex over every code point, like ``FOLDS_TO_ASCII``."""
    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    safe = set()
    for char in (chr(c) for c in range(0xC0, 0x250)):
        if not char.isalpha():
            continue
        folds = set(regex.findall(regex.escape(char), every, flags=regex.IGNORECASE))
        if len(char.lower()) == 1 and all(t.lower() == char.lower() for t in folds):
            safe.add(char)
    assert safe == SAFE_NON_ASCII


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"[ab]cd", {"acd", "bcd"}),
        (r"\bn[aã]o\s+x", {"nao x", "não x"}),
        (r"\b(?:[eé]viter|avoid)\b", {"eviter", "éviter", "avoid"}),
        (r"R[ÜU]CK", {"rück", "ruck"}),
        (r"\bcart[aã]o\s", {"cartao ", "cartão "}),
        (r"ab[xy]?cd", {"abxcd", "abycd", "abcd"}),
        (r"[a-c]x|zz", None),
        (r"ab[\sx]y", {"ab y", "abxy"}),
        (r"ab[\dx]y", {"ab"}),
        (r"\ba\s+cada\b", {"a cada"}),
        (r"\ba\tcada", {"a cada"}),
        (r"\b(?:send)+\s", {"send"}),
        (r"ab[^x]y", {"ab"}),
        (r"stra[ßx]e", {"stra"}),
        (r"ſend|xx", None),
        (r"[{]ab|xx", None),
        (r"[[:alpha:]]ab|xx", None),
        (r"xy[[:alpha:]]", {"xy"}),
    ],
)
def test_start_literals_with_classes(pattern: str, expected: set[str] | None) -> None:
    starts = start_literals(pattern, classes=True)
    assert starts == (None if expected is None else frozenset(expected))


def _alternatives(pattern: regex.Pattern[str]) -> list[str]:
    """Plain-looking pieces of a pattern's alternations (a class becomes one of its members)."""
    items = [m.group() for m in regex.finditer(r"(?<=[(|])[^|()]+(?=[|)])", pattern.pattern)]
    items = [regex.sub(r"\[([^\]\\])[^\]]*\]", r"\1", i) for i in items]
    items = [regex.sub(r"\\s[+*]?|\s", " ", regex.sub(r"\\b|\?|[+*]|\{[^}]*\}|\\(?=.)", "", i)) for i in items]
    return [i.strip() for i in items if i.strip()]


_ACCENTS = str.maketrans(
    {"a": "ã", "e": "é", "u": "ü", "o": "ó", "i": "í", "c": "ç", "n": "ñ", "s": "ſ", "k": "\u212a"}
)


def _mutate(rng: random.Random, text: str) -> str:
    """Random capitals, accents, fold-only letters (ſ, Kelvin, İ) and run-together words."""
    out = []
    for char in text:
        r = rng.random()
        if r < 0.15:
            char = char.upper()
        elif r < 0.2:
            char = char.translate(_ACCENTS)
        elif r < 0.21:
            char = "İ" if char == "i" else char
        out.append(char)
    return "".join(out).replace(" ", rng.choice([" ", " ", "  ", "-", ""]), rng.randrange(2))


def _spliced(
    pattern_sets: list[list[regex.Pattern[str]]], seed: int, count: int, examples: tuple[str, ...] = ()
) -> list[str]:
    rng = random.Random(seed)
    pieces = [a for patterns in pattern_sets for p in patterns for a in _alternatives(p)]
    school = [v.body_text[:300] for name, v in fixture_messages() if name.startswith("chain/school_mail")][:40]
    texts = []
    for _ in range(count):
        words = rng.sample(pieces, 5 - min(2, len(examples))) + (rng.sample(examples, 2) if examples else [])
        rng.shuffle(words)
        text = " ".join(_mutate(rng, w) if rng.random() < 0.5 else w for w in words)
        texts.append((rng.choice(school) if school and rng.random() < 0.5 else "") + " " + text)
    return texts


def _plain(patterns: list[regex.Pattern[str]], texts: list[str]) -> list[tuple[int, tuple[int, int]] | None]:
    out: list[tuple[int, tuple[int, int]] | None] = []
    for p in patterns:
        first = next(((k, m.span()) for k, t in enumerate(texts) if (m := p.search(t))), None)
        out.append(first)
    return out


def _fast(search: AnchoredSearch, texts: list[str]) -> list[tuple[int, tuple[int, int]] | None]:
    return [None if f is None else (f[0], f[1].span()) for f in search.search(texts)]


PHISHING = next(c for c in RULESET.checks if c.name == "phishing")
assert isinstance(PHISHING, PhishingCheck)
PHISHING_CUES = [c.pattern for c in PHISHING.rules.cues]
SEARCH_SETS = {
    "lures": (list(phishing_features.LURES.values()), phishing_features._LURE_SEARCH),
    "phishing_cues": (PHISHING_CUES, PHISHING._cue_search),
}
#: Whole phrases the patterns match, spliced in with their pieces (a cue is a sequence of alternations).
SEARCH_EXAMPLES: dict[str, tuple[str, ...]] = {"lures": (), "phishing_cues": tuple(HARVEST_EXAMPLES.values())}


def test_most_lures_and_phishing_cues_are_anchored() -> None:
    for name, (patterns, search) in SEARCH_SETS.items():
        assert sum(s is not None for s in search.starts) * 4 >= len(patterns) * 3, name


@pytest.mark.parametrize("name", sorted(SEARCH_SETS))
def test_anchored_search_equals_the_full_search_on_every_fixture(name: str) -> None:
    patterns, search = SEARCH_SETS[name]
    for label, view in fixture_messages():
        segments = [view.subject, *(p.text for p in view.text_parts)]
        for texts in (segments, [" ".join(" ".join(segments).split())[:4000]], [s[:4000] for s in segments]):
            assert _fast(search, texts) == _plain(patterns, texts), label


@pytest.mark.parametrize("name", sorted(SEARCH_SETS))
def test_anchored_search_equals_the_full_search_on_spliced_mutated_text(name: str) -> None:
    """The patterns' own alternatives, re-cased, accented, with ſ/K/İ, run together, in school mail."""
    patterns, search = SEARCH_SETS[name]
    rng = random.Random(len(name))
    texts = _spliced([patterns], 21, 1500, SEARCH_EXAMPLES[name])
    hits = 0
    for i in range(0, len(texts), 3):
        group = texts[i : i + rng.randrange(1, 4)]
        expected = _plain(patterns, group)
        assert _fast(search, group) == expected, group
        hits += sum(e is not None for e in expected)
    assert hits > 300  # the texts do match: this compares answers, not two empty lists


def reference_phishing_cue_hits(check: PhishingCheck, message: MessageView, limit: int | None) -> list[object]:
    """``PhishingCheck.cue_hits`` before it searched every cue in one anchored pass."""
    segments = [(w, t[:limit]) for w, t in _phishing_segments(message)] if limit else _phishing_segments(message)
    hits: list[object] = []
    for cue in check.rules.cues:
        for location, text in segments:
            m = cue.pattern.search(text)
            if m:
                hits.append((cue, excerpt(m.group()), location))
                break
    return hits


def test_phishing_cue_hits_equal_the_full_search_on_every_fixture() -> None:
    for label, view in fixture_messages():
        for limit in (None, phishing_features.LURE_CHARS):
            assert PHISHING.cue_hits(view, limit) == reference_phishing_cue_hits(PHISHING, view, limit), label


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"\b(?:send|forward)\s+x", True),
        (r"\bsend|\bpost", True),
        (r"(?:\bsend|\bpost)\b", True),
        (r"(?<![\w.])\bsend", True),
        (r"\bsend|post", False),
        (r"send\b", False),
        (r"(?:it\s+)?\bonly", False),
        (r"\b(?:£|\$)\s?\d", False),
    ],
)
def test_starts_at_boundary(pattern: str, expected: bool) -> None:
    compiled = regex.compile(pattern, regex.IGNORECASE)
    assert starts_at_boundary(compiled, anchor_starts(compiled, classes=True, min_start=1)) is expected


def test_what_lower_cases_to_a_start_letter_is_a_word_character() -> None:
    """``word_starts`` assumes the character where a literal starts is ``\\w`` (so ``\\b`` there
    needs a non-word character before it): every character whose lower case is an ASCII letter
    or digit or a letter of ``SAFE_NON_ASCII`` is one, for the installed regex."""
    targets = set("abcdefghijklmnopqrstuvwxyz0123456789") | {c.lower() for c in SAFE_NON_ASCII}
    word = regex.compile(r"\w")
    odd = [
        hex(c)
        for c in range(0x110000)
        if not 0xD800 <= c < 0xE000 and chr(c).lower() in targets and not word.match(chr(c))
    ]
    assert not odd


def test_word_starts_keeps_exactly_the_positions_after_a_non_word_character() -> None:
    text = "a send xsend _send -send é send\u00a0send 3send"
    spots = [m.start() for m in regex.finditer("send", text)]
    kept = word_starts(text, spots)
    assert kept == [p for p in spots if p == 0 or not regex.match(r"\w", text[p - 1])]
    assert [text[p - 1] for p in kept] == [" ", "-", " ", "\u00a0"]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (
            r"\b(?:\d+\s+)?(?:e-?mails?|messages?)\s+(?:on\s+hold|held)\b",
            [{f"{m}{s} {h}" for m in ("email", "e-mail", "message") for s in ("", "s") for h in ("held", "on hold")}],
        ),
        (r"\d+\s*(?:copies|kopien)", [{"copies", "kopien", " copies", " kopien"}]),
        (r"(?:\w+\s+)?send\s+\d", [{"send "}]),
        (r"\bon\s+hold|\bheld\s+back", [{"on hold", "held back"}]),
        (r"x(?:ab|\d)", None),
        (r"(?:abc)?\d+", None),
        (r"(?:abcd){e<=1}\d", None),
        (r"\d(?:foo|bar)+", [{"foo", "bar"}]),
        (r"\d(?:foo|bar)*", None),
        (r"(?=abc)\d+", None),
    ],
)
def test_required_literals(pattern: str, expected: list[set[str]] | None) -> None:
    found = required_literals(regex.compile(pattern, regex.IGNORECASE))
    assert (None if found is None else [set(f) for f in found]) == expected


def _all_patterns() -> dict[str, regex.Pattern[str]]:
    out = {f"lure:{n}": p for n, p in phishing_features.LURES.items()}
    out |= {f"phishing:{i}": p for i, p in enumerate(PHISHING_CUES)}
    out |= {f"chain:{c.id}": c.pattern for c in CHAIN.cues}
    out |= {f"feature:{n}": p for n, p in chain_features.PATTERNS.items()}
    return out


def test_every_match_contains_its_required_literals() -> None:
    """Soundness of ``required_literals`` on real and spliced text: every match, anywhere."""
    patterns = {n: (p, r) for n, p in _all_patterns().items() if (r := required_literals(p))}
    assert len(patterns) >= 15
    texts = [t for _, v in fixture_messages() for t in (v.subject, v.body_text)]
    texts += _spliced([[p for p, _ in patterns.values()]], 9, 1500, tuple(HARVEST_EXAMPLES.values()))
    checked = 0
    for text in texts:
        text = " ".join(text.split())  # the literals are proven for flattened text
        if not lower_aligned(text, text.lower()):
            continue
        for name, (pattern, required) in patterns.items():
            for m in pattern.finditer(text, overlapped=True):
                low = m.group().lower()
                assert all(any(s in low for s in strings) for strings in required), (name, m.group())
                checked += 1
    assert checked > 1000


def reference_brands_named(text: str, brands: dict[str, tuple[str, ...]]) -> list[str]:
    """``brands_named`` before it looked one-word brands up in a set."""
    low = " " + " ".join(re.findall(r"\w+", text.lower())) + " "
    return [b for b in brands if f" {b} " in low]


def test_brands_named_as_before() -> None:
    brands = dict(PHISHING.rules.brands) | {"": (), " paypal": (), "a\tb": (), "ab": ()}
    rng = random.Random(3)
    names = [b for b in brands if b]
    texts = [t[:4000] for _, v in fixture_messages() for t in (v.subject, v.body_text)]
    texts += [" ".join(rng.sample(names, 3)).upper() + rng.choice(["", ".", "x", " Ab!"]) for _ in range(500)]
    texts += ["", " ", "!!", "paypal", "PayPal."]
    for text in texts:
        assert phishing_features.brands_named(text, brands) == reference_brands_named(text, brands), text


def test_other_spaces_are_what_regex_reads_as_white_space_besides_the_space() -> None:
    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    assert sorted(regex.findall(r"\s", every)) == sorted(" " + OTHER_SPACES)
    assert all(c.lower() == c for c in OTHER_SPACES)


def test_is_flat() -> None:
    assert is_flat("send this to 10 people")
    assert is_flat(" ".join(["a", "b", "c"]))
    for odd in ("send  this", "send\tthis", "send\u00a0this", "a\u3000b", "a\nb"):
        assert not is_flat(odd)


def test_texts_with_other_white_space_are_searched_as_before() -> None:
    """Tabs and no-break spaces between the words: the anchored searches give the full search's answer."""
    texts = [
        "a\tcada pessoa que encaminhar",
        "send\u00a0this to 10 people within 24\thours",
        "your\tpassword\u2003expires today",
        "your  password  expires today, 2  new  fax messages",
    ]
    for name, (patterns, search) in SEARCH_SETS.items():
        assert _fast(search, texts) == _plain(patterns, texts), name
    for fast in CHAIN_SETS.values():
        for text in texts:
            assert fast.matches(text) == reference_matches(fast, text)


def test_word_count_of_flattened_text_is_spaces_plus_one() -> None:
    """``phishing.features`` counts the words of ``" ".join(text.split())`` by its spaces."""
    rng = random.Random(11)
    alphabet = "ab \t\n\u00a0\u3000\u2028x."
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))
        flat = " ".join(text.split())
        assert (flat.count(" ") + 1 if flat else 0) == len(flat.split())


def test_flags_the_literal_reading_cannot_follow_are_refused() -> None:
    """VERBOSE: the source's spaces are not literals; ASCII: ``\\b`` is not the Unicode boundary."""
    verbose = regex.compile(r"send \s+ this", regex.IGNORECASE | regex.VERBOSE)
    assert verbose.search("SEND this") and anchor_starts(verbose, classes=True) is None
    assert required_literals(verbose) is None
    ascii_only = regex.compile(r"\bsend", regex.IGNORECASE | regex.ASCII)
    assert not starts_at_boundary(ascii_only, anchor_starts(ascii_only, classes=True))


def test_links_read_with_the_root_type_handed_in_are_the_same() -> None:
    """``PhishingCheck.run`` parses the message's Content-Type once and hands it to the link reader."""
    from aupmilter.checks.phishing.links import extract_links

    for label, view in fixture_messages():
        if not label.endswith(".eml"):
            continue
        counts, again = phishing_features.HtmlCounts(), phishing_features.HtmlCounts()
        links = extract_links(view, 500, counts, view.msg.get_content_type())
        assert links == extract_links(view, 500, again) and counts == again, label


def reference_structural(check: ChainLetterCheck, message: MessageView) -> list[tuple[str, float, str]]:
    """``ChainLetterCheck.structural`` before it stopped reading once three mechanics were out of reach."""
    from aupmilter.checks.chain_letter import _ADDRESS, _FWD_PREFIX, _HEADER_BLOCK, MAX_TEXT

    found: list[tuple[str, float, str]] = []
    depth = len(_FWD_PREFIX.findall(message.subject))
    spec = check.structure.get("forward_depth")
    if spec and depth >= spec.minimum:
        found.append(("forward_depth", spec.weight, f"{depth} forward prefixes in subject"))
    body = message.body_text[:MAX_TEXT]
    spec = check.structure.get("header_blocks")
    blocks = len(_HEADER_BLOCK.findall(body))
    if spec and blocks >= spec.minimum:
        found.append(("header_blocks", spec.weight, f"{blocks} forwarded/quoted header blocks"))
    spec = check.structure.get("recipient_list")
    if spec:
        longest = max((len(_ADDRESS.findall(line)) for line in body.splitlines()), default=0)
        if longest >= spec.minimum:
            found.append(("recipient_list", spec.weight, f"quoted list of {longest} addresses"))
    return found


def test_chain_findings_as_before_with_structure_read_only_when_it_can_count() -> None:
    assert isinstance(CHAIN, ChainLetterCheck)
    reference = copy.copy(CHAIN)
    reference.structural = lambda message, needed=0: reference_structural(CHAIN, message)  # type: ignore[method-assign]
    compared = 0
    for label, view in fixture_messages():
        assert CHAIN.structural(view) == reference_structural(CHAIN, view), label
        hits = CHAIN.cue_hits(view)
        assert CHAIN._cue_findings(view, hits) == reference._cue_findings(view, hits), label
        compared += bool(hits)
    assert compared > 100


def test_chain_findings_as_before_on_spliced_mechanics_and_structure() -> None:
    """Generic mechanics, junk cues and every mix of forward depth, header blocks and address lists."""
    assert isinstance(CHAIN, ChainLetterCheck)
    from tests.test_chain_letter import CUE_EXAMPLES

    reference = copy.copy(CHAIN)
    reference.structural = lambda message, needed=0: reference_structural(CHAIN, message)  # type: ignore[method-assign]
    by_id = {c.id: c for c in CHAIN.cues}
    generic = [CUE_EXAMPLES[i][0] for i in CUE_EXAMPLES if i in by_id and by_id[i].family == "chain_letter.*"]
    junk = [CUE_EXAMPLES[i][0] for i in CUE_EXAMPLES if i in by_id and by_id[i].family.startswith("junk.")]
    rng = random.Random(33)
    headers = "\n".join(["-----Original Message-----", "From: a@b.example", "On Mon, 1 May 2023, x wrote:"] * 2)
    addresses = " ".join(f"p{i}@school.example" for i in range(8))
    luck = 0
    for _ in range(400):
        subject = rng.choice(["hi", "Fwd: Fw: FW: hi", "FW: Fwd: hello Fwd:"])
        body = [*rng.sample(generic, rng.randrange(0, 3)), *rng.sample(junk, rng.randrange(0, 2))]
        body += [headers] if rng.random() < 0.5 else []
        body += [addresses] if rng.random() < 0.5 else []
        rng.shuffle(body)
        view = _message("\n\n".join(body) or "hello", subject=subject)
        hits = CHAIN.cue_hits(view)
        findings = CHAIN._cue_findings(view, hits)
        assert findings == reference._cue_findings(view, hits), (subject, body)
        luck += any(f.rule == "chain_letter.luck" for f in findings)
    assert luck > 10
