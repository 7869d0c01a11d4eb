"""Split a text part into the sender's own words, quoted replies and forwarded messages.

Policies treat *writing* offensive mail, *forwarding* it (000/002: "should not be forwarded")
and *receiving* it (004 §2.2.1) differently, so content checks report where text came from.
Recognised: ``>``-quoted lines; "On … wrote:" headers; Outlook's "-----Original Message-----"
and "From: … Sent: …" blocks; Gmail/Apple "---------- Forwarded message ---------" and
"Begin forwarded message:".  Everything after a reply/forward header is that block's text.
"""

from __future__ import annotations

import regex

_FORWARD_HEADER = regex.compile(
    r"^\s*(?:-{2,}\s*forwarded message\s*-{2,}|begin forwarded message:"
    r"|-{2,}\s*original message\s*-{2,}|-{5,}\s*forwarded by .*)\s*$",
    regex.IGNORECASE,
)
_REPLY_HEADER = regex.compile(r"^\s*on .{3,200}(?:wrote|a écrit|schrieb)\s*:\s*$", regex.IGNORECASE)
_OUTLOOK_FROM = regex.compile(r"^\s*from:\s*.+$", regex.IGNORECASE)
_OUTLOOK_SENT = regex.compile(r"^\s*(?:sent|date):\s*.+$", regex.IGNORECASE)

OWN = "own"
QUOTED = "quoted"
FORWARDED = "forwarded"


def split_quoted(text: str) -> list[tuple[str, str]]:
    """[(kind, text)] in order; kind is ``own``, ``quoted`` or ``forwarded``."""
    lines = text.splitlines()
    segments: list[tuple[str, list[str]]] = []
    mode = OWN

    def push(kind: str, line: str) -> None:
        if segments and segments[-1][0] == kind:
            segments[-1][1].append(line)
        else:
            segments.append((kind, [line]))

    for i, line in enumerate(lines):
        if mode == OWN:
            if _FORWARD_HEADER.match(line):
                mode = FORWARDED if "forward" in line.lower() else QUOTED
                push(mode, line)
                continue
            if _REPLY_HEADER.match(line):
                mode = QUOTED
                push(mode, line)
                continue
            if _OUTLOOK_FROM.match(line) and i + 1 < len(lines) and _OUTLOOK_SENT.match(lines[i + 1]):
                mode = QUOTED
                push(mode, line)
                continue
            push(QUOTED if line.lstrip().startswith(">") else OWN, line)
        else:
            push(mode, line)
    return [(kind, "\n".join(body)) for kind, body in segments if any(s.strip() for s in body)]
