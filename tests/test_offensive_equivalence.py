"""Issue 24's speed-ups of the offensive check change its cost, never an answer.

``tests/offensive_reference`` loads the modules as they were (hate, model, lexicon, normalise) from git.
Both run over every fixture message and text block in ``tests/fixtures``, the benchmark's
generated messages (letter, newsletter, adversarial run of "xxxx", offensive, chain letter) and
generated text full of what the fast paths special-case: quotation marks and apostrophes,
contractions ("I'll", "ill kill"), leet and asterisks, look-alike and accented letters, spaced
letters, every line break :meth:`str.splitlines` knows, identifiers, data tokens, names.
Sentences, symbols, frames, mentions, listed words and the model's probability must be
*identical* (the probability to the last bit: the same buckets are summed in the same order),
and so must the check's findings on every message.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from email.message import EmailMessage
from functools import cache
from pathlib import Path

import pytest

from aupmilter.checks import CheckSettings
from aupmilter.checks.offensive import hate, lexicon, model
from aupmilter.checks.offensive.check import OffensiveCheck, _ModelSettings
from aupmilter.checks.offensive.spelling import load_real_words
from aupmilter.config import load_config
from aupmilter.message import MessageView
from aupmilter.model import Envelope
from aupmilter.quoting import split_quoted
from tests.offensive_reference import hate as ref_hate
from tests.offensive_reference import lexicon as ref_lexicon
from tests.offensive_reference import model as ref_model
from tests.offensive_reference import normalise as ref_normalise
from tests.test_perf_equivalence import fixture_messages

CONFIG = load_config(None)
DIRECTORY = CONFIG.rules_dir / "lexicon"
FIXTURES = Path(__file__).parent / "fixtures"
INBOUND = Envelope("parent@home.test", ("teacher@oakfield.example",), client_addr="198.51.100.1")


def _check() -> OffensiveCheck:
    return OffensiveCheck(CheckSettings(CONFIG.rules_dir, {}, CONFIG, "test"))


NEW = _check()
REF = _check()
REF.hate = ref_hate.HateDetector(DIRECTORY)  # type: ignore[assignment]
REF.lexicon = ref_lexicon.Lexicon(DIRECTORY, load_real_words(DIRECTORY / "realwords.txt"))  # type: ignore[assignment]
assert NEW.model is not None and REF.model is not None
REF.model = _ModelSettings(
    ref_model.OffensiveModel.load(DIRECTORY / NEW.lexicon.index.model.file, REF.hate),  # type: ignore[arg-type]
    NEW.model.threshold,
    NEW.model.rule,
    NEW.model.score,
)

#: Pieces of generated text: each special case of a fast path, and ordinary words around them.
PIECES = [
    *["I", "i'll", "ill", "well", "hell", "shell", "we'll", "I'd", "she’d", "kill", "shoot", "find", "you", "u", "ur", "they", "them", "those", "these", "Muslims", "women"],
    *["gay", "people", "immigrants", "refugees", "disabled", "that", "like", "fucking", "fuckin", "h8", "haet", "hte", "k*ll", "f*ck", "f**k", "sh1t", "b!tch"],
    *["d0nt", "don't", "can't", "can’t", "won’t", "girls'", "boys’", "Scunthorpe's", "the", "a", "and", "said", "told", "called", "racist", "not", "no", "never"],
    *["he", "she", "him", "her", "Priya", "Mr", "Mrs", "Okafor", "head", "teacher", "my", "wife", "email", "deserve", "to", "die", "are", "vermin", "hate", "ihate"],
    *["killall", "womenare", "gonna", "imma", "ppl", "Мuslims", "ɑll", "ÉCOLE", "naïve", "Ｆｕｃｋ", "0x20000", "a2ad0f9c", "12", "£5", "€3", "3", "@ss", "$hit"],
    *["fooBar", "dumb_terminal", "PORN_GALLERIES", "www.example.com", "https://x.test/a?b=c", "me@home.test", "ex.co.uk"],
    *["buffet", "cockerel", "Cockermouth", "cocktail", "assassin", "therapist", "Dickens", "shitake", "Penistone", "bass"],
    *["titbit", "grassy", "shiitake", "fu-ck", "s-hit", "bull-shit", "sh.it", "fuuuck", "shiiit", "motherfucker", "cocks"],
    "f u c k", "f.u.c.k", "f-u-c-k", "&amp;", "&#102;uck", "f\u200buck", "x" * 40, "xxxxxxx xxxxxxx",
    "can't stand", "death to", "down with", "belong in a zoo", "no respect for", "every one of them",
    "should be shot", "you are dead", "i know where you live", "nobody likes you", "you make me sick",
    "hate speech", "not acceptable", "the word", "words like", "out of order", "I'm not racist, but",
    "'", "’", "‘", '"', "“", "”", "«", "»", "„", "!", "!!", ".", "?", "…", ",", ";", ":", "(", ")", "-", "—", "–",
    "|", "*", "+", "$", "€", "£",
]  # fmt: skip
SEPARATORS = [" ", " ", " ", " ", "", ". ", ", ", " - ", "\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028"]


def generated(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        words = [rng.choice(PIECES) for _ in range(rng.randint(1, 30))]
        words = [w.upper() if rng.random() < 0.05 else w.capitalize() if rng.random() < 0.1 else w for w in words]
        out.append("".join(w + rng.choice(SEPARATORS) for w in words))
    return out


@cache
def bench_messages() -> list[tuple[str, MessageView]]:
    """The benchmark's generated messages (and its 6 KB letter), built afresh."""
    import tempfile

    from bench import corpus

    directory = Path(tempfile.mkdtemp(prefix="offensive-equivalence-"))
    built = corpus.build(directory)
    paths = [path for path, _ in built.values()] + [corpus.letter(directory)]
    return [(p.name, MessageView(p.read_bytes())) for p in paths]


