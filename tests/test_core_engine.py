"""Engine, direction, personal label, effects rendering: the spine, without any MTA."""

from __future__ import annotations

from pathlib import Path

import pytest

from aupmilter.config import load_config
from aupmilter.direction import classify
from aupmilter.engine import evaluate
from aupmilter.message import MessageView
from aupmilter.model import Action, AddHeader, ChangeHeader, Direction, Envelope, Fact, ReplaceBody
from aupmilter.render import apply_effects, raw_header_value
from aupmilter.ruleset import build_ruleset

CONFIG = load_config(None)
RULESET = build_ruleset(CONFIG)


def msg(subject: str = "Hello", body: str = "Hi there.\n", extra: str = "") -> bytes:
    return (
        f"From: Teacher <t@oakfield.example>\r\nTo: parent@home.test\r\nSubject: {subject}\r\n"
        f"{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    ).encode()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (Envelope("t@oakfield.example", ("p@home.test",), auth_user="t"), Direction.OUTBOUND),
        (
            Envelope("t@oakfield.example", ("x@birchwood.example",), auth_user="t"),
            Direction.INTERNAL,
        ),
        (
            Envelope("t@oakfield.example", ("p@home.test",), client_addr="10.1.2.3"),
            Direction.OUTBOUND,
        ),
        # Claims a school domain but comes from outside, unauthenticated: inbound.
        (
            Envelope("t@oakfield.example", ("x@oakfield.example",), client_addr="198.51.100.9"),
            Direction.INBOUND,
        ),
        (
            Envelope("p@home.test", ("t@oakfield.example",), client_addr="198.51.100.9"),
            Direction.INBOUND,
        ),
        # Offline (no connection facts): trust the sender domain.
        (Envelope("t@oakfield.example", ("p@home.test",)), Direction.OUTBOUND),
        (Envelope("p@home.test", ("t@oakfield.example",)), Direction.INBOUND),
        (
            Envelope("t@oakfield.example", ("a@oakfield.example", "p@home.test"), auth_user="t"),
            Direction.OUTBOUND,
        ),
    ],
)
def test_direction(env: Envelope, expected: Direction) -> None:
    assert classify(CONFIG, env) is expected


@pytest.mark.parametrize(
    "subject",
    [
        "[Personal] dentist",
        "Personal: dentist",
        "PERSONAL - dentist",
        "personal – dentist",
        "(Private) flat viewing",
        "Re: [Personal] dentist",
        "FW: Personal: dentist",
        "Personal",
        "=?utf-8?q?=5BPersonal=5D_caf=C3=A9?=",
        "=?iso-8859-1?b?UGVyc29uYWw6IGhp?=",
    ],
)
def test_personal_label_variants(subject: str) -> None:
    d = evaluate(
        Envelope("t@oakfield.example", ("p@home.test",), auth_user="t"),
        MessageView(msg(subject)),
        RULESET,
    )
    assert [f.rule for f in d.findings] == ["personal.label"]
    assert d.action is Action.TAG
    assert d.sealed


@pytest.mark.parametrize(
    "subject",
    [
        "Your personal statement draft",
        "Private school fees comparison",
        "Impersonal letters",
        "Personalised reading plan",
    ],
)
def test_words_in_sentences_are_not_labels(subject: str) -> None:
    d = evaluate(
        Envelope("t@oakfield.example", ("p@home.test",), auth_user="t"),
        MessageView(msg(subject)),
        RULESET,
    )
    assert d.findings == ()
    assert d.action is Action.ACCEPT


def test_sensitivity_header_is_a_label() -> None:
    d = evaluate(
        Envelope("t@oakfield.example", ("p@home.test",), auth_user="t"),
        MessageView(msg("Hi", extra="Sensitivity: Private\r\n")),
        RULESET,
    )
    assert [(f.rule, f.location) for f in d.findings] == [("personal.label", "header:Sensitivity")]


