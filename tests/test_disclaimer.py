"""Disclaimer rewrite and DKIM: MIME cases, round-trip invariants over real corpora, signatures."""

from __future__ import annotations

import base64
import email
import email.policy
import subprocess
import tomllib
from email.message import EmailMessage
from pathlib import Path

import dkim as dkimpy
import pytest

from aupmilter.config import load_config, parse_config
from aupmilter.engine import Ruleset, evaluate
from aupmilter.errors import ConfigError
from aupmilter.message import MessageView
from aupmilter.model import Envelope
from aupmilter.render import apply_effects
from aupmilter.ruleset import build_ruleset

OUT = Envelope("t@oakfield.example", ("parent@home.test",), auth_user="t")
MARK_TEXT = "Oakfield Primary School, part of"
MARK_HTML = 'class="aup-disclaimer"'


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    d = tmp_path_factory.mktemp("dkim")
    key = d / "oak.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    key.chmod(0o600)
    der = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    return key, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def ruleset_with(extra: dict[str, object]) -> Ruleset:
    """``extra``: [checks.disclaimer] options; a "dkim" entry goes to its own [dkim] section."""
    base = tomllib.loads(Path(load_config(None).source).read_text())
    options = dict(extra)
    if "dkim" in options:
        base["dkim"] = options.pop("dkim")
    base["checks"] = {"disclaimer": options}
    return build_ruleset(parse_config(base, "test.toml"))


DEFAULT = build_ruleset(load_config(None))


def emit(raw: bytes, ruleset: Ruleset = DEFAULT, env: Envelope = OUT) -> bytes:
    d = evaluate(env, MessageView(raw), ruleset)
    return apply_effects(raw, d.effects)


def simple(
    body: str = "Hello,\nsee you soon.\n",
    charset: str = "us-ascii",
    cte: str | None = None,
    subtype: str = "plain",
    params: str = "",
) -> bytes:
    headers = (
        f"From: t@oakfield.example\r\nTo: parent@home.test\r\nSubject: hi\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/{subtype}; charset={charset}{params}\r\n"
    )
    data = body.encode(charset)
    if cte == "base64":
        return (headers + "Content-Transfer-Encoding: base64\r\n\r\n").encode() + base64.encodebytes(data)
    if cte:
        headers += f"Content-Transfer-Encoding: {cte}\r\n"
    return (headers + "\r\n").encode() + data


def texts(raw: bytes) -> list[tuple[str, str]]:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    out = []
    for part in msg.walk():
        if part.get_content_type() in ("text/plain", "text/html") and part.get_content_disposition() != "attachment":
            out.append((part.get_content_type(), part.get_content()))
    return out


def test_plain_keeps_charset_and_appears_once() -> None:
    out = emit(simple())
    [(_, text)] = texts(out)
    assert text.count(MARK_TEXT) == 1 and text.startswith("Hello,")
    assert b"X-AUP-Disclaimer: oakfield.example" in out


def test_latin1_part_stays_latin1_when_representable() -> None:
    out = emit(simple("Café at 3pm.\n", charset="iso-8859-1", cte="8bit"))
    msg = email.message_from_bytes(out, policy=email.policy.default)
    assert msg.get_content_charset() == "iso-8859-1"
    assert "Café at 3pm." in msg.get_content() and MARK_TEXT in msg.get_content()


def test_base64_stays_base64_and_flowed_lines_have_no_trailing_space() -> None:
    out = emit(simple("Line one \nline two\n", cte="base64", params="; format=flowed"))
    msg = email.message_from_bytes(out, policy=email.policy.default)
    assert msg["Content-Transfer-Encoding"] == "base64"
    added = msg.get_content().split("line two", 1)[1]
    assert all(not line.endswith(" ") for line in added.splitlines())


def test_html_before_body_close_and_never_inside_pre() -> None:
    out = emit(simple("<html><body><p>Hi</p></body></html>", subtype="html"))
    [(_, html)] = texts(out)
    assert html.index(MARK_HTML) < html.lower().index("</body>")
    out = emit(simple("<html><body><pre>> quoted\n> reply</body></html>", subtype="html"))
    [(_, html)] = texts(out)
    # The unclosed <pre> is closed first (a browser would keep the disclaimer inside it).
    assert "> reply</pre><div " + MARK_HTML in html and html.index(MARK_HTML) < html.lower().index("</body>")