@cache
def texts() -> list[str]:
    """Every text the check reads in the messages (subject, each quoted or own part), every
    line of the text fixtures, and the generated text."""
    out: list[str] = []
    for _, view in fixture_messages() + bench_messages():
        if view.subject:
            out.append(view.subject)
        for part in view.text_parts:
            out += [text for _, text in split_quoted(part.text)]
    for path in sorted(FIXTURES.rglob("*.txt")):  # each line too: the functional sets are a line each
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        out += [line for line in lines if line.strip()][:2000]
    return out + generated(4000, 24)


def _symbols(analysed: list[tuple[list[hate.Word], list[hate.Symbol]]]) -> list[object]:
    return [
        (words, [(s.cls, s.words, s.quoted, s.category, s.dehumanising, s.capitalised) for s in syms])
        for words, syms in analysed
    ]


def _fields(items: list[object]) -> list[tuple[object, ...]]:
    return [tuple(vars(item).values()) for item in items]


def test_the_texts_exercise_every_special_case() -> None:
    """Otherwise an equality below proves little."""
    corpus = texts()
    assert len(corpus) > 10_000
    joined = "".join(corpus)
    for needle in ("'", "’", '"', "“", "\r", "\x0b", "\x85", "\u2028", "0x", "_", "@", "www.", "£", "Ｆ", "\u200b"):
        assert needle in joined, needle


def test_sentences_symbols_and_frames_are_identical() -> None:
    new, ref = NEW.hate, REF.hate
    found = {"personal": 0, "frames": 0, "quoted": 0, "contextual": 0}
    for text in texts():
        assert new.sentences(text) == ref.sentences(text), text
        analysed = new.analyse(text)
        assert _symbols(analysed) == _symbols(ref.analyse(text)), text
        hits = new.scan(text)
        assert _fields(hits) == _fields(ref.scan(text)), text
        found["personal"] += any(h.target == "individual" and h.frame.startswith("personal") for h in hits)
        found["frames"] += any(not h.frame.startswith("personal") for h in hits)
        found["quoted"] += any(w.quoted for words, _ in analysed for w in words)
        found["contextual"] += any(
            s.cls == hate.FILLER and s.words[0] in {"that", "like", "those"} for _, ss in analysed for s in ss
        )
    assert min(found.values()) > 50, found


