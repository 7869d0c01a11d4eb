"""Offensive-language check: obfuscations caught, Scunthorpe-style words never, locations kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from aupmilter.config import load_config
from aupmilter.engine import evaluate
from aupmilter.message import MessageView
from aupmilter.model import Action, Envelope
from aupmilter.quoting import split_quoted
from aupmilter.ruleset import build_ruleset

RULESET = build_ruleset(load_config(None))
CHECK = next(c for c in RULESET.checks if c.name == "offensive")
CLEAN = sorted((Path(__file__).parent / "fixtures" / "text" / "clean_school_mail").glob("*.txt"))


def found(text: str) -> list[str]:
    return [t.display for t in CHECK.scan(text)]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("what the fuck", "fuck"),
        ("f u c k you", "fuck"),
        ("f.u.c.k this", "fuck"),
        ("f-u-c-k", "fuck"),
        ("f*ck off", "fuck"),
        ("f**k", "fuck"),
        ("fuuuuuck", "fuck"),
        ("FUCK", "fuck"),
        ("ＦＵＣＫ", "fuck"),
        ("f\u200buck", "fuck"),
        ("&#102;uck", "fuck"),
        ("Fück", "fuck"),
        ("b!tch", "bitch"),
        ("sh1t", "shit"),
        ("$hit", "shit"),
        ("@sshole", "asshole"),
        ("\u0455hit", "shit"),
        ("c*nt", "cunt"),
        ("fucking", "fuck"),
        ("motherfuckers", "motherfucker"),
        ("shitty", "shit"),
        ("wankers", "wank"),
        ("r3tard", "retard"),
        ("kill yourself", "kill yourself"),
        ("you're worthless", "you're worthless"),
        ("youre worthless", "you're worthless"),
        ("you’re worthless", "you're worthless"),
        ("\u0440\u043ern", "porn"),
    ],
)
def test_obfuscations_are_caught(text: str, term: str) -> None:
    assert term in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "Scunthorpe",
        "Penistone",
        "Sussex",
        "Essex",
        "Middlesex",
        "Cockermouth",
        "Clitheroe",
        "Shitterton",
        "assess",
        "cocktail",
        "therapist",
        "analysis",
        "Dickens",
        "Dick Whittington",
        "class",
        "bigger",
        "passage",
        "Hancock",
        "scrap",
        "document",
        "title",
        "hello",
        "cumulative",
        "shuttlecock",
        "blue tits and great tits",
        "faggots and peas",
        "Homo sapiens",
        "Moby Dick",
        "spotted dick",
        "magna cum laude",
        "finger prick test",
        "the children will see Dick and his cat",
        "the Cock and Bull pub",
        "Offa's Dyke path",
        "a racist incident was recorded",
        "concerns about access to pornography",
    ],
)
def test_allowlisted_and_innocent_words_never_fire(text: str) -> None:
    assert found(text) == []


def test_clean_school_mail_set_is_not_flagged() -> None:
    assert len(CLEAN) >= 25
    flagged = [p.name for p in CLEAN if found(p.read_text())]
    assert flagged == []


def test_split_quoted_recognises_replies_and_forwards() -> None:
    text = "My reply here.\n\nOn Mon, 3 Nov 2026 at 09:00, Parent <p@home.test> wrote:\n> old text\n> more"
    assert [k for k, _ in split_quoted(text)] == ["own", "quoted"]
    text = "FYI\n---------- Forwarded message ---------\nFrom: x\nbad words"
    assert [k for k, _ in split_quoted(text)] == ["own", "forwarded"]
    text = "Thanks\n\nFrom: Head <h@x>\nSent: Monday\nTo: me\nSubject: re\n\nquoted"
    assert [k for k, _ in split_quoted(text)] == ["own", "quoted"]


def mail(body: str, subject: str = "Hello", sender: str = "t@oakfield.example", to: str = "p@home.test") -> bytes:
    return f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n\r\n{body}\r\n".encode()


OUT = Envelope("t@oakfield.example", ("p@home.test",), auth_user="t")
IN = Envelope("p@home.test", ("t@oakfield.example",), client_addr="198.51.100.1")


def test_outbound_strong_language_is_blocked_with_clause_and_no_word_echoed() -> None:
    d = evaluate(OUT, MessageView(mail("You are a f*cking idiot.")), RULESET)
    assert d.action is Action.BLOCK
    reply = str(d.smtp_reply)
    assert reply.startswith("550 5.7.1") and "strictly forbidden" in reply
    assert "fuck" not in reply.lower() and "idiot" not in reply.lower()
    ev = [f.evidence for f in d.findings if f.rule.startswith("offensive.")]
    assert any(e.startswith("f**k in body") for e in ev)


def test_inbound_offensive_is_tagged_not_blocked() -> None:
    d = evaluate(
        IN,
        MessageView(mail("This is shit service", sender="p@home.test", to="t@oakfield.example")),
        RULESET,
    )
    assert d.action is Action.TAG


def test_mild_single_word_outbound_is_tagged_only() -> None:
    d = evaluate(OUT, MessageView(mail("Sorry, the printer is crap today.")), RULESET)
    assert [f.rule for f in d.findings] == ["offensive.profanity.mild"] and d.action is Action.TAG


def test_forwarded_offensive_text_is_its_own_category() -> None:
    body = "Please see below, I think this needs reporting.\n\n---------- Forwarded message ---------\nFrom: x\n\nyou are a fucking c*nt"
    d = evaluate(OUT, MessageView(mail(body)), RULESET)
    rules = {f.rule for f in d.findings}
    assert rules == {"offensive_quoted.profanity.strong", "offensive_quoted.abuse.personal"}
    assert d.action is Action.QUARANTINE
    assert all(f.location.startswith("forwarded:") for f in d.findings)


def test_subject_and_attachment_names_are_scanned() -> None:
    d = evaluate(OUT, MessageView(mail("hello", subject="you absolute wanker")), RULESET)
    assert [f.location for f in d.findings] == ["subject"]


def test_sealed_personal_mail_is_checked_without_words_in_the_evidence() -> None:
    """A Personal label seals mail from people, not from the check (issue 17)."""
    d = evaluate(OUT, MessageView(mail("fucking hell", subject="[Personal] weekend")), RULESET)
    offensive = [f for f in d.findings if f.rule.startswith("offensive")]
    assert d.sealed and offensive
    assert not any("fuck" in (f.evidence + f.location).lower() for f in d.findings)


def _full_scan(text: str) -> list[str]:
    original = CHECK.lexicon._clearly_clean  # type: ignore[attr-defined]
    CHECK.lexicon._clearly_clean = lambda t: False  # type: ignore[attr-defined]
    try:
        return found(text)
    finally:
        CHECK.lexicon._clearly_clean = original  # type: ignore[attr-defined]


def test_fast_path_never_hides_a_hit(shared_data: Path) -> None:
    """The ASCII fast path may only skip texts the full normalisation path also finds clean."""
    import csv

    with (shared_data / "offensive-dev" / "olid-training-v1.0.tsv").open(encoding="utf-8") as fh:
        texts = [row[1] for row in list(csv.reader(fh, delimiter="\t"))[1:]]
    texts += [p.read_text() for p in CLEAN]
    skipped = [t for t in texts if CHECK.lexicon._clearly_clean(t)]  # type: ignore[attr-defined]
    assert [t for t in skipped if _full_scan(t)] == []
    clean_fast = [p.name for p in CLEAN if CHECK.lexicon._clearly_clean(p.read_text())]  # type: ignore[attr-defined]
    assert len(clean_fast) >= len(CLEAN) // 2  # ordinary school mail takes the fast path
