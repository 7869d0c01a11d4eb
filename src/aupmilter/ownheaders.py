"""Our own ``X-AUP-*`` headers are ours: whatever a client sent under that prefix is removed.

A client that writes ``X-AUP-Disclaimer`` could suppress the disclaimer and the DKIM signature;
an inbound ``X-AUP-Released`` or ``X-AUP-Notification`` would reach a mailbox looking like the
gateway's word; a forged ``X-AUP-Verdict`` could mislead a mail client rule (issue 17).  So the
milter takes every header with the prefix out of the message *before* evaluation, in every
direction; the one exception is a disclaimer marker whose MAC verifies (:mod:`aupmilter.marker`),
which only this site's gateway can have written.

Returns the message as the engine should see it, and the deletions (milter ``chgheader`` with no
value) that make Postfix's copy match: per name, from the last occurrence backwards, so each
index still names the header it meant.
"""

from __future__ import annotations

from dataclasses import dataclass

from aupmilter import marker
from aupmilter.model import ChangeHeader
from aupmilter.render import header_end, header_fields

PREFIX = "x-aup-"


@dataclass(frozen=True)
class Stripped:
    raw: bytes
    deletions: tuple[ChangeHeader, ...]


def strip_client_headers(raw: bytes, marker_key: bytes | None) -> Stripped:
    block, eol, start = header_end(raw)
    if PREFIX.encode() not in block.lower():
        return Stripped(raw, ())  # the usual case: the body is not even copied
    body = raw[start:]
    kept: list[bytes] = []
    seen: dict[str, int] = {}
    removed: list[tuple[str, str, int]] = []
    for name, text in header_fields(block, eol):
        if not name.startswith(PREFIX):
            kept.append(text)
            continue
        seen[name] = seen.get(name, 0) + 1
        value = text.split(b":", 1)[1].decode("utf-8", "replace") if b":" in text else ""
        if name == marker.MARKER_HEADER.lower() and marker.verify(value, body, marker_key):
            kept.append(text)
            continue
        pretty = text.split(b":", 1)[0].decode("ascii", "replace").strip()
        removed.append((name, pretty, seen[name]))
    if not removed:
        return Stripped(raw, ())
    deletions = tuple(
        ChangeHeader(pretty, None, index) for _, pretty, index in sorted(removed, key=lambda r: (r[0], -r[2]))
    )
    return Stripped(eol.join(kept) + eol + eol + body, deletions)
