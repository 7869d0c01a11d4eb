"""MIME surgery for the disclaimer: change the body text, never anything else.

Users of every gateway complain about disclaimers that corrupt attachments, break charsets,
stack up in reply chains or break signatures.  The rules here:

* Only the message's *body text* is touched: in multipart/alternative both the plain and the
  HTML version; in multipart/mixed and multipart/related the first body part (never a part with
  a filename or ``Content-Disposition: attachment``).  Every other part is re-emitted from its
  original encoded bytes, so it decodes byte-identically.
* The body text itself is kept exactly: it is decoded in its declared charset and encoded back
  in it.  Bytes that are not valid in the declared charset (unlabelled Latin-1 in a "us-ascii"
  part, say) are carried through unchanged, never replaced by U+FFFD; if the disclaimer then
  cannot be written in that charset, the part is left alone (:class:`Undecodable`).
  When the disclaimer cannot be represented in a cleanly decoded part's charset, the part is
  re-encoded as UTF-8.  The transfer encoding is kept (base64 stays base64, quoted-printable
  stays quoted-printable; uuencode becomes quoted-printable) or, for 7bit text that gains
  non-ASCII, becomes quoted-printable.
* format=flowed (RFC 3676) is respected: disclaimer lines never end in a space (which would
  join them to the next line) and lines starting with a space, ``>`` or ``From `` are
  space-stuffed (otherwise they would read as quoted or be mangled).
* text/html gets the disclaimer just before the real ``</body>`` end tag (found by an HTML
  tokenizer, so a ``</body>`` inside a comment or script does not count), else before
  ``</html>``, else at the end.  Containers still open at that point (an unclosed ``<pre>`` or
  ``<blockquote>`` quoting the previous message, a table, a link) are closed first, so the
  disclaimer is never rendered inside a quote block.  Placeholders are HTML-escaped.
* A message with no body text (only an attachment) is wrapped in multipart/mixed with a
  disclaimer part first.
* multipart/signed, application/pkcs7-mime and encrypted mail is left untouched (or, when so
  configured, wrapped whole as the second part of a multipart/mixed, which keeps the signature
  verifiable).  A broken MIME structure (missing or re-used boundaries) is left untouched too.

Idempotence (the rule): the rewrite adds the header ``X-AUP-Disclaimer: <domain>`` (which
:mod:`aupmilter.transforms` then authenticates, see :mod:`aupmilter.marker`; the milter removes
any marker that does not verify before evaluation), and a message that still carries it at the
top level is left alone.  So a message that passes the
gateway twice (an internal hop, then outbound) gets the disclaimer once.  A reply or forward is
a *new* message: mail clients copy the quoted text but not X- headers, so it gets its own
disclaimer even when it quotes an earlier one (text in the body is never used as the marker,
because quoted text would then suppress the reply's own disclaimer).  A message forwarded as an
attachment keeps its marker inside the attached part, which is not the top level, so the
forwarding message gets its own too.
"""

from __future__ import annotations

import base64
import codecs
import email
import email.policy
import html
import io
import quopri
import secrets
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import Message
from html.parser import HTMLParser

from aupmilter import elision, marker
from aupmilter.elision import Elided
from aupmilter.model import AddHeader, ChangeHeader, Effect, ReplaceBody
from aupmilter.render import header_end, header_fields, split_message

MARKER_HEADER = marker.MARKER_HEADER
REWRITE_POLICY = email.policy.compat32.clone(max_line_length=0)
_SIGNED_TYPES = {
    "multipart/signed",
    "multipart/encrypted",
    "application/pkcs7-mime",
    "application/x-pkcs7-mime",
    "application/pgp-encrypted",
}
_TEXT_TYPES = ("text/plain", "text/html")
_UUENCODE = {"x-uuencode", "uuencode", "uue", "x-uue"}


class Untouchable(Exception):
    """The message is signed or encrypted: rewriting it would break it."""


class Ambiguous(Exception):
    """The MIME structure is broken (missing or re-used boundaries): clients disagree on where
    parts start and end, so any surgery could change what the recipient sees.  Left as it is."""


class Undecodable(Ambiguous):
    """The body text is not valid in its declared charset and the disclaimer cannot be written
    in that charset: converting would mean guessing the text's real charset.  Left as it is."""


