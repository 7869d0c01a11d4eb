"""Ambiguous MIME (issue 20): parser-differential messages never let an executable through.

Each case is built so that Python's parser and some mail client can disagree about which parts
exist, how a part is decoded, or what it is called.  Every case must be held inbound and refused
outbound (``mime.ambiguous``), and where the other reading can be constructed, the executable it
reveals is reported in its own right.  Ordinary mail (Outlook-style RFC 2231 names, continuations,
agreeing filename and name) raises nothing.
"""

from __future__ import annotations

import base64

import pytest

from aupmilter.ambiguity import _lenient_base64, analyse
from aupmilter.message import MessageView
from aupmilter.model import Action
from tests import attachment_builders as b
from tests.test_attachments import INBOUND, OUTBOUND, decide

PE = b.pe_bytes()
PE64 = base64.encodebytes(PE)
HEAD = b"From: x@outside.test\r\nTo: t@oakfield.example\r\nSubject: invoice\r\nMIME-Version: 1.0\r\n"


def _exe_part(headers: bytes, body: bytes = PE64) -> bytes:
    return headers + b"\r\n" + body + b"\r\n"


CASES: dict[str, bytes] = {
    # 1. Two boundary parameters: Python splits on the first, the executable sits behind the second.
    "duplicate-boundary": HEAD
    + b'Content-Type: multipart/mixed; boundary="AAA"; boundary="BBB"\r\n\r\n'
    + b"--AAA\r\nContent-Type: text/plain\r\n\r\nhello\r\n--AAA--\r\n--BBB\r\n"
    + _exe_part(b'Content-Type: application/octet-stream; name="setup.exe"\r\nContent-Transfer-Encoding: base64\r\n')
    + b"--BBB--\r\n",
    # 2. Two Content-Type headers: text/plain first (Python), multipart second (others).
    "duplicate-content-type": HEAD
    + b'Content-Type: text/plain\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
    + _exe_part(b'Content-Type: application/octet-stream; name="setup.exe"\r\nContent-Transfer-Encoding: base64\r\n')
    + b"--B--\r\n",
    # 3. Two Content-Transfer-Encoding headers: 7bit first (the PE stays base64 text), base64 second.
    "duplicate-cte": HEAD
    + b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--B\r\n'
    + _exe_part(
        b'Content-Type: application/octet-stream; name="report.dat"\r\nContent-Transfer-Encoding: 7bit\r\nContent-Transfer-Encoding: base64\r\n'
    )
    + b"--B--\r\n",
    # 4. A space before the colon: Python's header block ends there; lenient clients read on.
    "space-before-colon": HEAD
    + b'Content-Type : multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
    + _exe_part(b'Content-Type: application/octet-stream; name="setup.exe"\r\nContent-Transfer-Encoding: base64\r\n')
    + b"--B--\r\n",
    # 5. Two filename parameters: harmless first, executable second.
    "duplicate-filename": HEAD
    + b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
    + _exe_part(
        b'Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="invoice.pdf"; filename="invoice.exe"\r\nContent-Transfer-Encoding: base64\r\n',
        base64.encodebytes(b"%PDF-1.4 harmless\n"),
    )
    + b"--B--\r\n",
    # 6. filename (Content-Disposition) and name (Content-Type) disagree.
    "filename-vs-name": HEAD
    + b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
    + _exe_part(
        b'Content-Type: application/octet-stream; name="invoice.exe"\r\nContent-Disposition: attachment; filename="invoice.pdf"\r\nContent-Transfer-Encoding: base64\r\n',
        base64.encodebytes(b"%PDF-1.4 harmless\n"),
    )
    + b"--B--\r\n",
    # 7. RFC 2231 filename* and plain filename disagree.
    "filename-star-vs-plain": HEAD
    + b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
    + _exe_part(
        b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"invoice.pdf\"; filename*=UTF-8''invoice.scr\r\nContent-Transfer-Encoding: base64\r\n",
        base64.encodebytes(b"%PDF-1.4 harmless\n"),
    )
    + b"--B--\r\n",
    # 8. Two Content-Disposition headers naming different files.
    "duplicate-disposition": HEAD
    + b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
    + _exe_part(
        b'Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="notes.txt"\r\nContent-Disposition: attachment; filename="notes.bat"\r\nContent-Transfer-Encoding: base64\r\n',
        base64.encodebytes(b"@echo off\r\nstart calc\r\n"),
    )
    + b"--B--\r\n",
    # 9. multipart without a boundary parameter: Python sees one text body; a client may guess.
    "multipart-without-boundary": HEAD
    + b"Content-Type: multipart/mixed\r\n\r\n--B\r\n"
    + _exe_part(b'Content-Type: application/octet-stream; name="setup.exe"\r\nContent-Transfer-Encoding: base64\r\n')
    + b"--B--\r\n",
    # 10. An unknown transfer encoding: Python leaves the base64 text undecoded.
    "unknown-cte": HEAD
    + b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
    + _exe_part(b'Content-Type: application/octet-stream; name="update.dat"\r\nContent-Transfer-Encoding: base-64\r\n')
    + b"--B--\r\n",
    # 11. base64 with padding in the middle: Python stops at the first '='.
    "base64-middle-padding": HEAD
    + b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
    + _exe_part(
        b'Content-Type: application/octet-stream; name="photo.dat"\r\nContent-Transfer-Encoding: base64\r\n',
        base64.b64encode(PE[:1]) + b"\r\n" + base64.encodebytes(PE[1:]),
    )
    + b"--B--\r\n",
    # 12. Two name parameters in Content-Type, no disposition.
    "duplicate-name": HEAD
    + b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
    + _exe_part(
        b'Content-Type: application/octet-stream; name="photo.jpg"; name="photo.exe"\r\nContent-Transfer-Encoding: base64\r\n'
    )
    + b"--B--\r\n",
    # 13. A nested boundary that starts with the outer one: parsers split differently.
    "nested-boundary-prefix": HEAD
    + b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n--XX\r\nContent-Type: multipart/mixed; boundary="XXYY"\r\n\r\n--XXYY\r\n'
    + _exe_part(b'Content-Type: application/octet-stream; name="setup.exe"\r\nContent-Transfer-Encoding: base64\r\n')
    + b"--XXYY--\r\n--XX--\r\n",
    # 14. Duplicate boundary with the executable behind the *first* (Python's) boundary.
    "duplicate-boundary-first": HEAD
    + b'Content-Type: multipart/mixed; boundary="BBB"; boundary="AAA"\r\n\r\n'
    + b"--AAA\r\nContent-Type: text/plain\r\n\r\nhello\r\n--AAA--\r\n--BBB\r\n"
    + _exe_part(b'Content-Type: application/octet-stream; name="setup.exe"\r\nContent-Transfer-Encoding: base64\r\n')
    + b"--BBB--\r\n",
}

