"""``MessageView``: a message parsed once, exposing what checks need and nothing they must redo.

Checks never re-parse.  The view walks the MIME tree once (iteratively bounded by part count and
nesting depth, because hostile mail has 10,000 parts and 100 levels), decodes text parts (HTML
turned into visible text), lists attachments with their decoded bytes, declared type and name,
descends into attached messages (``message/rfc822``), and records every parse defect as data so
that policy, not an exception, decides what malformed mail means.
"""

from __future__ import annotations

import binascii
import email
import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.headerregistry import UnstructuredHeader
from email.message import Message
from email.utils import getaddresses
from functools import cached_property
from typing import Any

from aupmilter.elision import ELIDE_MIN_BYTES, NOT_SCANNED, Elided, NotScanned, elide, resolve, restore_part
from aupmilter.htmltext import HtmlRead, read_html
from aupmilter.quoting import split_quoted

#: Parts beyond this many are not walked; a ``mime.too_many_parts`` defect is recorded instead.
DEFAULT_MAX_PARTS = 2000
#: Attached-message / multipart nesting beyond this depth is not walked.
DEFAULT_MAX_DEPTH = 30
#: Text parts larger than this are truncated for content checks (the message itself is untouched).
MAX_TEXT_CHARS = 2_000_000

#: Parsed header values kept per process (see :class:`_ParsedHeaderPolicy`); cleared when full.
HEADER_CACHE_SIZE = 20_000
_HEADER_CACHE: dict[tuple[str, str], Any] = {}
#: Only the MIME structure fields are kept: they are the ones read dozens of times per message
#: (addresses and subjects are parsed once per message anyway, and are not kept).
_CACHED_FIELDS = frozenset({"content-type", "content-transfer-encoding", "mime-version"})


class _ParsedHeaderPolicy(email.policy.EmailPolicy):
    """``policy.default``, except that a header value is parsed once, not on every access.

    The standard library builds a new header object (a full RFC 5322/2045 parse) each time a
    header is read: ``get_content_type()`` alone re-parses Content-Type, and the walk, the
    checks and the disclaimer ask for it dozens of times per message — measured as a sixth of
    a worker's time on a plain letter.  The parsed object depends only on the field name and
    raw value, so it is kept for the next read, bounded; a value the parser refuses raises
    every time, as before.  (docs/privacy.md says what these caches hold.)"""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if hasattr(value, "name") or name.lower() not in _CACHED_FIELDS:
            return super().header_fetch_parse(name, value)
        key = (name, value)
        parsed = _HEADER_CACHE.get(key)
        if parsed is None:
            parsed = super().header_fetch_parse(name, value)
            if len(_HEADER_CACHE) >= HEADER_CACHE_SIZE:
                _HEADER_CACHE.clear()
            _HEADER_CACHE[key] = parsed
        return parsed


_PARSE_POLICY = _ParsedHeaderPolicy(max_line_length=0)


@dataclass(frozen=True, slots=True)
class TextPart:
    """A human-readable text part: ``text`` is decoded and, for HTML, converted to visible text.

    ``alternative``: ``(group, branch)`` when the part lies inside a multipart/alternative (the
    innermost one; ``group`` tells the containers apart, ``branch`` is the child it is under).
    Branches of one group say the same thing in different forms and a recipient reads one of
    them, so a check that adds up evidence must not add the same words up once per form."""

    text: str
    content_type: str
    location: str
    charset: str | None = None
    alternative: tuple[int, int] | None = None


@dataclass(slots=True)
class Attachment:
    """A leaf part that is a file: named, non-text, or ``Content-Disposition: attachment``.

    ``filename`` is decoded (RFC 2231 / RFC 2047) and may be ``None``.  ``data`` is the decoded
    payload.  ``detected_mime`` comes from libmagic on the bytes, lazily, so messages without
    attachments never pay for it.
    """

    filename: str | None
    declared_type: str
    data: bytes
    location: str
    disposition: str | None = None
    _magic: tuple[str, str] | None = field(default=None, repr=False)

    def _sniff(self) -> tuple[str, str]:
        if self._magic is None:
            self._magic = sniff(self.data)
        return self._magic

    @property
    def detected_mime(self) -> str:
        return self._sniff()[0]


