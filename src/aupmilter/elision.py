"""Large base64 bodies kept out of the stdlib email parser, without changing what it sees.

CPython's feed parser holds a base64 body as one ``str`` per line and joins them afterwards: a
25 MB attachment cost ~110 MB of RSS and most of the parse time, and the disclaimer rewrite paid
the same again to regenerate bytes it never changes.  Before parsing, every large, well-formed
base64 run that starts a part body is swapped for a unique token; after parsing, parts that are
not binary (text, messages) get their original text back at once, so every part anyone reads as
text is exactly what the stdlib alone would have produced; binary leaves whose transfer encoding
is base64 keep the token, and the caller either decodes the span from the raw bytes in one pass
(:class:`~aupmilter.message.MessageView`) or writes the original bytes back into generated output
(:mod:`aupmilter.rewrite`).  Equivalence with the plain parse is tested over every fixture and
with generated bodies (tests/test_message_elision.py).
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message

#: A base64 body of at least this many bytes is elided; ``0`` turns elision off.
ELIDE_MIN_BYTES = 150_000

_MARK = "AUPMILTERELIDED"
#: What every token starts with, as bytes.
MARK = _MARK.encode()


#: A blank line and the run of base64 characters and line ends after it, however short.
#: One character class, no repeated group: sre keeps a backtracking record per repetition of
#: a group, which for a 25 MB body cost more memory than the parse this avoids.  Possessive and
#: without a minimum length, so a short run is consumed by one match and the search goes on
#: after it: with ``{150000,}`` every blank line inside a short run of blank lines was a new
#: start scanning to the run's end, quadratic in the run (0.9 s for 40,000 LFs before 200 KB).
_BASE64_RUN = re.compile(rb"\n\r?\n([A-Za-z0-9+/=\r\n]*+)")


def _clean_base64_span(raw: bytes, start: int, end: int) -> tuple[int, bool] | None:
    """End (after its final line ending) of the well-formed base64 lines starting at ``start``,
    and whether every line ends in exactly that line ending (see :attr:`Elision.plain`).

    Well-formed means what every mail client writes: lines of one length (a multiple of 4
    characters), the last one shorter or equal, ``=`` padding only at the very end, one
    line-ending style.  Anything else returns ``None`` and is left to the stdlib parser, so
    malformed input keeps exactly the defects the stdlib would record."""
    last_nl = raw.rfind(b"\n", start, end)
    if last_nl < start or raw[start : start + 1] in (b"\r", b"\n"):
        return None
    end = last_nl + 1
    while raw[end - 2 : end] == b"\n\n" or raw[end - 3 : end] == b"\n\r\n":  # trailing blank lines
        end -= 1 if raw[end - 2 : end] == b"\n\n" else 2
    width = raw.find(b"\n", start, end) - start + 1  # first line, with its ending
    crlf = raw[start + width - 2] == 0x0D
    chars = width - 1 - crlf
    if chars <= 0 or chars % 4:
        return None
    full = (end - start) // width
    tail = (end - start) - full * width
    view = memoryview(raw)[start : start + full * width]
    if bytes(view[width - 1 :: width]).count(b"\n") != full:
        return None
    lines = full + (1 if tail else 0)
    if raw.count(b"\n", start, end) != lines or raw.count(b"\r", start, end) != (lines if crlf else 0):
        return None
    last_start = end - (tail or width)
    pad = raw.find(b"=", start, end)
    if pad != -1:
        text_end = end - 1 - crlf
        if pad < last_start or text_end - pad > 2 or raw[pad:text_end].strip(b"=") or (text_end - last_start) % 4:
            return None
    elif tail and (tail - 1 - crlf) % 4:
        return None
    # The counts above allow a CR anywhere in a line (the character class admits it); it is
    # where the line ending says only if every line has it just before its LF.
    plain = not crlf or (
        bytes(view[width - 2 :: width]).count(b"\r") == full and (not tail or raw[end - 2] == 0x0D)
    )
    return end, plain


@dataclass(frozen=True, slots=True)
class Elision:
    """A body replaced by ``token``; ``start:end`` in the raw bytes (``end`` excludes the run's
    last line ending, which stays in the text after the token).

    ``plain``: the span is lines of base64 characters, each but the last ending in its line
    ending (CRLF if ``crlf``, else LF) and holding no other CR or LF, and none holding a space
    or tab: a run whose bytes later passes need not look at (see :func:`restore_output`)."""

    token: str
    start: int
    end: int
    crlf: bool
    plain: bool = False


@dataclass(frozen=True, slots=True)
class Elided:
    """``raw`` with its large base64 bodies replaced by tokens (``text``), and the way back."""

    raw: bytes
    text: bytes
    elisions: dict[str, Elision]

    def span(self, elision: Elision) -> memoryview:
        return memoryview(self.raw)[elision.start : elision.end]

    def original(self, elision: Elision) -> str:
        return self.raw[elision.start : elision.end].decode("ascii", "surrogateescape")


class NotScanned(enum.Enum):
    """The type of :data:`NOT_SCANNED`."""

    NOT_SCANNED = "not scanned"


#: "Not looked for yet", as opposed to ``None``, "looked for, there are none".
NOT_SCANNED = NotScanned.NOT_SCANNED


def elide(raw: bytes, min_bytes: int = ELIDE_MIN_BYTES) -> Elided | None:
    """``raw`` with large base64 bodies tokenised, or ``None`` when there are none."""
    if min_bytes <= 0:
        return None
    runs: list[tuple[int, int, bool]] = []
    for match in _BASE64_RUN.finditer(raw):
        if match.end(1) - match.start(1) < min_bytes:
            continue  # no later start inside this run can be longer
        clean = _clean_base64_span(raw, match.start(1), match.end(1))
        if clean is not None:
            runs.append((match.start(1), *clean))
    if not runs:
        return None
    nonce = secrets.token_hex(8)
    pieces: list[bytes] = []
    elisions: dict[str, Elision] = {}
    cursor = 0
    for i, (start, end, plain) in enumerate(runs):
        crlf = raw[end - 2 : end] == b"\r\n"
        eol_len = 2 if crlf else 1
        token = f"{_MARK}{nonce}N{i}E"  # closed: N1 must not match the start of N10
        elisions[token] = Elision(token, start, end - eol_len, crlf, plain)
        pieces += [raw[cursor:start], token.encode(), raw[end - eol_len : end]]
        cursor = end
    pieces.append(raw[cursor:])
    return Elided(raw, b"".join(pieces), elisions)


def _leaves(msg: Message) -> Iterator[tuple[Message, str]]:
    """Leaf parts with a tokenised payload (iterative: hostile nesting is deep)."""
    stack = [msg]
    while stack:
        part = stack.pop()
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend(p for p in payload if isinstance(p, Message))
        elif isinstance(payload, str) and _MARK in payload:
            yield part, payload


def resolve(msg: Message, elided: Elided) -> list[tuple[Message, Elision]]:
    """Restore every tokenised payload except binary base64 leaves, which are returned."""
    kept: list[tuple[Message, Elision]] = []
    for part, payload in _leaves(msg):
        hits = [e for token, e in elided.elisions.items() if token in payload]
        if not hits:
            continue
        cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
        try:
            maintype = part.get_content_maintype()
        except Exception:
            maintype = "text"
        if (
            len(hits) == 1
            and payload.strip() == hits[0].token
            and cte == "base64"
            and maintype not in ("text", "message")
        ):
            kept.append((part, hits[0]))
            continue
        restore_part(part, elided, payload)
    return kept


def restore_part(part: Message, elided: Elided, payload: str | None = None) -> None:
    """Put the original text back into ``part``'s payload."""
    text = payload if payload is not None else str(part.get_payload())
    for token, elision in elided.elisions.items():
        if token in text:
            text = text.replace(token, elided.original(elision))
    part.set_payload(text)