def test_mentions_and_listed_words_are_identical() -> None:
    found = 0
    for text in texts():
        unmentioned = NEW.hate.unmentioned(text)
        assert unmentioned == REF.hate.unmentioned(text), text
        for variant in (text, unmentioned):
            terms = NEW.lexicon.scan(variant)
            assert _fields(terms) == _fields(REF.lexicon.scan(variant)), variant  # type: ignore[arg-type]
            found += bool(terms)
    assert found > 500


def test_model_probabilities_are_identical() -> None:
    assert NEW.model is not None and REF.model is not None
    high = 0
    for text in texts():
        NEW.hate.scan(text)  # the model reads the frames' negations of the same text
        REF.hate.scan(text)
        p = NEW.model.model.max_sentence_probability(text)
        assert p == REF.model.model.max_sentence_probability(text), text
        high += p >= NEW.model.threshold
    assert high > 100


def test_the_model_scores_as_its_trainer_features_say() -> None:
    """``sentence_probability`` (memoised buckets) against ``sentence_features`` (what
    train/offensive_model.py trains on), sentence by sentence."""
    assert NEW.model is not None
    scorer = NEW.model.model
    for text in texts()[::7]:
        for _, symbols in NEW.hate.analyse(text):
            hashed, words = scorer.sentence_features(symbols)
            get = scorer.weights.get
            z = scorer.bias + sum(get(f, 0.0) for f in hashed) + sum(scorer._word_score(w) for w in words)
            expected = 1.0 / (1.0 + model.math.exp(-max(-30.0, min(30.0, z))))
            assert scorer.sentence_probability(symbols) == expected, text


def generated_messages(count: int, seed: int) -> list[tuple[str, MessageView]]:
    """Generated text as messages: a subject, own lines and quoted ("> ") lines."""
    rng = random.Random(seed)
    parts = generated(count * 4, seed)
    out = []
    for i in range(count):
        own, quoted, more, subject = parts[4 * i : 4 * i + 4]
        body = f"{own}\n\nOn Monday, someone wrote:\n" + "".join(f"> {line}\n" for line in quoted.splitlines()) + more
        msg = EmailMessage()
        msg["From"], msg["To"] = "a@home.test", "t@oakfield.example"
        msg["Subject"] = " ".join(subject.split())[:120] if rng.random() < 0.8 else "hello"
        msg.set_content(body)
        out.append((f"generated#{i}", MessageView(msg.as_bytes())))
    return out


def test_findings_are_identical_on_every_message() -> None:
    flagged = 0
    for name, view in fixture_messages() + bench_messages() + generated_messages(600, 5):
        findings = list(NEW.run(INBOUND, view))
        assert findings == list(REF.run(INBOUND, view)), name
        flagged += bool(findings)
    assert flagged > 100


def test_flags_are_identical_on_every_text() -> None:
    for text in texts()[::3]:
        assert NEW.flags(text) == REF.flags(text), text


def _ascii_strings(alphabet: str, count: int, seed: int) -> Iterator[str]:
    rng = random.Random(seed)
    for _ in range(count):
        yield "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))


def test_ascii_token_patterns_read_ascii_as_the_unicode_ones() -> None:
    """The stdlib patterns used on ASCII text find what the ``regex`` ones find there."""
    everything = "".join(chr(c) for c in range(128))
    assert hate._ASCII_TOKEN.findall(everything) == hate._TOKEN.findall(everything)
    assert hate._ASCII_TOKEN_LINES.findall(everything) == hate._TOKEN_LINES.findall(everything)
    from aupmilter import normalise

    assert normalise._ASCII_TOKEN.findall(everything) == normalise._TOKEN.findall(everything)
    alphabet = "aZ09@$*|+!'\"-,.?;:()[] \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f_~/\\"
    for text in _ascii_strings(alphabet, 30_000, 24):
        assert hate._ASCII_TOKEN.findall(text) == hate._TOKEN.findall(text), repr(text)
        assert hate._ASCII_TOKEN_LINES.findall(text) == hate._TOKEN_LINES.findall(text), repr(text)
        assert normalise._ASCII_TOKEN.findall(text) == normalise._TOKEN.findall(text), repr(text)
        expected = normalise._SPACED.search(text) is not None
        assert normalise.spaced_somewhere(normalise._SPACED_ASCII, normalise._SPACED_MIDDLE_ASCII, text) == expected


