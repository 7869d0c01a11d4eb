"""A message's plain and HTML forms are one message to the offensive check.

Mail clients send multipart/alternative: the same words as text/plain and as text/html, and the
recipient reads one.  Adding up the evidence of both scored every word twice, the second copy as
a repeat: an HTML client's message with two strong swear words scored as four (11.25, blocked)
where the same message in plain text scored 6.75 (held for review).  Each form is now read
apart and the strongest form counts; a form whose lines are those of a form already read is not
read again (half the check's work on such mail).
"""

from __future__ import annotations

import itertools
from email.message import EmailMessage
from pathlib import Path

import pytest

from aupmilter.checks.offensive import check as offensive_check
from aupmilter.config import load_config
from aupmilter.engine import evaluate
from aupmilter.message import MessageView
from aupmilter.model import Action, Envelope, Finding
from aupmilter.ruleset import build_ruleset
from tests.attachment_builders import html_form

RULESET = build_ruleset(load_config(None))
CHECK = next(c for c in RULESET.checks if c.name == "offensive")
OUT = Envelope("t@oakfield.example", ("p@home.test",), auth_user="t")
FUNCTIONAL = Path(__file__).parent / "fixtures" / "offensive" / "functional" / "heldout"


def _headers(msg: EmailMessage) -> EmailMessage:
    msg["From"] = "t@oakfield.example"
    msg["To"] = "p@home.test"
    msg["Subject"] = "Hello"
    return msg


def plain_mail(text: str) -> bytes:
    msg = _headers(EmailMessage())
    msg.set_content(text)
    return msg.as_bytes()


def alternative_mail(plain: str, markup: str) -> bytes:
    msg = _headers(EmailMessage())
    msg.set_content(plain)
    msg.add_alternative(markup, subtype="html")
    return msg.as_bytes()


def offensive(raw: bytes) -> list[tuple[str, float]]:
    return sorted((f.rule, f.score) for f in CHECK.run(OUT, MessageView(raw)))


def test_text_parts_know_their_alternative() -> None:
    outer = EmailMessage()
    outer.set_content("plain form")
    outer.add_alternative("<p>html form</p>", subtype="html")
    outer.get_payload()[1].add_related(b"GIF89a", maintype="image", subtype="gif", cid="<logo>")
    inner = EmailMessage()
    inner["Subject"] = "attached"
    inner.set_content("attached plain")
    inner.add_alternative("<p>attached html</p>", subtype="html")
    outer.make_mixed()
    outer.add_attachment(inner)
    parts = {p.text.strip(): p.alternative for p in MessageView(_headers(outer).as_bytes()).text_parts}
    group, branch = parts["plain form"]  # type: ignore[misc]
    assert branch == 0 and parts["html form"] == (group, 1)  # under multipart/related: still branch 1
    inner_group, _ = parts["attached plain"]  # type: ignore[misc]
    assert inner_group != group and parts["attached html"] == (inner_group, 1)
    assert parts["attached"] is None  # the attached message's subject is not a form of anything
    only_plain = MessageView(plain_mail("just text")).text_parts
    assert [p.alternative for p in only_plain] == [None]


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("This fucking printer is shit again.", Action.QUARANTINE),  # summed: 11.25, blocked
        ("You are a f*cking idiot.", Action.BLOCK),
        ("Sorry, the printer is crap today.", Action.TAG),
        ("Thank you for a lovely afternoon at the panto.", Action.ACCEPT),
    ],
)
def test_an_html_client_is_judged_like_plain_text(text: str, action: Action) -> None:
    plain = evaluate(OUT, MessageView(plain_mail(text)), RULESET)
    both = evaluate(OUT, MessageView(alternative_mail(text, html_form(text))), RULESET)
    assert plain.action is both.action is action
    assert _offensive(both.findings) == _offensive(plain.findings)


def _offensive(findings: tuple[Finding, ...]) -> list[tuple[str, float, str]]:
    return sorted((f.rule, f.score, f.evidence) for f in findings if f.rule.startswith("offensive"))


def test_a_form_that_says_more_is_not_hidden_by_the_other() -> None:
    clean = "See you at parents' evening."
    worse = "See you at parents' evening, you fucking idiot."
    alone = offensive(plain_mail(worse))
    assert alone
    assert offensive(alternative_mail(clean, html_form(worse))) == alone
    assert offensive(alternative_mail(worse, html_form(clean))) == alone


def test_the_strongest_form_counts_rule_by_rule() -> None:
    one = "What a shit day."
    two = "What a shit day, and a shit week."
    assert offensive(alternative_mail(one, html_form(two))) == offensive(plain_mail(two))
    assert offensive(alternative_mail(two, html_form(one))) == offensive(plain_mail(two))


def _functional_texts() -> list[str]:
    lines = [
        line.strip()
        for path in sorted(FUNCTIONAL.glob("*.txt"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return ["\n".join(lines[k : k + 6]) for k in range(0, len(lines), 6)]


def test_not_reading_a_form_with_the_same_lines_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over the functional suite's sentences in groups of six, as plain + HTML: the findings when
    the HTML form (same lines) is skipped equal those when both forms are read."""
    texts = _functional_texts()
    assert len(texts) > 100
    messages = [alternative_mail(text, html_form(text)) for text in texts]
    skipped = [offensive(raw) for raw in messages]
    unique = itertools.count()
    monkeypatch.setattr(offensive_check, "_lines", lambda text: f"{next(unique)}")
    both = [offensive(raw) for raw in messages]
    assert sum(map(bool, skipped)) > 100  # most groups hold offensive text
    assert skipped == both


def test_fixture_mail_reads_the_same_with_and_without_the_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every fixture message with alternatives (real clients' plain and HTML forms, whose blank
    lines and indentation differ): skipping the form with the same lines finds what reading
    both finds."""
    raws = [p.read_bytes() for p in sorted(Path(__file__).parent.glob("**/*.eml"))]
    with_forms = [raw for raw in raws if any(p.alternative for p in MessageView(raw).text_parts)]
    assert len(with_forms) > 40
    skipped = [offensive(raw) for raw in with_forms]
    unique = itertools.count()
    monkeypatch.setattr(offensive_check, "_lines", lambda text: f"{next(unique)}")
    assert [offensive(raw) for raw in with_forms] == skipped
