"""DKIM signing (aupmilter.dkim + the signing transform): keys are checked at start-up, what is
signed verifies with dkimpy (DNS stubbed with our public key: no DNS exists here) and with
OpenDKIM's verifier, is byte for byte what dkimpy's own signer makes, and the signature covers
what a reader relies on."""

from __future__ import annotations

import base64
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path

import dkim as dkimpy
import pytest

from aupmilter.config import load_config, parse_config
from aupmilter.dkim import OVERSIGNED, DkimKey, load_key, sign
from aupmilter.engine import Ruleset, evaluate
from aupmilter.errors import ConfigError
from aupmilter.message import MessageView
from aupmilter.model import AddHeader, ChangeHeader, Envelope
from aupmilter.render import apply_effects
from aupmilter.ruleset import build_ruleset
from aupmilter.transforms import changes_signed_content, key_for
from tests.harness import opendkim

OUT = Envelope("t@oakfield.example", ("parent@home.test",), auth_user="t")
RAW = (
    b"From: Teacher <t@oakfield.example>\r\nTo: parent@home.test\r\nSubject: Trip\r\n"
    b"Date: Mon, 16 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@oakfield.example>\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nSee you at 9.\r\n"
)


def make_key(directory: Path, bits: int = 2048) -> tuple[Path, bytes]:
    key = directory / f"k{bits}.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), str(bits)], check=True, capture_output=True)
    key.chmod(0o600)
    der = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"], check=True, capture_output=True
    ).stdout
    return key, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


@pytest.fixture(scope="module")
def keypair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    return make_key(tmp_path_factory.mktemp("dkim"))


def dns_for(record: bytes, selector: bytes = b"s1") -> Callable[..., bytes | None]:
    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == selector + b"._domainkey.oakfield.example." else None

    return lookup


def ruleset(dkim: dict[str, object], **options: object) -> Ruleset:
    base = tomllib.loads(Path(load_config(None).source).read_text())
    base["checks"] = {"disclaimer": {**options}}
    base["dkim"] = dkim
    return build_ruleset(parse_config(base, "test.toml"))


def with_key(key: Path) -> dict[str, object]:
    return {"oakfield.example": {"selector": "s1", "key_file": str(key)}}


def header_block(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0]


def test_signature_verifies_and_covers_what_a_reader_relies_on(keypair: tuple[Path, bytes]) -> None:
    key, record = keypair
    value = sign(RAW, load_key("oakfield.example", "s1", str(key), "t"))
    signed = b"DKIM-Signature: " + value.replace("\n", "\r\n").encode() + b"\r\n" + RAW
    assert dkimpy.verify(signed, dnsfunc=dns_for(record))
    tags = dict(t.strip().split("=", 1) for t in "".join(value.split()).split(";") if t.strip())
    assert tags["c"] == "relaxed/relaxed" and tags["d"] == "oakfield.example" and tags["s"] == "s1"
    signed_fields = tags["h"].lower().split(":")
    for name in ("from", "to", "subject", "date", "message-id", "mime-version", "content-type"):
        assert name in signed_fields
    assert signed_fields.count("from") == 2 and signed_fields.count("subject") == 2  # oversigned
    # An added second From (or Subject) after signing invalidates it.
    assert not dkimpy.verify(signed.replace(b"\r\nTo:", b"\r\nFrom: evil@x.test\r\nTo:"), dnsfunc=dns_for(record))
    assert not dkimpy.verify(signed.replace(b"See you at 9.", b"See you at 8."), dnsfunc=dns_for(record))


def test_signing_is_robust_to_lf_input_and_refolding(keypair: tuple[Path, bytes]) -> None:
    key, record = keypair
    loaded = load_key("oakfield.example", "s1", str(key), "t")
    lf = RAW.replace(b"\r\n", b"\n")
    value = sign(lf, loaded)  # the milter may see LF; Postfix delivers CRLF
    delivered = b"DKIM-Signature: " + value.replace("\n", "\r\n").encode() + b"\r\n" + RAW
    assert dkimpy.verify(delivered, dnsfunc=dns_for(record))
    # A relay that unfolds our header or refolds the Subject does not break relaxed/relaxed.
    unfolded = b"DKIM-Signature: " + " ".join(value.split()).encode() + b"\r\n"
    refolded = RAW.replace(b"Subject: Trip", b"Subject:\r\n  Trip")
    assert dkimpy.verify(unfolded + refolded, dnsfunc=dns_for(record))


