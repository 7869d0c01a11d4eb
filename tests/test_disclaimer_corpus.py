"""Round-trip invariants of the disclaimer and DKIM signing over real message corpora, through the
CLI path an admin uses (``aupmilter check --emit DIR --config FILE``).

Corpora: CPython's email test messages (always on this machine) and ../shared/data/mime-dev
(skipped when absent).  Each message is sent as a staff member's outbound mail with CRLF line
ends (as Postfix hands it to the milter).  For every message that gets the disclaimer:

* the output parses with no defect the input did not have;
* every part other than the body text decodes byte-identical, in the same order (a wrapped
  message: the disclaimer part, then exactly the original leaves);
* each changed text part is the original text, unchanged, plus the disclaimer exactly once;
  text parts that were not changed have no disclaimer added;
* the DKIM signature we added verifies with dkimpy (DNS stubbed with our public key);
* a second pass changes nothing: same body bytes, no second disclaimer, no second signature,
  and the first signature still verifies.

Messages that are left alone must be byte-identical in the body and are listed in
``EXPECTED_SKIPS`` with the reason; an unexpected skip or an unexpected rewrite fails.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import re
import subprocess
import sys
from email.message import Message
from pathlib import Path

import dkim as dkimpy
import pytest

from aupmilter.config import load_config

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "mime-dev"
SENDER = "t@oakfield.example"
MARK_TEXT = "Oakfield Primary School, part of"
MARK_HTML = 'class="aup-disclaimer"'

_BROKEN = "broken MIME structure: clients disagree where parts start and end"
#: Messages the gateway must leave untouched, and why (file names as prepared below).
EXPECTED_SKIPS: dict[str, str] = {
    # CPython test_email corpus
    "cpython__msg_15.txt": _BROKEN + " (StartBoundaryNotFound)",
    "cpython__msg_17.txt": _BROKEN + " (multipart without its boundary)",
    "cpython__msg_19.txt": _BROKEN + " (header block runs into the body)",
    "cpython__msg_25.txt": _BROKEN + " (multipart without a boundary parameter)",
    "cpython__msg_31.txt": _BROKEN + " (StartBoundaryNotFound)",
    "cpython__msg_33.txt": "multipart/signed: a disclaimer would break the signature",
    "cpython__msg_35.txt": _BROKEN + " (header block runs into the body)",
    "cpython__msg_38.txt": _BROKEN + " (nested multipart never closed)",
    "cpython__msg_39.txt": _BROKEN + " (StartBoundaryNotFound)",
    "cpython__msg_41.txt": _BROKEN + " (multipart without a boundary parameter)",
    "cpython__msg_42.txt": _BROKEN + " (StartBoundaryNotFound)",
    "cpython__msg_45.txt": "multipart/signed: a disclaimer would break the signature",
    "cpython__msg_47.txt": _BROKEN + " (header block runs into the body)",
    # ../shared/data/mime-dev
    "flanker__enclosed-broken.eml": _BROKEN + " (closing boundary missing)",
    "flanker__enclosed-endless.eml": "mime.limits: too deeply nested to inspect, quarantined, never leaves",
    "flanker__false-multipart.eml": _BROKEN + " (multipart with no parts)",
    "flanker__mailformed-headers.eml": _BROKEN + " (multipart with no parts)",
    "flanker__missing-final-boundary.eml": _BROKEN + " (closing boundary missing)",
    "flanker__signed.eml": "multipart/signed: a disclaimer would break the signature",
    "mail-parser__mail_malformed_1": _BROKEN + " (StartBoundaryNotFound)",
    "mail-parser__mail_malformed_2": _BROKEN + " (StartBoundaryNotFound)",
    "mail-parser__mail_malformed_3": _BROKEN + " (StartBoundaryNotFound)",
    "mail-parser__mail_outlook_1": "not MIME: an Outlook .msg file",
    "mail-parser__mail_test_17": _BROKEN + " (closing boundary missing)",
    "mail-parser__mail_test_6": _BROKEN + " (multipart with a base64 transfer encoding)",
    "pymilter__bounce1": _BROKEN + " (StartBoundaryNotFound)",
    "pymilter__bound": _BROKEN + " (closing boundary missing)",
    "pymilter__test8": _BROKEN + " (StartBoundaryNotFound)",
}


def corpus() -> list[tuple[str, Path]]:
    import test as cpython_test

    data = Path(cpython_test.__file__).parent / "test_email" / "data"
    files = [(f"cpython__{p.name}", p) for p in sorted(data.glob("msg_*.txt"))]
    if SHARED.is_dir():
        for p in sorted(SHARED.rglob("*")):
            if not p.is_file() or p.suffix in (".zip", ".py", ".txt") or p.name.isupper() or "LICENSE" in p.name:
                continue
            files.append((f"{p.relative_to(SHARED).parts[0]}__{p.name}", p))
    return files


def prepare(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw.startswith(b"From "):
        raw = raw.split(b"\n", 1)[1]  # mbox separator line, not part of the message
    while raw[:1] in (b" ", b"\t") and b"\n" in raw and not raw.split(b"\n", 1)[0].strip():
        raw = raw.split(b"\n", 1)[1]  # some flanker fixtures start with a line of spaces
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.fixture(scope="module")
def keypair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    d = tmp_path_factory.mktemp("dkim")
    key = d / "oak.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    key.chmod(0o600)
    der = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"], check=True, capture_output=True
    ).stdout
    return key, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def config_file(directory: Path, key: Path) -> Path:
    """The shipped demo config, only the disclaimer check on (so no verdict of another check
    stops a message from leaving), and a DKIM key for oakfield.example."""
    text = Path(load_config(None).source).read_text()
    for name in ("personal", "attachments", "offensive", "chain_letter"):
        text += f"\n[checks.{name}]\nenabled = false\n"
    text += f'\n[dkim."oakfield.example"]\nselector = "s1"\nkey_file = "{key}"\n'
    # The gateway's marker key (aupmilter run creates it): without it, check's markers are bare
    # and a second pass does not believe them.
    marker_key = directory / "marker.key"
    marker_key.write_text("ab" * 32 + "\n")
    text += f'\n[checks.disclaimer]\nmarker_key_file = "{marker_key}"\n'
    path = directory / "aupmilter.toml"
    path.write_text(text)
    return path


def run_check(config: Path, src: Path, out: Path) -> dict[str, dict[str, object]]:
    args = ["check", "--json", "--config", str(config), "--emit", str(out), "--direction", "outbound"]
    args += ["--sender", SENDER, "--rcpt", "parent@home.test", str(src)]
    done = subprocess.run([sys.executable, "-m", "aupmilter.cli", *args], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    results = [json.loads(line) for line in done.stdout.splitlines()]
    return {Path(str(r["file"])).name: r for r in results}


def parse(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def defects(raw: bytes) -> set[str]:
    return {type(d).__name__ for part in parse(raw).walk() for d in part.defects}


def leaves(raw: bytes) -> list[Message]:
    return [p for p in parse(raw).walk() if not p.is_multipart()]


def payload(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def text_of(part: Message) -> str:
    charset = part.get_content_charset() or "us-ascii"
    try:
        return payload(part).decode(charset, "surrogateescape")
    except (LookupError, UnicodeDecodeError):
        return payload(part).decode("ascii", "surrogateescape")


def is_body_text(part: Message) -> bool:
    disposition = part.get_content_disposition()
    return part.get_content_type() in ("text/plain", "text/html") and disposition != "attachment"


def body(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[-1]


def without_verdict(raw: bytes) -> bytes:
    """``raw`` less the verdict headers every message gets (they say what was decided)."""
    lines = raw.split(b"\r\n")
    return b"\r\n".join(x for x in lines if not x.startswith((b"X-AUP-Verdict:", b"X-AUP-Findings:"))).rstrip(b"\r\n")


def check_changed_text(name: str, before: Message, after: Message) -> None:
    """``after`` is ``before``'s text, unchanged, plus the disclaimer exactly once.

    Line ends compare equal as LF or CRLF: text line breaks are CRLF in canonical form (RFC 2046
    4.1.1), and a quoted-printable ``=0A`` re-encoded as a literal line break is the same text."""
    old, new = text_of(before).replace("\r\n", "\n"), text_of(after).replace("\r\n", "\n")
    if after.get_content_type() == "text/plain":
        assert new.count(MARK_TEXT) == old.count(MARK_TEXT) + 1, name
        kept = old.rstrip("\r\n")
        assert new.startswith(kept), name
        assert MARK_TEXT in new[len(kept) :], name
    else:
        assert new.count(MARK_HTML) == old.count(MARK_HTML) + 1, name
        start = new.index('<div class="aup-disclaimer"')
        end = new.index("</div>", start) + len("</div>")
        left = new[:start]
        while left + new[end:] != old and (closer := re.search(r"</[A-Za-z0-9]+>\Z", left)):
            left = left[: closer.start()]  # end tags we added to close containers left open
        assert left + new[end:] == old, name


def test_corpus_round_trip_through_cli(tmp_path: Path, keypair: tuple[Path, bytes]) -> None:
    key, record = keypair

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == b"s1._domainkey.oakfield.example." else None

    src, out, again = tmp_path / "in", tmp_path / "out", tmp_path / "again"
    src.mkdir()
    for name, path in corpus():
        (src / name).write_bytes(prepare(path))
    config = config_file(tmp_path, key)
    first = run_check(config, src, out)
    second = run_check(config, out, again)

    rewritten: list[str] = []
    skipped: dict[str, str] = {}
    for name in sorted(first):
        raw, emitted = (src / name).read_bytes(), (out / name).read_bytes()
        if b"\r\nX-AUP-Disclaimer: oakfield.example; v=1; mac=" not in emitted.split(b"\r\n\r\n", 1)[0]:
            rules = [str(f["rule"]) for f in first[name]["findings"]]  # type: ignore[attr-defined]
            skipped[name] = ", ".join(rules) or str(first[name]["action"])
            assert without_verdict(emitted) == raw.rstrip(b"\r\n"), name  # left alone: byte-identical
            assert b"d=oakfield.example;" not in emitted[: emitted.find(b"\r\n\r\n")], name
            continue
        rewritten.append(name)
        assert defects(emitted) <= defects(raw), (name, defects(emitted) - defects(raw))
        old, new = leaves(raw), leaves(emitted)
        boundary = parse(emitted).get_boundary() or ""
        if boundary.startswith("=_aup_") and boundary not in raw.decode("ascii", "replace"):  # wrapped
            assert MARK_TEXT in text_of(new[0]), name
            # The original entity, byte for byte: its MIME headers, then its body exactly.
            _, note, entity, end = body(emitted).split(b"\r\n--" + boundary.encode())
            assert end == b"--\r\n" and MARK_TEXT.encode() in note, name
            assert entity.endswith(b"\r\n" + body(raw)) or body(raw) == b"", name
            assert parse(entity.lstrip(b"\r\n")).get_content_type() == parse(raw).get_content_type(), name
        else:
            assert len(new) == len(old), name
            changed = [(a, b) for a, b in zip(old, new, strict=True) if payload(a) != payload(b)]
            assert 1 <= len(changed) <= 2, name
            for before, after in changed:
                assert is_body_text(before), (name, before.get_content_type())
                check_changed_text(name, before, after)
            assert len({b.get_content_type() for _, b in changed}) == len(changed), name  # one per alternative
            for a, b in zip(old, new, strict=True):
                if payload(a) == payload(b) and is_body_text(b):
                    assert text_of(a).count(MARK_TEXT) == text_of(b).count(MARK_TEXT), name
        if not re.search(rb"(^|\r\n)from:", emitted[: emitted.find(b"\r\n\r\n")], re.IGNORECASE):
            assert b"DKIM-Signature" not in emitted, name  # DKIM needs a From to sign
            continue
        assert dkimpy.verify(emitted, dnsfunc=dns), name
        # Second pass: nothing more is added, and our signature still verifies.
        twice = (again / name).read_bytes()
        assert body(twice) == body(emitted), name
        head = twice[: twice.find(b"\r\n\r\n")]
        assert head.count(b"d=oakfield.example;") == 1 and head.count(b"X-AUP-Disclaimer:") == 1, name
        assert dkimpy.verify(twice, dnsfunc=dns), name
        assert not [f for f in second[name]["findings"] if str(f["rule"]).startswith("disclaimer")], name  # type: ignore[attr-defined]

    expected = {n: why for n, why in EXPECTED_SKIPS.items() if n in first}
    assert set(skipped) == set(expected), {
        "unexpected skips": {n: skipped[n] for n in set(skipped) - set(expected)},
        "expected but rewritten": sorted(set(expected) - set(skipped)),
    }
    # Every skip is explained by a finding: the check tells why the disclaimer is missing.
    for n in skipped:
        assert skipped[n].startswith(("disclaimer.skipped", "mime.limits")), (n, skipped[n])
    assert len(rewritten) >= (100 if SHARED.is_dir() else 35), len(rewritten)