def test_lines_read_together_split_where_splitlines_does() -> None:
    """Every line break :meth:`str.splitlines` knows is a token of the joined-lines patterns,
    and a "-" before one is not a token (it was the last character of its line)."""
    breaks = {c for c in map(chr, range(0x3000)) if len(f"a{c}b".splitlines()) == 2}
    assert breaks == set(hate._LINE_BREAKS)
    assert hate._TOKEN.findall("a -") == ["a"]  # per line
    for c in breaks:
        assert hate._TOKEN_LINES.findall(f"a -{c}b") == ["a", c, "b"]  # lines together


def test_prepare_tokens_and_token_texts_are_identical() -> None:
    from aupmilter import normalise

    rng = random.Random(7)
    extra = ["".join(rng.choice("ab1 .-_~·•/\\@$!*é'’") for _ in range(rng.randint(1, 12))) for _ in range(20_000)]
    for text in texts() + extra:
        prepared = normalise.prepare(text)
        assert prepared == ref_normalise.prepare(text), text
        reference = ref_normalise.tokens(prepared)
        assert [tuple(t) for t in normalise.tokens(prepared)] == [tuple(t) for t in reference], text
        assert normalise.token_texts(prepared) == [t.text for t in reference], text
        view = normalise.TokenView(prepared)  # the lexicon's tokens, each made where read
        assert view.texts == [t.text for t in reference], text
        assert [tuple(view[i]) for i in range(len(view))] == [tuple(t) for t in reference], text
        assert [tuple(t) for t in view[1:4]] == [tuple(t) for t in reference[1:4]], text


def test_identifier_prefilters_keep_the_same_spans() -> None:
    rng = random.Random(11)
    pieces = ["ab", "a", "_", "__", ".", "..", "x1", "é", "ß", "A", "fooBar", "www.", "://", "@", " ", "\n", "9", "Ω"]
    samples = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 10))) for _ in range(30_000)]
    for text in samples + texts():
        assert lexicon._without_identifiers(text) == lexicon._IDENTIFIERS.sub(" ", text), text


def test_memos_that_start_again_change_no_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every memo cleared all the time (a few entries at most): the same answers, even for a
    text with more distinct words than a memo holds."""
    from aupmilter import normalise

    for module in (hate, lexicon, model, normalise):
        monkeypatch.setattr(module, "MEMO_SIZE", 5)
    assert NEW.model is not None and REF.model is not None
    for text in texts()[::5]:
        assert _symbols(NEW.hate.analyse(text)) == _symbols(REF.hate.analyse(text)), text
        assert _fields(NEW.hate.scan(text)) == _fields(REF.hate.scan(text)), text
        assert NEW.model.model.max_sentence_probability(text) == REF.model.model.max_sentence_probability(text)
        assert _fields(NEW.lexicon.scan(text)) == _fields(REF.lexicon.scan(text)), text


def test_the_fast_paths_are_taken() -> None:
    """The speed-ups are real: anchored personal phrases, frame prefilters, shared readings."""
    assert all(anchored.starts for _, _, anchored in NEW.hate._personal)
    assert NEW.hate._any_personal is not None and NEW.hate._any_personal.starts
    assert NEW.lexicon._phrase_pass is not None and NEW.lexicon._phrase_pass.starts
    assert all(targets and predicates for *_, targets, predicates in hate._COMPILED)
    # Words that only could be listed are looked up, not a reason for the full path.
    assert NEW.lexicon._clearly_clean("The buffet at Cockermouth: a cocktail, the cockerel and Dickens.")
    assert not NEW.lexicon._clearly_clean("The buffet at Cockermouth: a cocktail, the cockerel and bull-shit.")
    words = NEW.hate.sentences("The trip is on Friday. The trip is on Friday.")
    first, second = (NEW.hate.symbols(w) for w in words)
    assert all(a is b for a, b in zip(first, second, strict=True))  # one reading per word, shared
