"""Large base64 bodies are decoded straight from the raw bytes (memory: issue 11), and the view
a check sees must be exactly the one the stdlib parser alone gives."""

from __future__ import annotations

import base64
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aupmilter import elision
from aupmilter.banner import prepend_banner
from aupmilter.message import MessageView
from aupmilter.render import apply_effects
from aupmilter.rewrite import Ambiguous, Disclaimer, Untouchable, rewrite
from tests import attachment_builders as b

FIXTURES = Path(__file__).parent / "fixtures"


def _signature(view: MessageView) -> tuple[object, ...]:
    return (
        view.subject,
        [(p.text, p.content_type, p.location, p.charset) for p in view.text_parts],
        [(a.filename, a.declared_type, a.data, a.location, a.disposition) for a in view.attachments],
        sorted(view.defects),
    )


def _both(raw: bytes) -> tuple[MessageView, MessageView]:
    return MessageView(raw, elide_min_bytes=0), MessageView(raw, elide_min_bytes=1)


def _built_messages() -> list[bytes]:
    return [
        b.message_with([("a.exe", b.pe_bytes(), "application/octet-stream")]),
        b.message_with([("a.zip", b.zip_of({"x/y.exe": b.pe_bytes()}), "application/zip")]),
        b.message_with([("m.docm", b.docx(macro=True), "application/vnd.ms-word.document.macroEnabled.12")]),
        b.message_with([("d.doc", b.ole_doc(macro=True), "application/msword"), ("p.png", b.png(), "image/png")]),
        b.message_with([("t.tgz", b.targz_of({"run.sh": b"#!/bin/sh\n"}), "application/gzip")]),
        b.message_with([("s.7z", b.sevenzip_of({"a.js": b"x"}), "application/x-7z-compressed")]),
        b.message_with(
            [("i.iso", b.iso(), "application/octet-stream"), ("l.lnk", b.lnk(), "application/x-ms-shortcut")]
        ),
        b.message_with(
            [("j.jar", b.jar(), "application/java-archive"), ("x.xlsx", b.xlsx(), "application/vnd.ms-excel")]
        ),
    ]


def test_every_fixture_parses_the_same_with_elision_forced() -> None:
    files = sorted(FIXTURES.rglob("*.eml"))
    assert len(files) > 100
    raws = [path.read_bytes() for path in files] + _built_messages()
    elided = 0
    for i, raw in enumerate(raws):
        plain, eliding = _both(raw)
        assert _signature(plain) == _signature(eliding), files[i] if i < len(files) else i
        elided += eliding.elided
    assert elided > 10  # the comparison exercised the elided path, not only the fallback


def test_a_25_mb_attachment_is_decoded_without_the_stdlib_line_list() -> None:
    payload = b.pdf() + bytes(range(256)) * (25 << 12)
    raw = b.message_with([("scan.pdf", payload, "application/pdf")])
    view = MessageView(raw)
    assert view.elided == 1
    assert view.attachments[0].data == payload
    assert view.attachments[0].detected_mime == "application/pdf"


def _message(body: bytes, ctype: str, crlf: bool, cte: str = "base64", text_before: str = "Hello") -> bytes:
    msg = EmailMessage()
    msg["From"] = "a@example.org"
    msg["Subject"] = "s"
    msg.set_content(text_before)
    maintype, _, subtype = ctype.partition("/")
    msg.add_attachment(body, maintype=maintype, subtype=subtype, filename="f.bin", cte=cte)
    raw = msg.as_bytes(policy=email.policy.default)
    return raw.replace(b"\n", b"\r\n") if crlf else raw


@settings(max_examples=60, deadline=None)
@given(
    body=st.binary(min_size=0, max_size=4000),
    ctype=st.sampled_from(["application/octet-stream", "image/png", "text/plain", "message/external-body"]),
    crlf=st.booleans(),
)
def test_property_same_view_with_and_without_elision(body: bytes, ctype: str, crlf: bool) -> None:
    if ctype.startswith(("text/", "message/")):
        raw = _message(body.decode("latin-1").encode(), "application/octet-stream", crlf).replace(
            b"application/octet-stream", ctype.encode()
        )
    else:
        raw = _message(body, ctype, crlf)
    plain, eliding = _both(raw)
    assert _signature(plain) == _signature(eliding)