def restore_output(out: bytes, elided: Elided, eol: bytes) -> tuple[bytes, tuple[tuple[int, int], ...]]:
    """Generated bytes with each token replaced by its original body, in the output's line ending
    (a generator writes every payload line with its own line separator); and where the
    :attr:`~Elision.plain` bodies now are in them (:data:`Opaque`).

    One splice: the bodies are copied once, and never searched for tokens (a token holds an
    unguessable nonce, so a body cannot contain one)."""
    found: list[tuple[int, Elision]] = []
    for token, elision in elided.elisions.items():
        marker = token.encode()
        at = out.find(marker)
        while at != -1:
            found.append((at, elision))
            at = out.find(marker, at + len(marker))
    if not found:
        return out, ()
    found.sort(key=lambda hit: hit[0])
    pieces: list[bytes | memoryview] = []
    opaque: list[tuple[int, int]] = []
    cursor = size = 0
    for at, elision in found:
        pieces.append(out[cursor:at])
        size += at - cursor
        body: bytes | memoryview = elided.span(elision)
        own = b"\r\n" if elision.crlf else b"\n"
        if own != eol:
            body = bytes(body).replace(own, eol)
        if elision.plain and len(body):
            opaque.append((size, size + len(body)))
        pieces.append(body)
        size += len(body)
        cursor = at + len(elision.token)
    pieces.append(out[cursor:])
    return b"".join(pieces), tuple(opaque)


#: Spans ``(start, end)`` of a body, in order and apart, each of which is base64 lines: characters
#: ``[A-Za-z0-9+/=]`` and the body's line endings only (every line but the last ends in one; CR
#: only in a CRLF), starting and ending with a base64 character.  Passes that look for
#: whitespace or line structure can take them as read and look only at the text between
#: (:func:`gaps`): nothing there can join with them into a match.
Opaque = tuple[tuple[int, int], ...]


def gaps(size: int, opaque: Opaque, start: int = 0) -> list[tuple[int, int]]:
    """The spans of ``start:size`` that are not in ``opaque`` (which lie within it)."""
    found: list[tuple[int, int]] = []
    cursor = start
    for begin, end in opaque:
        found.append((cursor, begin))
        cursor = end
    found.append((cursor, size))
    return found