def test_evaluate_is_pure_same_inputs_same_decision() -> None:
    env = Envelope("t@oakfield.example", ("p@home.test",), auth_user="t")
    raw = msg("[Personal] x")
    assert evaluate(env, MessageView(raw), RULESET) == evaluate(env, MessageView(raw), RULESET)


def test_forged_verdict_headers_are_removed_and_ours_added() -> None:
    raw = msg("Hello", extra="X-AUP-Verdict: accept\r\nX-AUP-Findings: none\r\nX-AUP-Verdict: accept\r\n")
    d = evaluate(
        Envelope("p@home.test", ("t@oakfield.example",), client_addr="198.51.100.1"),
        MessageView(raw),
        RULESET,
    )
    out = apply_effects(raw, d.effects)
    assert out.count(b"X-AUP-Verdict") == 1
    assert b"X-AUP-Findings" not in out
    assert b"X-AUP-Verdict: accept\r\n\r\nHi there." in out


def test_subject_prefix_keeps_encoded_words() -> None:
    import tomllib

    from aupmilter.config import parse_config

    data = tomllib.loads(Path(CONFIG.source).read_text())
    data["tagging"] = {"subject_prefix": "[AUP]"}
    ruleset = build_ruleset(parse_config(data, "x.toml"))
    raw = msg("=?utf-8?q?=5BPersonal=5D_caf=C3=A9?=")
    d = evaluate(Envelope("t@oakfield.example", ("p@home.test",), auth_user="t"), MessageView(raw), ruleset)
    out = apply_effects(raw, d.effects)
    assert raw_header_value(out, "Subject") == "[AUP] =?utf-8?q?=5BPersonal=5D_caf=C3=A9?="
    assert MessageView(out).subject == "[AUP] [Personal] café"
    # Idempotent: a second pass does not stack prefixes.
    d2 = evaluate(Envelope("t@oakfield.example", ("p@home.test",), auth_user="t"), MessageView(out), ruleset)
    assert raw_header_value(apply_effects(out, d2.effects), "Subject") == raw_header_value(out, "Subject")


def test_block_reply_is_550_571_naming_the_clause_not_the_content() -> None:
    import tomllib

    from aupmilter.config import parse_config

    data = tomllib.loads(Path(CONFIG.source).read_text())
    data["action"] = [
        {
            "match": "personal.label",
            "outbound": "block",
            "clause": "personal use is not permitted (003 §4)",
        }
    ]
    ruleset = build_ruleset(parse_config(data, "x.toml"))
    d = evaluate(
        Envelope("t@oakfield.example", ("p@home.test",), auth_user="t"),
        MessageView(msg("Personal: secret plans")),
        ruleset,
    )
    assert d.action is Action.BLOCK
    assert d.smtp_reply is not None
    text = str(d.smtp_reply)
    assert text.startswith("550 5.7.1 ")
    assert "personal use is not permitted (003 §4)" in text and "Oakfield Primary School" in text
    assert "secret plans" not in text
    assert d.effects == ()


def test_render_applies_each_effect_kind() -> None:
    raw = b"A: 1\nB: 2\nB: 3\n\nbody\n"
    out = apply_effects(
        raw,
        [
            AddHeader("Top", "t", prepend=True),
            AddHeader("End", "e"),
            ChangeHeader("B", "changed", 2),
            ChangeHeader("A", None),
            ReplaceBody(b"new\n"),
        ],
    )
    assert out == b"Top: t\nB: 2\nB: changed\nEnd: e\n\nnew\n"


def test_malformed_mime_is_a_finding_not_an_error() -> None:
    raw = (
        b"From: p@home.test\r\nTo: t@oakfield.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="zzz"\r\n\r\nno boundary ever appears\r\n'
    )
    d = evaluate(Envelope("p@home.test", ("t@oakfield.example",)), MessageView(raw), RULESET)
    assert [f.rule for f in d.findings] == ["mime.malformed"]
    assert "StartBoundaryNotFoundDefect" in d.findings[0].evidence or "Boundary" in d.findings[0].evidence


