"""One split of each text part into own / quoted / forwarded text, shared by the checks."""

from __future__ import annotations

from aupmilter.message import MessageView
from aupmilter.quoting import OWN, QUOTED, split_quoted

REPLY = (
    b"From: parent@home.test\r\nTo: teacher@oakfield.example\r\nSubject: Re: trip\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    b"Thank you, she will bring a coat.\r\n\r\nOn Mon, 2 Mar 2026, Ms Hartley wrote:\r\n> Please send a coat.\r\n"
)


def test_a_part_is_split_once_and_as_split_quoted_splits_it() -> None:
    view = MessageView(REPLY)
    [part] = view.text_parts
    segments = view.quoted_segments(part)
    assert segments == split_quoted(part.text)
    assert [kind for kind, _ in segments] == [OWN, QUOTED]
    assert view.quoted_segments(part) is segments
