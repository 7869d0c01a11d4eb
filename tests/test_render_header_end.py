"""``render.header_end`` looks for the blank line in a window first: the same answer as a search
of the whole message, whatever mix of line ends the message has.

The reference is the search it replaced (each style looked for over the whole message, the LF
one only before the CRLF one).  The window is made small here so that blank lines fall before,
across and after its edge, and lines of either style on either side of it.
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from aupmilter import render

FIXTURES = Path(__file__).parent / "fixtures"


def _reference(raw: bytes) -> tuple[bytes, bytes, int]:
    crlf = raw.find(b"\r\n\r\n")
    lf = raw.find(b"\n\n", 0, crlf) if crlf != -1 else raw.find(b"\n\n")
    if lf != -1:
        return raw[:lf], b"\n", lf + 2
    if crlf != -1:
        return raw[:crlf], b"\r\n", crlf + 4
    eol = b"\r\n" if b"\r\n" in raw else b"\n"
    return raw.rstrip(b"\r\n"), eol, len(raw)


def _texts() -> list[bytes]:
    """Every length-0..9 string over the bytes that matter (and one that does not)."""
    out = []
    for n in range(10):
        out += [bytes(p) for p in itertools.product(b"\r\nx", repeat=n)]
    return out


@pytest.mark.parametrize("window", [1, 2, 3, 4, 5, 6, 7])
def test_every_short_message_against_the_reference(window: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "HEADER_WINDOW", window)
    for raw in _texts():
        assert render.header_end(raw) == _reference(raw), (window, raw)


def test_random_mixed_line_ends_against_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(24)
    pieces = [b"Subject: x", b"\r\n", b"\n", b"\r", b"\r\n\r\n", b"\n\n", b"body", b"=" * 70]
    for _ in range(20_000):
        monkeypatch.setattr(render, "HEADER_WINDOW", rng.randint(1, 120))
        raw = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        assert render.header_end(raw) == _reference(raw), raw


def test_fixture_messages_in_both_line_end_styles() -> None:
    messages = [p.read_bytes() for p in sorted(FIXTURES.rglob("*.eml"))]
    assert len(messages) > 100
    for raw in messages:
        for form in (raw, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")):
            assert render.header_end(form) == _reference(form)


def test_a_header_block_longer_than_the_window_is_still_found() -> None:
    headers = b"".join(b"Received: from relay%d.example by mx.example\n" % i for i in range(3000))
    assert len(headers) > render.HEADER_WINDOW
    for eol in (b"\n", b"\r\n"):
        raw = headers.replace(b"\n", eol) + eol + b"body" + eol
        block, found_eol, start = render.header_end(raw)
        assert (found_eol, raw[start:]) == (eol, b"body" + eol)
        assert block == headers.replace(b"\n", eol)[: -len(eol)]


def test_an_lf_message_with_a_large_body_splits_at_its_blank_line() -> None:
    raw = b"From: a@example.org\nSubject: minutes\n\n" + b"QUJD\n" * 600_000
    assert render.split_message(raw) == (b"From: a@example.org\nSubject: minutes", b"\n", b"QUJD\n" * 600_000)