def sniff(data: bytes) -> tuple[str, str]:
    """libmagic's MIME type and description of ``data`` (from bytes: no temp file is written)."""
    if not data:
        return ("application/x-empty", "empty")
    import magic  # imported lazily: libmagic load costs ~10 ms, only paid when attachments exist

    head = data[: 1 << 20]
    try:
        return (magic.from_buffer(head, mime=True), magic.from_buffer(head))
    except (magic.MagicException, ValueError):  # pragma: no cover - libmagic rarely fails
        return ("application/octet-stream", "data")


def decode_header_value(value: object) -> str:
    """Header value as text, RFC 2047 decoded, never raising on malformed input."""
    if value is None:
        return ""
    if isinstance(value, str) and not isinstance(value, UnstructuredHeader):
        text = str(value)
    else:
        try:
            text = str(value)
        except Exception:
            text = repr(value)
    return text.replace("\x00", "")


def parse_addresses(*values: str) -> tuple[tuple[str, str], ...]:
    """``(display name, address)`` pairs of raw header values: the one address parser, for
    values that are not this message's decoded headers (a raw ``From`` with its comments, the
    ``From`` of bytes about to be signed).  Never raises: an unparseable value yields nothing."""
    try:
        return tuple(getaddresses(list(values)))
    except Exception:
        return ()