def test_alternative_gets_both_versions_and_attachments_untouched() -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "t@oakfield.example", "parent@home.test", "report"
    msg.set_content("Plain body")
    msg.add_alternative("<html><body><p>HTML body</p></body></html>", subtype="html")
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 40
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename="report.pdf")
    msg.add_attachment("attached text file\n", filename="notes.txt")
    raw = msg.as_bytes()
    out = emit(raw)
    found = dict(texts(out))
    assert found["text/plain"].count(MARK_TEXT) == 1 and found["text/html"].count(MARK_HTML) == 1
    parsed = email.message_from_bytes(out, policy=email.policy.default)
    atts = {p.get_filename(): p.get_content() for p in parsed.iter_attachments()}
    assert atts["report.pdf"] == pdf and atts["notes.txt"] == "attached text file\n"


def test_attachment_only_message_is_wrapped() -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "t@oakfield.example", "parent@home.test", "scan"
    msg.set_content(
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
        maintype="image",
        subtype="png",
        disposition="attachment",
        filename="scan.png",
    )
    out = emit(msg.as_bytes())
    parsed = email.message_from_bytes(out, policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    parts = list(parsed.iter_parts())
    assert MARK_TEXT in parts[0].get_content()
    assert parts[1].get_filename() == "scan.png" and parts[1].get_content() == b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


SIGNED = (
    b"From: t@oakfield.example\r\nTo: parent@home.test\r\nSubject: signed\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="s"\r\n\r\n'
    b"--s\r\nContent-Type: text/plain\r\n\r\nsigned text\r\n--s\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\r\n--s--\r\n"
)


def test_signed_mail_untouched_with_finding_or_wrapped() -> None:
    d = evaluate(OUT, MessageView(SIGNED), DEFAULT)
    assert "disclaimer.skipped_signed" in [f.rule for f in d.findings]
    out = apply_effects(SIGNED, d.effects)
    assert out.split(b"\r\n\r\n", 1)[1] == SIGNED.split(b"\r\n\r\n", 1)[1]
    wrapped = emit(SIGNED, ruleset_with({"signed": "wrap"}))
    parsed = email.message_from_bytes(wrapped, policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    assert b"--s\r\nContent-Type: text/plain\r\n\r\nsigned text\r\n--s" in wrapped  # signed entity intact


def test_second_pass_changes_nothing_and_inbound_untouched() -> None:
    once = emit(simple())
    twice = emit(once)
    assert texts(twice) == texts(once)
    inbound = Envelope("parent@home.test", ("t@oakfield.example",), client_addr="198.51.100.1")
    raw = simple().replace(b"From: t@oakfield.example", b"From: parent@home.test")
    assert MARK_TEXT not in emit(raw, env=inbound).decode()


def test_reply_quoting_an_earlier_disclaimer_gets_its_own() -> None:
    first = texts(emit(simple()))[0][1]
    reply = simple("Thanks!\n\n> " + first.replace("\n", "\n> ") + "\n")
    [(_, text)] = texts(emit(reply))
    own = [line for line in text.splitlines() if MARK_TEXT in line and not line.startswith(">")]
    assert len(own) == 1


def test_dkim_signature_verifies(dkim_key: tuple[Path, bytes]) -> None:
    key, record = dkim_key
    rs = ruleset_with({"dkim": {"oakfield.example": {"selector": "s1", "key_file": str(key)}}})
    out = emit(simple(), rs)
    assert out.startswith(b"DKIM-Signature:")
    assert dkimpy.verify(
        out,
        dnsfunc=lambda name, timeout=5: record if name == b"s1._domainkey.oakfield.example." else None,
    )
    tampered = out.replace(b"see you soon", b"see you later")
    assert not dkimpy.verify(tampered, dnsfunc=lambda name, timeout=5: record)


def test_bad_dkim_keys_are_startup_errors(tmp_path: Path, dkim_key: tuple[Path, bytes]) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        ruleset_with(
            {
                "dkim": {
                    "oakfield.example": {
                        "selector": "s1",
                        "key_file": str(tmp_path / "missing.pem"),
                    }
                }
            }
        )
    exposed = tmp_path / "exposed.pem"
    exposed.write_bytes(dkim_key[0].read_bytes())
    exposed.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        ruleset_with({"dkim": {"oakfield.example": {"selector": "s1", "key_file": str(exposed)}}})
    with pytest.raises(ConfigError, match="unknown key"):
        ruleset_with({"placement": "top"})
