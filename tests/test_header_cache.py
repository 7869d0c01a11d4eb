"""Header values parsed once: the same answers as the standard library's policy.default."""

from __future__ import annotations

import email
import email.policy
from email.message import Message
from pathlib import Path

import pytest

from aupmilter import message as message_module
from aupmilter.message import MessageView

FIXTURES = Path(__file__).parent / "fixtures"
MAILS = sorted(FIXTURES.rglob("*.eml"))
STDLIB = email.policy.default.clone(max_line_length=0)


def _facts(msg: Message) -> list[object]:
    out: list[object] = []
    for part in msg.walk():
        out.append(
            (
                part.get_content_type(),
                part.get_content_charset(),
                part.get_filename(),
                part.get_content_disposition(),
                part.get_params(),
                [(k, str(v)) for k, v in part.items()],
                [(k, [f"{type(d).__name__}: {d}" for d in getattr(v, "defects", ())]) for k, v in part.items()],
            )
        )
    return out


@pytest.mark.parametrize("path", MAILS[::3], ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_header_reads_as_the_standard_library_reads_it(path: Path) -> None:
    raw = path.read_bytes()
    ours = MessageView(raw).msg
    theirs = email.message_from_bytes(raw, policy=STDLIB)
    assert _facts(ours) == _facts(theirs)
    assert _facts(ours) == _facts(MessageView(raw).msg)  # the second reading comes from the cache


def test_a_value_is_parsed_once_and_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(message_module, "HEADER_CACHE_SIZE", 3)
    monkeypatch.setattr(message_module, "_HEADER_CACHE", {})
    raw = b'From: a@b.test\r\nContent-Type: text/plain; charset="utf-8"\r\n\r\nhello\r\n'
    view = MessageView(raw)
    assert view.msg["Content-Type"] is view.msg["Content-Type"]
    assert view.msg.get_content_charset() == "utf-8"
    for n in range(10):
        view = MessageView(f"Subject: s{n}\r\nContent-Type: text/plain; name=n{n}\r\n\r\nx\r\n".encode())
        assert view.msg["Subject"] == f"s{n}" and view.msg.get_param("name") == f"n{n}"
    assert len(message_module._HEADER_CACHE) <= 3
    assert all(name.lower() == "content-type" for name, _ in message_module._HEADER_CACHE)  # no subjects kept