class MessageView:
    """A read-only, parsed-once view of one message (see module docstring)."""

    def __init__(
        self,
        raw: bytes,
        *,
        max_parts: int = DEFAULT_MAX_PARTS,
        max_depth: int = DEFAULT_MAX_DEPTH,
        elide_min_bytes: int = ELIDE_MIN_BYTES,
    ) -> None:
        self.raw = raw
        self.max_parts = max_parts
        self.max_depth = max_depth
        self._defects: list[str] = []
        #: id(part) -> bytes decoded straight from ``raw`` (see :mod:`aupmilter.elision`).
        self._decoded: dict[int, bytes] = {}
        self.elided = 0
        #: The large base64 bodies found in ``raw`` (None: none), when looked for with the
        #: default threshold: the disclaimer's surgery on the same bytes reuses them instead
        #: of scanning the message again (:func:`aupmilter.rewrite.parse_for_surgery`).
        self.elisions: Elided | NotScanned | None = NOT_SCANNED
        self.msg: Message = self._parse_eliding(raw, elide_min_bytes)
        self._text_parts: list[TextPart] = []
        self._quoted_segments: dict[int, list[tuple[str, str]]] = {}
        self._html: dict[str, HtmlRead] = {}
        self._attachments: list[Attachment] = []
        self._walked = False
        self._addresses: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = {}

    def _parse_eliding(self, raw: bytes, min_bytes: int) -> Message:
        """Parse with large base64 attachment bodies decoded straight from ``raw``
        (see :mod:`aupmilter.elision` for why, and why the view stays exact)."""
        elided = elide(raw, min_bytes)
        if min_bytes == ELIDE_MIN_BYTES:
            self.elisions = elided
        if elided is None:
            return _parse(raw, self._defects)
        msg = _parse(elided.text, self._defects)
        for part, elision in resolve(msg, elided):
            try:
                self._decoded[id(part)] = binascii.a2b_base64(elided.span(elision))
            except binascii.Error:  # bad padding: let the stdlib decode it, recording its defect
                restore_part(part, elided)
        self.elided = len(self._decoded)
        return msg

    # --- headers -----------------------------------------------------------------------------

    def header(self, name: str) -> str | None:
        """First header ``name``, decoded; ``None`` when absent."""
        try:
            value = self.msg.get(name)
        except Exception:
            value = self.raw_header(name)
        return None if value is None else decode_header_value(value)

    def headers_all(self, name: str) -> list[str]:
        try:
            values = self.msg.get_all(name) or []
        except Exception:
            values = []
        return [decode_header_value(v) for v in values]

    def addresses(self, *names: str) -> tuple[tuple[str, str], ...]:
        """``(display name, address)`` pairs of every ``names`` header, in order (``To`` then
        ``Cc`` for ``addresses("To", "Cc")``), parsed once per message and cached.

        The one address accessor, as the stdlib's ``headerregistry`` gives ``.addresses``: checks
        ask here instead of each running ``getaddresses`` over the headers again.  Group syntax
        (``undisclosed-recipients:;``) yields no address; an unparseable value yields ``("", "")``
        as :func:`email.utils.getaddresses` does, so callers keep filtering on ``"@"``."""
        key = tuple(n.lower() for n in names)
        found = self._addresses.get(key)
        if found is None:
            values = [v for n in names for v in self.headers_all(n)]
            found = self._addresses[key] = parse_addresses(*values)
        return found

    def raw_header(self, name: str) -> str | None:
        """First header ``name`` exactly as parsed: not RFC 2047 decoded, comments kept (the
        parsed form drops ``(Head)`` from ``Mrs J Smith (Head) <x@example.org>``)."""
        try:
            items = self.msg.raw_items()  # raw (name, value) pairs as parsed
        except Exception:
            return None
        for key, value in items:
            if key.lower() == name.lower():
                return str(value)
        return None

    @cached_property
    def subject(self) -> str:
        return " ".join((self.header("Subject") or "").split())

    @cached_property
    def header_block(self) -> list[tuple[str, str]]:
        """All top-level headers as (name, decoded value) pairs in order."""
        decoded = []
        for key, value in self.msg.raw_items():
            try:
                parsed = self.msg.policy.header_fetch_parse(key, value)
                decoded.append((key, decode_header_value(parsed)))
            except Exception:
                decoded.append((key, str(value)))
        return decoded

    # --- body ----------------------------------------------------------------------------------

    @property
    def text_parts(self) -> list[TextPart]:
        self._walk()
        return self._text_parts

    @property
    def attachments(self) -> list[Attachment]:
        self._walk()
        return self._attachments

    def quoted_segments(self, part: TextPart) -> list[tuple[str, str]]:
        """:func:`aupmilter.quoting.split_quoted` of one of :attr:`text_parts`, worked out once
        for every check that reads the sender's own words apart from quoted and forwarded ones."""
        segments = self._quoted_segments.get(id(part))
        if segments is None:
            segments = self._quoted_segments[id(part)] = split_quoted(part.text)
        return segments

    def html(self, markup: str) -> HtmlRead:
        """:func:`aupmilter.htmltext.read_html` of an HTML part's markup, tokenised once for every
        reader: the walk takes the visible text from it, the link reader replays its tokens.
        Kept by markup, not by part, so a reader that decodes a part its own way gets a read of
        exactly what it decoded."""
        read = self._html.get(markup)
        if read is None:
            read = self._html[markup] = read_html(markup)
        return read

    @property
    def defects(self) -> list[str]:
        self._walk()
        return self._defects

    @cached_property
    def body_text(self) -> str:
        """All top-level text (not inside attached messages) joined, for simple checks."""
        return "\n".join(p.text for p in self.text_parts if not p.location.startswith("message"))

    def _walk(self) -> None:
        if self._walked:
            return
        self._walked = True
        self._record_defects(self.msg, "")
        parts_seen = 0
        # Explicit stack instead of recursion: hostile nesting must not reach Python's limit.
        stack: list[tuple[Message, str, int, tuple[int, int] | None]] = [(self.msg, "", 0, None)]
        nth_body = 0
        while stack:
            part, prefix, depth, alternative = stack.pop()
            parts_seen += 1
            if parts_seen > self.max_parts:
                self._defects.append("mime.too_many_parts")
                break
            if depth > self.max_depth:
                self._defects.append("mime.too_deep")
                continue
            if part is not self.msg:
                self._record_defects(part, prefix)
            ctype = _content_type(part)
            if part.is_multipart():
                children = part.get_payload()
                if not isinstance(children, list):  # pragma: no cover - defensive
                    continue
                if ctype == "message/rfc822" or ctype.startswith("message/"):
                    nested_prefix = f"{prefix}message[{parts_seen}]/" if prefix else f"message[{parts_seen}]/"
                    for child in reversed(children):
                        if isinstance(child, Message):
                            # An attached message is other mail, not a form of this one.
                            stack.append((child, nested_prefix, depth + 1, None))
                            self._attach_nested_message(child, nested_prefix)
                elif ctype == "multipart/alternative":
                    for branch, child in reversed(list(enumerate(children))):
                        if isinstance(child, Message):
                            stack.append((child, prefix, depth + 1, (parts_seen, branch)))
                else:
                    for child in reversed(children):
                        if isinstance(child, Message):
                            stack.append((child, prefix, depth + 1, alternative))
                continue
            filename = _filename(part)
            try:
                disposition = part.get_content_disposition()
            except Exception:
                disposition = None
            is_text = ctype in ("text/plain", "text/html")
            if is_text and filename is None and disposition != "attachment":
                nth_body += 1
                text = _decode_text(part, self._defects)
                if ctype == "text/html":
                    text = self.html(text).text
                location = f"{prefix}body" if prefix else "body"
                self._text_parts.append(TextPart(text[:MAX_TEXT_CHARS], ctype, location, _charset(part), alternative))
                continue
            data = self._decoded.pop(id(part), None)
            if data is None:
                data = _decode_bytes(part)
            name = filename or ""
            self._attachments.append(
                Attachment(
                    filename=filename,
                    declared_type=ctype,
                    data=data,
                    location=f"{prefix}attachment:{name}" if name else f"{prefix}attachment[{parts_seen}]",
                    disposition=disposition,
                )
            )

    def _attach_nested_message(self, child: Message, prefix: str) -> None:
        """Attached messages keep their subject visible to content checks as their own part."""
        try:
            subject = decode_header_value(child.get("Subject"))
        except Exception:
            subject = ""
        if subject:
            self._text_parts.append(TextPart(subject, "text/x-subject", f"{prefix}subject"))

    def _record_defects(self, part: Message, prefix: str) -> None:
        for defect in getattr(part, "defects", []) or []:
            self._defects.append(f"mime.{type(defect).__name__}")

    def iter_all_text(self) -> Iterator[tuple[str, str]]:
        """(location, text) for the subject and every text part."""
        if self.subject:
            yield ("subject", self.subject)
        for part in self.text_parts:
            yield (part.location, part.text)


