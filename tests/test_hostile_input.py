"""Hostile input never escapes as an exception: malformed mail becomes findings (issue 12).

The engine runs with every registered check, so this also covers checks added later.  A per-test
timeout (pytest-timeout) guards against hangs; there are no timing assertions.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aupmilter.config import load_config
from aupmilter.engine import evaluate
from aupmilter.message import MessageView
from aupmilter.model import Action, Envelope
from aupmilter.render import apply_effects
from aupmilter.ruleset import build_ruleset

RULESET = build_ruleset(load_config(None))
INBOUND = Envelope("x@outside.test", ("t@oakfield.example",), client_addr="198.51.100.1")
OUTBOUND = Envelope("t@oakfield.example", ("x@outside.test",), client_addr="10.1.1.1")


def check(raw: bytes) -> None:
    for env in (INBOUND, OUTBOUND):
        message = MessageView(raw)
        decision = evaluate(env, message, RULESET)
        out = apply_effects(raw, decision.effects)
        MessageView(out).text_parts  # the rewritten message parses again  # noqa: B018


def head(extra: str = "") -> str:
    return f"From: x@outside.test\r\nTo: t@oakfield.example\r\nSubject: test\r\n{extra}MIME-Version: 1.0\r\n"


@pytest.mark.timeout(120)
def test_ten_thousand_parts() -> None:
    parts = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n" for i in range(10_000))
    raw = (head() + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + parts + "--b--\r\n").encode()
    d = evaluate(INBOUND, MessageView(raw), RULESET)
    assert any(f.rule == "mime.limits" for f in d.findings)
    assert d.action >= Action.QUARANTINE  # too complex to inspect: held, not waved through


@pytest.mark.timeout(60)
def test_hundred_level_nested_attached_messages() -> None:
    inner = "Content-Type: text/plain\r\n\r\ninnermost\r\n"
    for _ in range(100):
        inner = "Content-Type: message/rfc822\r\n\r\nSubject: fwd\r\n" + inner
    raw = (head() + inner).encode()
    check(raw)
    d = evaluate(INBOUND, MessageView(raw), RULESET)
    assert any(f.rule == "mime.limits" for f in d.findings)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(
            (head("X-Long: " + "a" * 1_000_000 + "\r\n") + "\r\nbody\r\n").encode(),
            id="1MB-header-line",
        ),
        pytest.param(
            b"From: a\x00b@x.test\r\nSubject: \xff\xfe\x00bad\r\nTo: t@oakfield.example\r\n\r\nbody\x00\r\n",
            id="NUL-invalid-utf8",
        ),
        pytest.param(
            (head() + "Content-Type: text/plain; charset=x-no-such-charset\r\n\r\nhello\r\n").encode(),
            id="bogus-charset",
        ),
        pytest.param(
            (
                head()
                + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: application/octet-stream; name="x.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!not*base64~~~\r\n--b--\r\n'
            ).encode(),
            id="base64-garbage",
        ),
        pytest.param(
            (
                head()
                + 'Content-Type: multipart/mixed; boundary="a"\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary="a-b"\r\n\r\n--a-b\r\n--a\r\nContent-Type: text/plain\r\n\r\nx\r\n--a-b--\r\n--a--\r\n'
            ).encode(),
            id="overlapping-boundaries",
        ),
        pytest.param(
            (
                head()
                + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: application/pdf; name="'
                + "A" * 70_000
                + '.pdf"\r\n\r\n%PDF-1.4\r\n--b--\r\n'
            ).encode(),
            id="huge-filename",
        ),
        pytest.param(b"\r\n\r\n\r\n", id="empty-headers"),
        pytest.param(b"", id="empty"),
        # Found by the fuzzer: a NUL inside the charset name made the codec lookup raise.
        pytest.param(b'Content-Type: text/plain; charset="utf\x00-8"\r\n\r\nhi\r\n', id="nul-in-charset"),
        # Found by the fuzzer: get_content_charset() raises on a NUL in an encoded charset parameter.
        pytest.param(
            b"Content-Type: text/plain; charset*=utf\x00-8''x\r\n\r\nhi\r\n", id="nul-in-encoded-charset-param"
        ),
        # Found by the fuzzer: CPython's header parser raises on a NUL in an RFC 2231 charset.
        pytest.param(
            b"Content-Type: multipart/mixed; boundary*=utf\x00-8''b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
            id="nul-in-rfc2231-charset",
        ),
        pytest.param(b"Subject: =?utf-8?b?////?= =?x-unknown?q?=FF?=\r\n\r\n", id="broken-encoded-words"),
        pytest.param(
            (
                head() + "Content-Type: text/html\r\n\r\n<html><script>" + "<" * 100_000 + "</script><p>hi</body>"
            ).encode(),
            id="broken-html",
        ),
    ],
)
def test_fixed_hostile_cases(raw: bytes) -> None:
    check(raw)


def test_unparseable_structure_is_held_not_accepted() -> None:
    raw = b"Content-Type: multipart/mixed; boundary*=utf\x00-8''b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n"
    d = evaluate(INBOUND, MessageView(raw), RULESET)
    assert [f.rule for f in d.findings if f.rule.startswith("mime.")] == ["mime.limits"]
    assert d.action is Action.QUARANTINE


@pytest.mark.timeout(300)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    check(raw)


_header_names = st.sampled_from(
    [
        "Subject",
        "From",
        "To",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "Sensitivity",
        "X-AUP-Verdict",
        "MIME-Version",
    ]
)
_header_values = st.text(max_size=200).map(lambda s: s.replace("\r", "").replace("\n", " "))


@pytest.mark.timeout(300)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    headers=st.lists(st.tuples(_header_names, _header_values), max_size=12),
    body=st.binary(max_size=2048),
    boundary=st.text(alphabet="abc-=_'", min_size=1, max_size=8),
)
def test_structured_mime_never_raises(headers: list[tuple[str, str]], body: bytes, boundary: str) -> None:
    block = "".join(f"{k}: {v}\r\n" for k, v in headers).encode("utf-8", "surrogateescape")
    multipart = (
        (
            f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n--{boundary}\r\n'
            'Content-Type: application/octet-stream; name="a.exe"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        ).encode()
        + base64.b64encode(body)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    check(block + b"\r\n" + body)
    check(block + multipart)


def test_cpython_email_corpus_never_raises() -> None:
    import test as cpython_test

    data = Path(cpython_test.__file__).parent / "test_email" / "data"
    files = sorted(data.glob("msg_*.txt"))
    if not files:
        pytest.skip("CPython's test_email corpus is not installed")
    for f in files:
        check(f.read_bytes())


def test_shared_mime_corpus_never_raises(shared_data: Path) -> None:
    files = [
        p
        for p in (shared_data / "mime-dev").rglob("*")
        if p.is_file()
        and p.suffix not in (".zip", ".py", ".txt")
        and "LICENSE" not in p.name
        and "COPYING" not in p.name
    ]
    assert files
    for f in files:
        check(f.read_bytes())