def test_bad_padding_and_lookalike_text_fall_back_to_the_stdlib() -> None:
    good = base64.encodebytes(b"x" * 3000).decode()
    lines = good.splitlines()
    lines[-1] = lines[-1].rstrip("=") + "A"  # incorrect padding
    broken = "\n".join(lines) + "\n"
    raw = (
        "From: a@example.org\nSubject: s\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
        "--b\nContent-Type: text/plain\n\nAUPMILTERELIDED literal token in text\n\nQUJD\nREVG\n\n"
        f"--b\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n{broken}--b--\n"
    ).encode()
    plain, eliding = _both(raw)
    assert _signature(plain) == _signature(eliding)


_B64_LINE = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", min_size=0, max_size=80
)


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(_B64_LINE, min_size=1, max_size=40),
    eols=st.lists(st.sampled_from(["\n", "\r\n"]), min_size=1, max_size=40),
    after=st.sampled_from(["", "\n", "\n\n", "tail-text\n"]),
    ctype=st.sampled_from(["application/pdf", "text/plain", "image/png"]),
)
def test_property_hand_made_base64_bodies_match_the_stdlib(
    lines: list[str], eols: list[str], after: str, ctype: str
) -> None:
    """Malformed and odd bodies (uneven lines, stray padding, mixed line endings, trailing text):
    either decoded identically or left to the stdlib, never a different answer."""
    body = "".join(line + eols[i % len(eols)] for i, line in enumerate(lines)) + after
    raw = (
        "From: a@example.org\nSubject: s\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
        f"--b\nContent-Type: {ctype}; name=x\nContent-Transfer-Encoding: base64\n\n{body}--b--\n"
    ).encode()
    plain, eliding = _both(raw)
    assert _signature(plain) == _signature(eliding)


def _surgery(raw: bytes, monkeypatch: pytest.MonkeyPatch, min_bytes: int) -> object:
    """Disclaimer and banner effects with elision at ``min_bytes`` (0: off), or the error."""
    monkeypatch.setattr(elision, "ELIDE_MIN_BYTES", min_bytes)
    disclaimer = Disclaimer("-- \nOakfield School disclaimer\n", "<p>Oakfield School disclaimer</p>")
    try:
        result = rewrite(raw, disclaimer, "oakfield.example")
        effects: object = result.effects if result else None
    except (Untouchable, Ambiguous) as exc:
        effects = type(exc).__name__
    return (effects, prepend_banner(raw, "Warning: check this message", "<p>Warning: check this message</p>"))


def test_disclaimer_and_banner_bytes_identical_with_elision_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    """Surgery leaves attachments as tokens and writes their original bytes back: the output
    must be byte-identical to regenerating everything through the stdlib."""
    files = sorted(FIXTURES.rglob("*.eml"))
    raws = [path.read_bytes() for path in files] + _built_messages()
    raws += [raw.replace(b"\n", b"\r\n") for raw in _built_messages()]
    changed = 0
    for i, raw in enumerate(raws):
        plain = _surgery(raw, monkeypatch, 0)
        forced = _surgery(raw, monkeypatch, 1)
        assert plain == forced, files[i] if i < len(files) else i
        changed += elision.elide(raw, 1) is not None and plain[0] not in (None, "Untouchable", "Ambiguous")
    assert changed > 10  # rewrites that really went through the elided path


def test_eleven_or_more_large_attachments_each_keep_their_own_bytes() -> None:
    # Tokens end in N0, N1, ... N10: an unterminated N1 matched the start of N10, and the
    # eleventh attachment was read, and sent on, as the second one's bytes followed by "0".
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "t@oakfield.example", "p@home.test", "Scans"
    msg.set_content("Dear parents, the scans are attached.")
    blobs = [bytes([i]) * 3 + bytes(range(256)) * 600 for i in range(12)]
    for i, blob in enumerate(blobs):
        msg.add_attachment(blob, maintype="application", subtype="pdf", filename=f"scan{i}.pdf")
    raw = msg.as_bytes()
    view = MessageView(raw)
    assert view.elided == 12
    assert [a.data for a in view.attachments] == blobs
    result = rewrite(raw, Disclaimer("Disclaimer", "<p>Disclaimer</p>"), "oakfield.example")
    assert result is not None
    out = email.message_from_bytes(apply_effects(raw, result.effects), policy=email.policy.compat32)
    assert [p.get_payload(decode=True) for p in out.walk() if p.get_filename()] == blobs