#: Cases whose other reading is constructed, so the hidden file itself is reported.
REVEALED = {
    "duplicate-boundary": "attachment.executable.windows",
    "duplicate-content-type": "attachment.executable.windows",
    "duplicate-cte": "attachment.executable.windows",
    "space-before-colon": "attachment.executable.windows",
    "duplicate-filename": "attachment.executable.windows",
    "filename-vs-name": "attachment.executable.windows",
    "filename-star-vs-plain": "attachment.executable.windows",
    "duplicate-disposition": "attachment.script",
    "multipart-without-boundary": "attachment.executable.windows",
    "unknown-cte": "attachment.executable.windows",
    "base64-middle-padding": "attachment.executable.windows",
    "duplicate-name": "attachment.executable.windows",
    "nested-boundary-prefix": "attachment.executable.windows",
    "duplicate-boundary-first": "attachment.executable.windows",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_parser_differential_never_lets_an_executable_through(name: str) -> None:
    raw = CASES[name]
    inbound = decide(raw, INBOUND)
    rules = set(inbound.rule_ids)
    assert "mime.ambiguous" in rules, (name, rules)
    assert inbound.action >= Action.QUARANTINE
    outbound = decide(raw.replace(b"From: x@outside.test", b"From: t@oakfield.example"), OUTBOUND)
    assert outbound.action is Action.BLOCK, (name, outbound.rule_ids)
    assert REVEALED[name] in rules, (name, sorted(rules))


def test_at_least_ten_kinds() -> None:
    assert len(CASES) >= 10


@pytest.mark.parametrize(
    "headers",
    [
        # Outlook: RFC 2047 name and RFC 2231 filename* saying the same thing.
        b'Content-Type: application/pdf; name="=?utf-8?B?UmVwb3J0IMOpdMOpLnBkZg==?="\r\nContent-Disposition: attachment; filename*=utf-8\'\'Report%20%C3%A9t%C3%A9.pdf; filename="Report ete.pdf"\r\n',
        # RFC 2231 continuations of one long name.
        b"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename*0*=utf-8''Minutes%20of%20the%20governors; filename*1*=%20meeting.pdf\r\n",
        # filename and name agreeing, in different letter case.
        b'Content-Type: application/pdf; name="MINUTES.PDF"\r\nContent-Disposition: attachment; filename="minutes.pdf"\r\n',
        # The same Content-Type written twice identically by a careless mailer.
        b'Content-Type: application/pdf; name="a.pdf"\r\nContent-Type: application/pdf; name="a.pdf"\r\n',
    ],
)
def test_ordinary_mail_is_not_ambiguous(headers: bytes) -> None:
    raw = (
        HEAD
        + b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nHi\r\n--B\r\n'
        + headers
        + b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(b.pdf())
        + b"--B--\r\n"
    )
    view = MessageView(raw)
    assert analyse(raw, view.msg).evidence == []
    assert decide(raw, INBOUND).action is Action.ACCEPT


def test_lenient_base64_continues_after_padding() -> None:
    encoded = base64.b64encode(b"M") + base64.b64encode(b"Z rest of file")
    assert _lenient_base64(encoded) == b"MZ rest of file"
    assert _lenient_base64(base64.encodebytes(PE)) == PE