#: Defects that make the part structure ambiguous.
STRUCTURE_DEFECTS = frozenset(
    {
        "StartBoundaryNotFoundDefect",
        "CloseBoundaryNotFoundDefect",
        "MultipartInvariantViolationDefect",
        "NoBoundaryInMultipartDefect",
        "MisplacedEnvelopeHeaderDefect",
        "InvalidMultipartContentTransferEncodingDefect",
        "MissingHeaderBodySeparatorDefect",
    }
)


def structure_defects(msg: Message) -> set[str]:
    found = {type(d).__name__ for part in msg.walk() for d in part.defects}
    boundaries = [b for p in msg.walk() if p.is_multipart() and (b := p.get_boundary()) is not None]
    if len(boundaries) != len(set(boundaries)):
        found.add("ReusedBoundary")
    return (found & STRUCTURE_DEFECTS) | ({"ReusedBoundary"} & found)


@dataclass(frozen=True)
class Disclaimer:
    text: str
    html: str


@dataclass(frozen=True)
class RewriteResult:
    effects: tuple[Effect, ...]
    parts_changed: int
    wrapped: bool


def is_signed_or_encrypted(msg: Message) -> bool:
    return msg.get_content_type() in _SIGNED_TYPES


def skip_reason(
    msg: Message, disclaimer: Disclaimer | None = None, *, wrap_signed: bool = False
) -> Untouchable | Ambiguous | None:
    """Why :func:`rewrite` would leave this parsed message alone — the :class:`Untouchable` or
    :class:`Ambiguous` (:class:`Undecodable`) it would raise, its text the evidence — else None.

    One function for the presence check and the rewrite, so the finding the disclaimer check
    records (it maps the kind to its own rule ids) is exactly why the transform did nothing.
    Without ``disclaimer`` the charset test assumes an ASCII-only disclaimer (the check does not
    know which school's text applies)."""
    if msg.get(MARKER_HEADER) is not None:
        return None
    if is_signed_or_encrypted(msg) and not wrap_signed:
        return Untouchable("signed or encrypted: disclaimer not added")
    broken = structure_defects(msg)
    if broken:
        return Ambiguous(f"ambiguous MIME structure ({', '.join(sorted(broken))})")
    if is_signed_or_encrypted(msg):
        return None
    sample = disclaimer or Disclaimer("-", "-")
    for part in body_parts(msg):
        _, codec, clean = decode_part(part)
        added = sample.html if part.get_content_type() == "text/html" else sample.text
        if codec is None or (not clean and not _encodable(added, codec)):
            charset = part.get_content_charset() or "us-ascii"
            return Undecodable(f"text not valid in its charset ({charset[:40]})")
    return None


def parse_for_surgery(
    raw: bytes, found: Elided | elision.NotScanned | None = elision.NOT_SCANNED
) -> tuple[Message, Elided | None]:
    """The message tree to edit, with large base64 attachment bodies left as tokens: surgery
    only ever edits body text, and regenerating megabytes of attachments it never changes cost
    more than everything else the milter does (see :mod:`aupmilter.elision`).

    ``found``: what :func:`~aupmilter.elision.elide` returned for these very bytes (the
    message view already looked), so the message is not scanned twice."""
    elided = elision.elide(raw, elision.ELIDE_MIN_BYTES) if found is elision.NOT_SCANNED else found
    if elided is None:
        return email.message_from_bytes(raw, policy=REWRITE_POLICY), None
    msg = email.message_from_bytes(elided.text, policy=REWRITE_POLICY)
    elision.resolve(msg, elided)  # text and attached messages get their own bytes back
    return msg, elided


def edit_effects(raw: bytes, msg: Message, elided: Elided | None) -> list[Effect]:
    """Effects turning ``raw`` into the edited tree ``msg``: changed headers, then the new body.

    The generator writes with the original line ending, and elided bodies go back verbatim
    (see :func:`parse_for_surgery`).  One place for every body edit (disclaimer, banner)."""
    block, eol, _ = header_end(raw)
    out = io.BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=REWRITE_POLICY.clone(linesep=eol.decode())).flatten(msg)
    data = out.getvalue()
    new_block, _, start = header_end(data)
    if elided is None:
        return [*header_changes(block, new_block, eol), ReplaceBody(data[start:])]
    if elision.MARK not in data[:start]:
        # The bodies go back into the generated body alone: the header block (before every
        # token) splits off the same, and the new body is made in one copy.
        body, opaque = elision.restore_output(data[start:], elided, eol)
        return [*header_changes(block, new_block, eol), ReplaceBody(body, opaque)]
    data, opaque = elision.restore_output(data, elided, eol)
    new_block, _, new_body = split_message(data)
    shift = len(data) - len(new_body)
    opaque = tuple((begin - shift, end - shift) for begin, end in opaque if begin >= shift)
    return [*header_changes(block, new_block, eol), ReplaceBody(new_body, opaque)]