def _parse(raw: bytes, defects: list[str]) -> Message:
    """Parse with ``policy.default``; fall back to the lenient ``compat32`` parser, then to an
    empty message, recording a defect each time, so no input can make parsing raise.

    (CPython's header parser can raise on hostile RFC 2231 parameters, e.g. a NUL inside a
    charset name; found by the fuzzer.)"""
    try:
        return email.message_from_bytes(raw, policy=_PARSE_POLICY)
    except Exception:
        defects.append("mime.parser_error")
    try:
        return email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception:
        defects.append("mime.unparseable")
    return Message()


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


_RAW_NAME = re.compile(r'(?:^|;)\s*(?:file)?name\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)', re.IGNORECASE)


def _raw_name(part: Message) -> str | None:
    """The name parameter exactly as sent, unquoted values included.

    ``name=story[1].scr`` is not valid MIME (``[`` must be quoted) and the stdlib parser keeps
    only ``story``: a mail client shows, and runs, ``story[1].scr``.  Worms used exactly this."""
    for header in ("content-disposition", "content-type"):
        for key, value in part.raw_items():
            if key.lower() != header:
                continue
            match = _RAW_NAME.search(" ".join(str(value).split()))
            if match:
                text = match.group(1).strip()
                if text.startswith('"') and text.endswith('"') and len(text) >= 2:
                    text = text[1:-1]
                return text or None
    return None


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    raw = _raw_name(part)
    if raw and "=?" not in raw and (name is None or (len(raw) > len(name) and raw.startswith(name))):
        name = raw
    if name is None:
        return None
    return decode_header_value(name)


def _charset(part: Message) -> str | None:
    """The declared charset, or None; the stdlib raises on hostile RFC 2231 values (a NUL in
    the charset of an encoded parameter: found by the fuzzer)."""
    try:
        return part.get_content_charset()
    except (ValueError, LookupError):
        return None


def _decode_bytes(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _decode_text(part: Message, defects: list[str]) -> str:
    data = _decode_bytes(part)
    charset = _charset(part) or "us-ascii"
    try:
        return data.decode(charset, errors="replace")
    except (LookupError, ValueError):  # unknown codec, or a name with NULs in it
        defects.append("mime.unknown_charset")
        return data.decode("utf-8", errors="replace")
