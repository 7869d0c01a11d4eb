"""Issue 24, fourth pass: the outbound path's speed-ups change no byte.

The modules as they were (``tests/outbound_reference``, read from git history) run beside the
shipped ones over every ``.eml`` fixture under tests/, the benchmark corpus (``bench/corpus.py``)
and generated edge cases (CRLF and LF, trailing whitespace lines, empty body, no final newline,
no header/body separator, nested multiparts, large base64 bodies with every padding, boundaries
in odd places), each as it is and with CRLF line ends (what Postfix hands the milter).  Compared:
the effects of the outbound transforms (disclaimer with its MAC'd marker, the DKIM-Signature
value: RSA PKCS#1 v1.5 is deterministic and ``t=`` is pinned) and the message they make, the
repeat counter's body digest, and each helper the fast paths replaced.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import secrets
import subprocess
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bench.corpus import build, letter

from aupmilter import dkim, elision, marker, ratewindow, render
from aupmilter.config import load_config, parse_config
from aupmilter.engine import Ruleset, Transform, outgoing_effects
from aupmilter.message import MessageView
from aupmilter.model import Action, Decision, Direction, Envelope, ReplaceBody
from aupmilter.ruleset import build_ruleset
from aupmilter.transforms import DisclaimerTransform, DkimTransform
from tests import outbound_reference as old

TESTS = Path(__file__).parent
ENVELOPE = Envelope(
    "teacher@oakfield.example", ("parent@home.test",), auth_user="teacher", direction=Direction.OUTBOUND
)


def _crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _b64(size: int, seed: int, width: int = 76, eol: bytes = b"\n") -> bytes:
    """Base64 of ``size`` random bytes in lines of ``width`` characters (``size % 3`` sets the padding)."""
    text = base64.b64encode(random.Random(seed).randbytes(size))
    return b"".join(text[i : i + width] + eol for i in range(0, len(text), width))


def _generated() -> Iterator[tuple[str, bytes]]:
    head = b"From: Ms Teacher <teacher@oakfield.example>\nTo: parent@home.test\nSubject: Letter\n"
    mime = head + b"MIME-Version: 1.0\n"
    yield "empty body", head + b"\n"
    yield "no final newline", head + b"\nHello there"
    yield "no separator", head + b"X-Last: 1"
    yield "no separator, no newline", b"From: teacher@oakfield.example\nSubject: x"
    yield "only CR at the end", b"From: teacher@oakfield.example\r\r"
    yield "starts with a blank line", b"\nFrom: teacher@oakfield.example\n\nbody\n"
    yield "trailing whitespace lines", head + b"\nHello  \n\t\n   \n\n\n"
    yield "only blank lines", head + b"\n\n\n\n"
    yield "many blank lines, then more than the elision threshold", head + b"\n" * 10_000 + b"-" * 160_000 + b"\n"
    yield "a short run, then a long one", head + b"\nAAAA\n\n\n" + b"-\n\n" + _b64(160_000, 18)
    yield "tabs and double spaces", head + b"\nA\tb  c   d \nnext\t\n\n"
    yield "stray CR", head + b"\nline\r\r\nbare\rcr\nend \r\n\r\n"
    yield "mixed endings", head.replace(b"\n", b"\r\n") + b"\r\nfirst\nsecond\r\nthird\n"
    yield "LF blank line before a CRLF one", b"From: teacher@oakfield.example\nX: a\n\nb\r\n\r\nc\r\n"
    yield "CRLF blank line right after LF", b"From: teacher@oakfield.example\n\r\n\r\nbody\n"
    yield "LF blank line touching a CRLF one", b"From: teacher@oakfield.example\n\n\r\n\r\nbody\r\n"
    yield (
        "QP soft breaks",
        (
            mime + b"Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n"
            b"soft=\nbreak ==\n\nand =\r\nthis=3D\n=\n"
        ),
    )
    yield (
        "content-id and cid",
        (
            mime + b'Content-Type: multipart/related; boundary="rel"\n\n--rel\nContent-Type: text/html\n\n'
            b'<img src="cid:logo@x"> <b>hi</b>\n--rel\nContent-Type: image/png\nContent-ID: <logo@x\n'
            b" continued>\nContent-Transfer-Encoding: base64\n\n" + _b64(300, 1) + b"--rel--\n"
        ),
    )
    for pad in (0, 1, 2):  # 3n, 3n+1, 3n+2 bytes: no "=", "==", "="
        size = 160_000 + pad
        yield (
            f"pdf attachment, padding {pad}",
            (
                mime + b'Content-Type: multipart/mixed; boundary="b1"\n\n--b1\nContent-Type: text/plain\n\n'
                b"Please find the letter attached.\n\n--b1\nContent-Type: application/pdf; name=a.pdf\n"
                b"Content-Disposition: attachment; filename=a.pdf\nContent-Transfer-Encoding: base64\n\n"
                + _b64(size, pad)
                + b"\n--b1--\n"
            ),
        )
    run = _b64(170_001, 7)
    yield (
        "run at the very end, no closing boundary",
        (
            mime + b'Content-Type: multipart/mixed; boundary="b2"\n\n--b2\nContent-Type: text/plain\n\nhi\n'
            b"--b2\nContent-Type: application/zip\nContent-Transfer-Encoding: base64\n\n" + run.rstrip(b"\n")
        ),
    )
    yield (
        "run followed by blank lines and text",
        (
            mime + b'Content-Type: multipart/mixed; boundary="b3"\n\n--b3\nContent-Type: text/plain\n\nhi  \n'
            b"--b3\nContent-Type: application/zip\nContent-Transfer-Encoding: base64\n\n"
            + run
            + b"\n\n\ntrailing  text\t\n--b3--\n\n\n"
        ),
    )
    yield (
        "boundary straight after the run",
        (
            mime + b'Content-Type: multipart/mixed; boundary="=_b4="\n\n--=_b4=\nContent-Type: text/plain\n\n'
            b"the boundary =_b4= in text, oundary=x and --=_b4 in the body\n--=_b4=\nContent-Type: image/jpeg\n"
            b"Content-Transfer-Encoding: base64\n\n" + _b64(200_000, 8) + b"--=_b4=--\n"
        ),
    )
    yield (
        "last line all padding",
        (
            mime + b'Content-Type: multipart/mixed; boundary="b5"\n\n--b5\nContent-Type: text/plain\n\nx\n'
            b"--b5\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
            + _b64(156_000, 9, width=64)
            + b"====\n--b5--\n"
        ),
    )
    yield (
        "single-part pdf",
        (mime + b"Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n" + _b64(180_000, 10)),
    )
    pdf = b"Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
    yield "soft break just before the run", mime + pdf + b"X-Pad: a==\n\n" + _b64(160_002, 15)
    yield "soft break and mixed ends before the run", mime + pdf + b"X-Pad: a==\r\n\n" + _b64(160_001, 16)
    yield (
        "Content-ID just before the run",
        (mime + pdf + b"Content-ID: <part\n\t@x>\n\n" + _b64(160_000, 17) + b"cid:after=\n\n"),
    )
    crlf_run = _b64(160_000, 11, eol=b"\r\n")
    line = crlf_run[780:858]  # the eleventh line: 76 characters and CRLF; its CR moved inside
    moved = line[:30] + b"\r" + line[30:76] + b"\n"
    yield (
        "CR inside a line of a CRLF run",
        (
            head.replace(b"\n", b"\r\n") + b'Content-Type: multipart/mixed; boundary="b6"\r\n\r\n--b6\r\n'
            b"Content-Type: text/plain\r\n\r\nhi\r\n--b6\r\nContent-Type: application/pdf\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + crlf_run[:780] + moved + crlf_run[858:] + b"--b6--\r\n"
        ),
    )
    yield (
        "nested multiparts and an attached message",
        (
            mime + b'Content-Type: multipart/mixed; boundary="outer"\n\n--outer\n'
            b'Content-Type: multipart/alternative; boundary="alt"\n\n--alt\nContent-Type: text/plain; charset=utf-8\n\n'
            b"Dear parents,  see below.\t\n\n--alt\nContent-Type: text/html\n\n<html><body><p>Dear parents</p>"
            b"</body></html>\n--alt--\n\n--outer\nContent-Type: message/rfc822\n\n"
            b'From: x@home.test\nSubject: inner\nContent-Type: multipart/mixed; boundary="inner"\n\n--inner\n'
            b"Content-Type: text/plain\n\ninner text\n--inner\nContent-Type: application/pdf\n"
            b"Content-Transfer-Encoding: base64\n\n" + _b64(165_000, 12) + b"--inner--\n\n--outer\n"
            b"Content-Type: application/pdf; name=b.pdf\nContent-Transfer-Encoding: base64\n\n"
            + _b64(158_000, 13)
            + b"--outer--\n"
        ),
    )
    yield (
        "signed",
        (
            mime + b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary="s"\n\n'
            b"--s\nContent-Type: text/plain\n\nsigned text\n--s\nContent-Type: application/pkcs7-signature\n"
            b"Content-Transfer-Encoding: base64\n\n" + _b64(600, 14) + b"--s--\n"
        ),
    )
    yield "already has a marker", head + b"X-AUP-Disclaimer: oakfield.example\n\nbody\n"


def _fixtures() -> list[tuple[str, bytes]]:
    return [(str(p.relative_to(TESTS)), p.read_bytes()) for p in sorted(TESTS.rglob("*.eml"))]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, bytes]]:
    work = tmp_path_factory.mktemp("corpus")
    bench = {**build(work / "bench"), "letter_6k": (letter(work), 0)}
    found = [(f"bench/{name}", path.read_bytes()) for name, (path, _) in bench.items()]
    found += [(f"generated: {name}", raw) for name, raw in _generated()]
    variants = []
    for name, raw in found + _fixtures():
        variants.append((name, raw))
        if _crlf(raw) != raw:
            variants.append((f"{name} (CRLF)", _crlf(raw)))
    return variants


@pytest.fixture(scope="module")
def ruleset(tmp_path_factory: pytest.TempPathFactory) -> Ruleset:
    work = tmp_path_factory.mktemp("keys")
    key = work / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    key.chmod(0o600)
    data = tomllib.loads(Path(load_config(None).source).read_text(encoding="utf-8"))
    data["dkim"] = {"oakfield.example": {"selector": "s1", "key_file": str(key)}}
    data.setdefault("checks", {}).setdefault("disclaimer", {})["marker_key_file"] = str(work / "marker.key")
    data.setdefault("tagging", {})["subject_prefix"] = "[AUP]"
    built = build_ruleset(parse_config(data, "outbound-equivalence.toml"))
    assert built.marker_key is not None
    built.marker_key.ensure()
    names = [type(t).__name__ for t in built.transforms]
    assert "DisclaimerTransform" in names and "DkimTransform" in names, names
    return built


def _old_transforms(ruleset: Ruleset) -> list[Transform]:
    made: list[Transform] = []
    for transform in ruleset.transforms:
        if isinstance(transform, DisclaimerTransform):
            made.append(old.transforms.DisclaimerTransform(transform.config, transform.settings, transform.marker_key))
        elif isinstance(transform, DkimTransform):
            made.append(old.transforms.DkimTransform(transform.settings, transform.keys))
        else:
            made.append(transform)
    return made


def test_the_reference_is_the_old_code() -> None:
    # The comparison means something only if the two differ where the speed-ups are.
    assert old.render.split_message.__code__ is not render.split_message.__code__
    assert old.transforms.rewrite is old.rewrite.rewrite
    assert old.transforms.sign is old.dkim.sign


def test_outbound_message_is_byte_identical(
    corpus: list[tuple[str, bytes]], ruleset: Ruleset, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "time", lambda: 1_790_000_000.0)  # DKIM t=: both sign at the same second
    monkeypatch.setattr(secrets, "token_hex", lambda n: "5e" * n)  # the boundary of a wrapped message
    reference = _old_transforms(ruleset)
    changed = signed = hinted = 0
    for name, raw in corpus:
        for action in (Action.ACCEPT, Action.TAG):
            decision = Decision(action=action, direction=Direction.OUTBOUND)
            new = outgoing_effects(ENVELOPE, MessageView(raw), decision, ruleset.config, ruleset.transforms)
            was = outgoing_effects(ENVELOPE, MessageView(raw), decision, ruleset.config, reference)
            assert new == was, f"{name} ({action}): effects differ"
            out = render.apply_effects(raw, new)
            assert out == old.render.apply_effects(raw, was), f"{name} ({action}): message differs"
            replaced = [e for e in new if isinstance(e, ReplaceBody)]
            changed += bool(replaced)
            signed += any(getattr(e, "name", "") == "DKIM-Signature" for e in new)
            for effect in replaced:
                _assert_opaque(name, effect)
                hinted += bool(effect.opaque)
    # The corpus exercises the paths: most messages get the disclaimer and a signature, and the
    # ones with large attachments have their bodies passed on as opaque spans.
    assert changed > len(corpus) and signed > len(corpus), (changed, signed, len(corpus))
    assert hinted >= 20, hinted


_BASE64 = re.compile(rb"[A-Za-z0-9+/=]")


def _assert_opaque(name: str, effect: ReplaceBody) -> None:
    """The promise of :data:`aupmilter.elision.Opaque`, checked the slow way."""
    cursor = 0
    for start, end in effect.opaque:
        assert cursor <= start < end <= len(effect.body), name
        span = effect.body[start:end]
        assert _BASE64.fullmatch(span[:1]) and _BASE64.fullmatch(span[-1:]), name
        eol = b"\r\n" if b"\r\n" in span else b"\n"
        for line in span.split(eol):
            assert re.fullmatch(rb"[A-Za-z0-9+/=]+", line), name
        cursor = end


def test_helpers_are_byte_identical(corpus: list[tuple[str, bytes]]) -> None:
    for name, raw in corpus:
        assert render.split_message(raw) == old.render.split_message(raw), name
        assert render.apply_effects(raw, ()) == old.render.apply_effects(raw, ()), name
        for header in ("From", "Subject", "Content-Type"):
            assert render.raw_header_value(raw, header) == old.render.raw_header_value(raw, header), name
        digest = old.ratewindow.body_digest(raw)
        assert ratewindow.body_digest(raw) == digest, name
        assert ratewindow.body_digest(raw, elision.elide(raw)) == digest, name  # as a worker computes it
        body = render.split_message(raw)[2]
        assert marker.canonical_body(body) == old.marker.canonical_body(body), name
        crlf = dkim._crlf(raw)[0]
        assert crlf == old.dkim._crlf(raw), name
        body = old.dkim._parse(crlf)[1]
        relaxed = old.dkim._relaxed_body(body)
        assert dkim._relaxed_body(body) == relaxed, name
        assert dkim._body_hash(crlf, dkim._parse(crlf)[1]) == hashlib.sha256(relaxed).digest(), name
        _assert_same_elision(name, raw)


def _assert_same_elision(name: str, raw: bytes) -> None:
    for min_bytes in (elision.ELIDE_MIN_BYTES, 150_000, 1_000):  # now, before issue 24's fourth pass, small
        _assert_same_elided(name, raw, elision.elide(raw, min_bytes), old.elision.elide(raw, min_bytes))


def _assert_same_elided(name: str, raw: bytes, new: elision.Elided | None, was: Any) -> None:
    if new is None or was is None:
        assert new is was, name
        return
    spans = [(e.start, e.end, e.crlf) for e in new.elisions.values()]
    assert spans == [(e.start, e.end, e.crlf) for e in was.elisions.values()], name
    text = new.text
    for (token, _), (other, _) in zip(new.elisions.items(), was.elisions.items(), strict=True):
        text = text.replace(token.encode(), other.encode())
    assert text == was.text, name


def test_every_fixture_is_compared(corpus: list[tuple[str, bytes]]) -> None:
    names = {name for name, _ in corpus}
    assert len(_fixtures()) > 500
    assert all(name in names for name, _ in _fixtures())
    assert {"bench/pdf_2m", "bench/pdf_100k", "bench/zip_200k", "bench/letter_6k"} <= names