def rewrite(
    raw: bytes,
    disclaimer: Disclaimer,
    domain: str,
    *,
    wrap_signed: bool = False,
    elisions: Elided | elision.NotScanned | None = elision.NOT_SCANNED,
) -> RewriteResult | None:
    """Effects that add the disclaimer to ``raw``; ``None`` when it already has it.

    Raises :class:`Untouchable` for signed/encrypted mail unless ``wrap_signed``, and
    :class:`Ambiguous` (or its :class:`Undecodable`) when surgery could damage the message.
    ``elisions``: see :func:`parse_for_surgery`."""
    msg, elided = parse_for_surgery(raw, elisions)
    if msg.get(MARKER_HEADER) is not None:
        return None
    reason = skip_reason(msg, disclaimer, wrap_signed=wrap_signed)
    if reason is not None:
        raise reason
    if is_signed_or_encrypted(msg):
        return _wrap(raw, disclaimer, domain)
    targets = body_parts(msg)
    if not targets:
        return _wrap(raw, disclaimer, domain)
    for part in targets:
        _append(part, disclaimer)
    effects = edit_effects(raw, msg, elided)
    effects.append(AddHeader(MARKER_HEADER, domain))
    return RewriteResult(tuple(effects), len(targets), False)


_ENTITY_HEADERS = (
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
    "content-id",
    "content-description",
    "content-language",
    "content-md5",
    "content-location",
)


def _pretty(name: str) -> str:
    words = "-".join(w.capitalize() for w in name.split("-"))
    return words.replace("Mime", "MIME").replace("-Id", "-ID").replace("Md5", "MD5")


def _wrap(raw: bytes, disclaimer: Disclaimer, domain: str) -> RewriteResult:
    """multipart/mixed: [disclaimer text, the original entity], built from the original bytes.

    The original entity's own header lines and body are copied byte for byte, so a signed
    entity still verifies and an attachment decodes identically."""
    block, eol, body = split_message(raw)
    fields = header_fields(block, eol)
    entity = [text for name, text in fields if name in _ENTITY_HEADERS] or [b"Content-Type: text/plain"]
    boundary = f"=_aup_{secrets.token_hex(12)}".encode()
    lines = disclaimer.text.strip().encode("utf-8").splitlines()
    note = quopri.encodestring(b"\n".join(lines) + b"\n").splitlines()
    new_body = (
        eol.join(
            [
                b"This is a multi-part message in MIME format.",
                b"",
                b"--" + boundary,
                b'Content-Type: text/plain; charset="utf-8"',
                b"Content-Transfer-Encoding: quoted-printable",
                b"",
                *note,
                b"--" + boundary,
                *entity,
                b"",
            ]
        )
        + eol
        + body  # exactly: the line end before a boundary belongs to the boundary (RFC 2046)
        + eol
        + b"--"
        + boundary
        + b"--"
        + eol
    )
    effects: list[Effect] = []
    for name in _ENTITY_HEADERS:
        count = sum(1 for n, _ in fields if n == name)
        effects.extend(ChangeHeader(_pretty(name), None, i) for i in range(count, 0, -1))
    if not any(n == "mime-version" for n, _ in fields):
        effects.append(AddHeader("MIME-Version", "1.0"))
    effects.append(AddHeader("Content-Type", f'multipart/mixed; boundary="{boundary.decode()}"'))
    effects.append(ReplaceBody(new_body))
    effects.append(AddHeader(MARKER_HEADER, domain))
    return RewriteResult(tuple(effects), 1, True)


def _is_attachment(part: Message) -> bool:
    return part.get_content_disposition() == "attachment" or part.get_filename() is not None