def test_long_key_signature_is_folded_under_the_line_limit(tmp_path: Path) -> None:
    key, record = make_key(tmp_path, 4096)
    value = sign(RAW, load_key("oakfield.example", "s1", str(key), "t"))
    lines = ("DKIM-Signature: " + value).split("\n")
    assert len(lines) > 1 and all(len(line) <= 998 for line in lines)
    assert all(line.startswith("\t") for line in lines[1:])
    assert dkimpy.verify(
        b"DKIM-Signature: " + value.replace("\n", "\r\n").encode() + b"\r\n" + RAW, dnsfunc=dns_for(record)
    )


def test_key_problems_are_startup_errors(tmp_path: Path, keypair: tuple[Path, bytes]) -> None:
    key, _ = keypair
    with pytest.raises(ConfigError, match="cannot be read"):
        load_key("oakfield.example", "s1", str(tmp_path / "missing.pem"), "t")
    exposed = tmp_path / "exposed.pem"
    exposed.write_bytes(key.read_bytes())
    for mode in (0o644, 0o640, 0o604):
        exposed.chmod(mode)
        with pytest.raises(ConfigError, match="readable by others"):
            load_key("oakfield.example", "s1", str(exposed), "t")
    broken = tmp_path / "broken.pem"
    broken.write_bytes(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    broken.chmod(0o600)
    with pytest.raises(ConfigError, match="cannot sign"):
        load_key("oakfield.example", "s1", str(broken), "t")
    with pytest.raises(ConfigError, match="not a regular file"):
        load_key("oakfield.example", "s1", str(tmp_path), "t")
    with pytest.raises(ConfigError, match="DNS label"):
        load_key("oakfield.example", "s1;x=y", str(key), "t")
    # Through the config: the milter refuses to start rather than sending unsigned mail.
    with pytest.raises(ConfigError, match="cannot be read"):
        ruleset({"oakfield.example": {"selector": "s1", "key_file": str(tmp_path / "missing.pem")}})
    with pytest.raises(ConfigError, match=r"key_file: is required"):
        ruleset({"oakfield.example": {"selector": "s1"}})
    with pytest.raises(ConfigError, match="not a school domain"):
        ruleset({"elsewhere.test": {"selector": "s1", "key_file": str(key)}})


def test_transform_signs_changed_mail_only(keypair: tuple[Path, bytes]) -> None:
    key, record = keypair
    rs = ruleset(with_key(key))
    out = apply_effects(RAW, evaluate(OUT, MessageView(RAW), rs).effects)
    assert out.startswith(b"DKIM-Signature:") and dkimpy.verify(out, dnsfunc=dns_for(record))
    # A second pass changes nothing, so it adds no second signature; the first still verifies.
    again = apply_effects(out, evaluate(OUT, MessageView(out), rs).effects)
    assert header_block(again).count(b"DKIM-Signature:") == 1 and dkimpy.verify(again, dnsfunc=dns_for(record))
    # Inbound mail is neither changed nor signed.
    inbound = Envelope("parent@home.test", ("t@oakfield.example",), client_addr="198.51.100.1")
    raw_in = RAW.replace(b"From: Teacher <t@oakfield.example>", b"From: parent@home.test")
    assert b"DKIM-Signature" not in apply_effects(raw_in, evaluate(inbound, MessageView(raw_in), rs).effects)


def test_what_counts_as_a_change_to_signed_content() -> None:
    assert not changes_signed_content([AddHeader("X-AUP-Verdict", "accept"), ChangeHeader("X-AUP-Findings", None)])
    assert changes_signed_content([ChangeHeader("Subject", "[AUP] Trip")])
    assert changes_signed_content([AddHeader("Content-Type", "multipart/mixed")])


def test_key_is_chosen_by_the_from_domain_and_covers_subdomains() -> None:
    oak = DkimKey("oakfield.example", "s1", b"")
    birch = DkimKey("birchwood.example", "s1", b"")
    keys = {"oakfield.example": oak, "birchwood.example": birch}
    assert key_for(keys, "birchwood.example", "oakfield.example") is birch  # From wins (DMARC)
    assert key_for(keys, "", "oakfield.example") is oak
    assert key_for(keys, "staff.oakfield.example") is oak
    assert key_for(keys, "example") is None and key_for(keys, "home.test") is None


def test_no_signature_without_a_from_header(keypair: tuple[Path, bytes]) -> None:
    key, _ = keypair
    raw = b"To: parent@home.test\r\nSubject: no from\r\n\r\nHello\r\n"
    out = apply_effects(raw, evaluate(OUT, MessageView(raw), ruleset(with_key(key))).effects)
    assert b"Oakfield Primary School" in out and b"DKIM-Signature" not in out


def test_cli_emit_with_a_dkim_key_config(tmp_path: Path, keypair: tuple[Path, bytes]) -> None:
    """The admin's path: ``aupmilter check --emit DIR --config FILE`` writes what would leave."""
    import sys

    key, record = keypair
    config = tmp_path / "aupmilter.toml"
    config.write_text(
        Path(load_config(None).source).read_text()
        + f'\n[dkim."oakfield.example"]\nselector = "s1"\nkey_file = "{key}"\n'
    )
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "trip.eml").write_bytes(RAW)
    cli = [sys.executable, "-m", "aupmilter.cli", "check", "--config", str(config)]
    done = subprocess.run(
        [*cli, "--emit", str(tmp_path / "out"), "--auth-user", "t", str(tmp_path / "in" / "trip.eml")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    emitted = (tmp_path / "out" / "trip.eml").read_bytes()
    assert emitted.count(b"Oakfield Primary School, part of") == 1
    assert dkimpy.verify(emitted, dnsfunc=dns_for(record))
    # A config whose key is world-readable does not start: exit 2 with the reason.
    key.chmod(0o644)
    try:
        bad = subprocess.run(
            [*cli, str(tmp_path / "in")],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        key.chmod(0o600)
    assert bad.returncode == 2 and "readable by others" in bad.stderr


def test_dkim_is_its_own_section_and_signs_without_a_disclaimer(keypair: tuple[Path, bytes]) -> None:
    """Issue 17: turning the disclaimer off used to turn signing off (it lived in its section)."""
    key, record = keypair
    base = tomllib.loads(Path(load_config(None).source).read_text())
    base["checks"] = {"disclaimer": {"enabled": False}}
    base["dkim"] = {"sign": "all", **with_key(key)}
    rs = build_ruleset(parse_config(base, "test.toml"))
    out = apply_effects(RAW, evaluate(OUT, MessageView(RAW), rs).effects)
    assert b"Oakfield Primary School, part of" not in out
    assert out.startswith(b"DKIM-Signature:") and dkimpy.verify(out, dnsfunc=dns_for(record))
    # With sign = "changed" (the default), a tagged subject is a change worth a signature.
    base["dkim"] = with_key(key)
    base["tagging"] = {"subject_prefix": "[AUP]"}
    rs = build_ruleset(parse_config(base, "test.toml"))
    tagged_raw = RAW.replace(b"Subject: Trip", b"Subject: [Personal] Trip")
    tagged = apply_effects(tagged_raw, evaluate(OUT, MessageView(tagged_raw), rs).effects)
    assert b"[AUP]" in tagged and dkimpy.verify(tagged, dnsfunc=dns_for(record))
    # The old place is refused with a pointer to the new one, not silently ignored.
    base["checks"] = {"disclaimer": {"dkim": with_key(key)}}
    with pytest.raises(ConfigError, match=r"own section now: \[dkim"):
        build_ruleset(parse_config(base, "test.toml"))


def dkimpy_signature(message: bytes, key: DkimKey, now: float, monkeypatch: pytest.MonkeyPatch) -> str:
    """What dkimpy's own signer (pure-Python RSA) makes with our settings, folded as sign() folds."""
    monkeypatch.setattr(dkimpy.time, "time", lambda: now)
    crlf = message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    signer = dkimpy.DKIM(crlf, linesep=b"\r\n")
    signer.add_frozen(OVERSIGNED)
    header = signer.sign(
        key.selector.encode(),
        key.domain.encode(),
        key.private_key,
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=signer.default_sign_headers(),
    )
    monkeypatch.undo()
    lines = [line.strip() for line in header.decode("ascii").partition(":")[2].strip().splitlines()]
    return "\n\t".join(line for line in lines if line)


#: Shapes the canonicalisation must get right: folded and repeated headers, whitespace runs and
#: trailing whitespace in the body, trailing empty lines, no final line end, an empty body,
#: a bare CR, LF line ends, a header-only message.
AWKWARD = [
    RAW,
    RAW.replace(b"Subject: Trip", b"Subject:   Trip\r\n\t to  the\r\n   zoo  "),
    RAW.replace(b"To: parent@home.test", b"To: a@home.test\r\nCc: b@home.test\r\nTo: c@home.test"),
    RAW.replace(b"See you at 9.\r\n", b"See  you\tat 9.  \r\n\t\r\n  indented\r\n\r\n\r\n"),
    RAW.replace(b"See you at 9.\r\n", b"no final line end"),
    RAW.replace(b"See you at 9.\r\n", b""),
    RAW.replace(b"See you at 9.\r\n", b"\r\n\r\n\r\n"),
    RAW.replace(b"See you at 9.\r\n", b"a bare\rCR\r\r\n"),
    RAW.replace(b"\r\n", b"\n"),
    RAW.split(b"\r\n\r\n")[0] + b"\r\n",
    RAW.replace(
        b"Subject: Trip", b"Reply-To: office@oakfield.example\r\nList-Id: <trips.oakfield.example>\r\nSubject: Trip"
    ),
]


def test_signature_is_byte_for_byte_dkimpys(keypair: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenSSL signs, dkimpy canonicalises: PKCS#1 v1.5 is deterministic, so with the same t=
    the whole header must equal dkimpy's, over awkward shapes and the real fixture mail."""
    key, _ = keypair
    loaded = load_key("oakfield.example", "s1", str(key), "t")
    fixtures = sorted((Path(__file__).parent / "fixtures" / "eml").glob("*.eml"))
    assert len(fixtures) > 10
    for message in [*AWKWARD, *(f.read_bytes() for f in fixtures)]:
        if b"\nfrom:" not in b"\n" + message.split(b"\n\n")[0].split(b"\r\n\r\n")[0].lower():
            continue  # no From: dkimpy refuses, and so do we (the transform never asks)
        assert sign(message, loaded, now=1_790_000_000) == dkimpy_signature(
            message, loaded, 1_790_000_000, monkeypatch
        ), message[:200]
    with pytest.raises(dkimpy.ParameterError):
        sign(b"To: parent@home.test\r\n\r\nno from\r\n", loaded)


@pytest.mark.skipif(not opendkim.available(), reason="opendkim-testmsg or unshare unavailable (make test installs it)")
def test_opendkim_verifies_what_we_sign(keypair: tuple[Path, bytes], tmp_path: Path) -> None:
    """An independent verifier (OpenDKIM, C) accepts our signatures, on the awkward shapes and on
    mail the engine changed (disclaimer) and signed; and rejects a changed body or a wrong key."""
    key, record = keypair
    loaded = load_key("oakfield.example", "s1", str(key), "t")
    name = "s1._domainkey.oakfield.example"
    # Not here: a repeated To (OpenDKIM refuses the message as a syntax error before verifying)
    # and a bare CR in the body (OpenDKIM and dkimpy canonicalise it differently; Postfix
    # delivers what it was given, so no signer can satisfy both).
    for message in (m for i, m in enumerate(AWKWARD) if i not in (2, 7)):
        crlf = message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        signed = b"DKIM-Signature: " + sign(message, loaded).replace("\n", "\r\n").encode() + b"\r\n" + crlf
        assert opendkim.verify(signed, name, record) == (0, ""), message[:200]
    rs = ruleset(with_key(key))
    letter = (Path(__file__).parent / "fixtures" / "eml" / "attach_minutes_pdf_clean.eml").read_bytes()
    # OpenDKIM refuses (as a syntax error) a message without the Date RFC 5322 requires.
    letter = b"Date: Mon, 16 Nov 2026 10:00:00 +0000\r\n" + letter.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    for raw in (RAW, letter):
        out = apply_effects(raw, evaluate(OUT, MessageView(raw), rs).effects)
        assert out.startswith(b"DKIM-Signature:") and b"Oakfield Primary School, part of" in out
        assert opendkim.verify(out, name, record) == (0, "")
        status, why = opendkim.verify(
            out.replace(b"Oakfield Primary School, part of", b"Oakfield Primary School, not of"), name, record
        )
        assert status != 0 and "Bad signature" in why
    _, other = make_key(tmp_path, 1024)
    assert opendkim.verify(out, name, other)[0] != 0