def test_deep_nesting_hits_limits_without_recursion_error() -> None:
    depth = 200
    parts = []
    for i in range(depth):
        parts.append(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n')
    raw = (
        "From: p@home.test\r\nTo: t@oakfield.example\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
        + "".join(parts)
        + "Content-Type: text/plain\r\n\r\nhi\r\n"
    ).encode()
    d = evaluate(Envelope("p@home.test", ("t@oakfield.example",)), MessageView(raw), RULESET)
    assert any(f.rule == "mime.limits" for f in d.findings)
    assert d.action is Action.QUARANTINE


# --- core names no check: facts, the seal, the deciding finding, the address accessor ----------


def test_envelope_facts_are_named_by_the_check_and_default_when_not_supplied() -> None:
    count: Fact[int] = Fact("example.count", 0)
    env = Envelope("t@oakfield.example", ("p@home.test",))
    assert env.fact(count) == 0 and env.facts == {}
    supplied = env.with_fact(count, 3)
    assert supplied.fact(count) == 3 and env.fact(count) == 0  # envelopes stay immutable
    assert supplied.with_fact(Fact("example.other", ""), "x").fact(count) == 3


def test_the_seal_comes_from_the_check_that_declares_it() -> None:
    """A labelled message to a sealing school is sealed because the personal check declares
    ``personal.label`` as its seal; its own findings keep their evidence, others are redacted."""
    [personal] = [c for c in RULESET.checks if c.name == "personal"]
    assert getattr(personal, "seals", None) == frozenset({"personal.label"})
    raw = msg("Personal: my bank details", "Account 12345678, sort code 12-34-56.\n")
    env = Envelope("t@oakfield.example", ("p@home.test",), auth_user="t")
    decision = evaluate(env, MessageView(raw), RULESET)
    if not any(s.seal_personal for s in CONFIG.schools if s.domain == "oakfield.example"):
        pytest.skip("the shipped config does not seal Personal mail at oakfield")
    assert decision.sealed
    label = [f for f in decision.findings if f.rule == "personal.label"]
    assert label and not label[0].evidence.startswith("sealed:")
    assert all(f.evidence.startswith("sealed:") for f in decision.findings if not f.rule.startswith("personal."))


def test_decision_names_the_deciding_finding() -> None:
    raw = msg("Hello", "Hi there.\n")
    env = Envelope("t@oakfield.example", ("p@home.test",), auth_user="t")
    clean = evaluate(env, MessageView(raw), RULESET)
    assert clean.deciding is None or clean.deciding in clean.findings
    exe = (
        b"From: t@oakfield.example\r\nTo: p@home.test\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee\r\n'
        b'--b\r\nContent-Type: application/octet-stream; name="a.exe"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        b"TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACAAAAA\r\n--b--\r\n"
    )
    held = evaluate(env, MessageView(exe), RULESET)
    assert held.action is not Action.ACCEPT
    assert held.deciding is not None and held.deciding in held.findings
    assert held.deciding.rule in held.reason or held.deciding.category in held.reason


def test_message_addresses_parsed_once_in_header_order() -> None:
    raw = (
        b"From: Teacher <t@oakfield.example>\r\nTo: A <a@x.test>, undisclosed-recipients:;\r\n"
        b"Cc: c@y.test\r\nTo: b@x.test\r\nSubject: s\r\n\r\nbody\r\n"
    )
    view = MessageView(raw)
    pairs = view.addresses("To", "Cc")
    assert [a for _, a in pairs if "@" in a] == ["a@x.test", "b@x.test", "c@y.test"]
    assert ("A", "a@x.test") in pairs
    assert view.addresses("to", "cc") is pairs  # cached: one parse per message
    assert view.addresses("From") == (("Teacher", "t@oakfield.example"),)
    assert view.addresses("Reply-To") == ()