def _is_body_text(part: Message) -> bool:
    return not part.is_multipart() and part.get_content_type() in _TEXT_TYPES and not _is_attachment(part)


def body_parts(msg: Message) -> list[Message]:
    """The parts that carry the body text, i.e. that get the disclaimer (module docstring)."""
    ctype = msg.get_content_type()
    if not msg.is_multipart():
        return [msg] if _is_body_text(msg) else []
    children = [c for c in msg.get_payload() if isinstance(c, Message)]
    if ctype == "multipart/alternative":
        found: list[Message] = []
        for child in children:
            if _is_body_text(child):
                if all(f.get_content_type() != child.get_content_type() for f in found):
                    found.append(child)
            elif child.is_multipart() and child.get_content_type() == "multipart/related":
                found += [p for p in body_parts(child) if p.get_content_type() == "text/html"][:1]
        return found
    if ctype in _SIGNED_TYPES:
        return []
    if ctype.startswith("multipart/") and children:
        first = children[0]
        if first.is_multipart() or _is_body_text(first):
            return body_parts(first)
    return []


def decode_part(part: Message) -> tuple[str, str | None, bool]:
    """(text, codec to write it back with, decoded cleanly?).

    Invalid bytes become surrogates (``surrogateescape``) so that encoding back with the same
    codec restores them exactly.  An unknown charset label is read as ASCII-with-escapes: the
    bytes go back as they came.  codec None: the bytes cannot even be carried through."""
    data = part.get_payload(decode=True)
    raw = data if isinstance(data, bytes) else b""
    declared = part.get_content_charset() or "us-ascii"
    try:
        codec = codecs.lookup(declared).name
    except LookupError:
        codec = "ascii"
    try:
        return raw.decode(codec), codec, True
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode(codec, "surrogateescape")
        if text.encode(codec, "surrogateescape") == raw:
            return text, codec, False
    except (UnicodeError, ValueError):
        pass
    return "", None, False


def _encodable(text: str, codec: str) -> bool:
    try:
        text.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def _append(part: Message, disclaimer: Disclaimer) -> None:
    text, codec, clean = decode_part(part)
    if codec is None:
        raise Undecodable(part.get_content_charset() or "us-ascii")
    if part.get_content_type() == "text/html":
        new = insert_html(text, disclaimer.html.strip())
    else:
        flowed = str(part.get_param("format") or "").lower() == "flowed"
        nl = "\r\n" if "\r\n" in text else "\n"
        lines = [flowed_safe(line, flowed) for line in disclaimer.text.strip().splitlines()]
        new = text.rstrip("\r\n") + nl + nl + nl.join(lines) + nl
    set_text(part, new, codec, clean)


def flowed_safe(line: str, flowed: bool) -> str:
    line = line.rstrip()
    if flowed and (line.startswith((" ", ">")) or line.startswith("From ")):
        return " " + line  # RFC 3676 4.4 space-stuffing
    return line


# HTML elements an unclosed instance of which would swallow the disclaimer (quote blocks, pre,
# tables that would foster-parent it, links that would make it clickable, formatting).  Closing
# tags are only written for elements the tokenizer saw open; a close tag for an element that a
# browser had already closed implicitly is ignored by HTML parsing, so this is safe.  Elements
# closed implicitly by their parent (p, li, td, ...) are left alone: a stray </p> would add an
# empty paragraph, and the disclaimer's own <div> closes an open <p> anyway.
_IMPLICIT = frozenset(
    {"html", "head", "body", "p", "li", "dd", "dt", "option", "optgroup", "tr", "td", "th"}
    | {"tbody", "thead", "tfoot", "colgroup", "caption", "rb", "rt", "rtc", "rp"}
)
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source"}
    | {"track", "wbr", "basefont", "bgsound", "frame", "keygen"}
)


class _Locator(HTMLParser):
    """Finds the real end of the body and the elements still open there."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.body_end: tuple[tuple[int, int], tuple[str, ...]] | None = None
        self.html_end: tuple[tuple[int, int], tuple[str, ...]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "body":
            self.body_end = (self.getpos(), tuple(self.stack))
        elif tag == "html" and self.body_end is None:
            self.html_end = (self.getpos(), tuple(self.stack))
        if tag in self.stack:
            del self.stack[len(self.stack) - 1 - self.stack[::-1].index(tag) :]


def parser_offset(text: str, line: int, col: int) -> int:
    """Offset in ``text`` of an :class:`html.parser.HTMLParser` position (1-based line, column).

    Steps line by line with ``str.index`` (C speed): this runs on every outbound HTML body."""
    offset = 0
    for _ in range(line - 1):
        offset = text.index("\n", offset) + 1
    return offset + col


def insert_html(text: str, snippet: str) -> str:
    """``text`` with ``snippet`` at the end of the body, outside any open container."""
    locator = _Locator()
    try:
        locator.feed(text)
        locator.close()
    except (AssertionError, ValueError):  # pragma: no cover - html.parser is very lenient
        return text + snippet
    found = locator.body_end or locator.html_end
    if found is None:
        at, open_elements = len(text), tuple(locator.stack)
    else:
        (line, col), open_elements = found
        at = parser_offset(text, line, col)
    inside = list(open_elements)
    for container in ("body", "html"):
        if container in inside:
            inside = inside[len(inside) - inside[::-1].index(container) :]
            break
    closers = "".join(f"</{tag}>" for tag in reversed(inside) if tag not in _IMPLICIT and tag.isalnum())
    return text[:at] + closers + snippet + text[at:]


def set_text(part: Message, text: str, codec: str, clean: bool) -> None:
    charset = part.get_content_charset()
    try:
        data = text.encode(codec, "surrogateescape")
    except UnicodeEncodeError:
        if not clean:
            raise Undecodable(charset or "us-ascii") from None
        codec = charset = "utf-8"
        data = text.encode(codec)
    cte = (part.get("Content-Transfer-Encoding") or "7bit").strip().lower()
    if cte == "base64":
        payload = base64.encodebytes(data).decode("ascii")
    elif cte == "quoted-printable" or cte in _UUENCODE or (cte in ("7bit", "") and not data.isascii()):
        cte = "quoted-printable"
        payload = quopri.encodestring(data).decode("ascii")
    else:
        # The generator writes str payloads as ASCII + surrogate escapes (the original bytes).
        payload = data.decode("ascii", "surrogateescape")
    if "Content-Transfer-Encoding" in part:
        part.replace_header("Content-Transfer-Encoding", cte)
    elif cte != "7bit":
        part["Content-Transfer-Encoding"] = cte
    if charset is not None and charset != part.get_content_charset():
        part.set_param("charset", charset)
    elif part.get_param("charset") is None and not data.isascii():
        part.set_param("charset", "utf-8")
    part.set_payload(payload)


def header_changes(old_block: bytes, new_block: bytes, eol: bytes) -> list[Effect]:
    """Milter operations turning the old top-level header block into the new one.

    Only MIME headers change in a rewrite; each is compared by name and position."""
    old = header_fields(old_block, eol)
    new = header_fields(new_block, eol if eol in new_block else b"\n")
    effects: list[Effect] = []
    for name in (
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "content-disposition",
        "content-id",
        "content-description",
        "content-language",
    ):
        before = [text for n, text in old if n == name]
        after = [text for n, text in new if n == name]
        pretty = _pretty(name)
        for i in range(max(len(before), len(after))):
            if i < len(after):
                value = _value(after[i])
                if i >= len(before):
                    effects.append(AddHeader(pretty, value))
                elif _value(before[i]) != value:
                    effects.append(ChangeHeader(pretty, value, i + 1))
        for i in range(len(before) - 1, len(after) - 1, -1):
            effects.append(ChangeHeader(pretty, None, i + 1))
    return effects


def _value(field: bytes) -> str:
    text = field.split(b":", 1)[1].decode("utf-8", "surrogateescape") if b":" in field else ""
    return " ".join(text.replace("\r", "").replace("\n", " ").split())


PLACEHOLDERS = ("school_name", "sender", "org_name")


def render_disclaimer(template_text: str, template_html: str, **values: str) -> Disclaimer:
    """Fill ``{school_name}``, ``{sender}``, ``{org_name}``: plain as is, HTML escaped.

    Plain replacement, not ``str.format``: a value can never reach into the template."""
    text = template_text
    markup = template_html
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
        markup = markup.replace("{" + key + "}", html.escape(value))
    return Disclaimer(text, markup)
