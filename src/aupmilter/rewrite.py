"""MIME surgery for the disclaimer: change the body text, never anything else.

Users of every gateway complain about disclaimers that corrupt attachments, break charsets,
stack up in reply chains or break signatures.  The rules here:

* Only the message's *body text* is touched: in multipart/alternative both the plain and the
  HTML version; in multipart/mixed and multipart/related the first body part (never a part with
  a filename or ``Content-Disposition: attachment``).  Every other part is re-emitted from its
  original encoded bytes, so it decodes byte-identically.
* text/plain keeps its charset when the disclaimer can be represented in it, otherwise the part
  is re-encoded as UTF-8; the transfer encoding is kept (base64 stays base64, quoted-printable
  stays quoted-printable) or, for 7bit text that gains non-ASCII, becomes quoted-printable.
  format=flowed is respected: disclaimer lines never end in a space.
* text/html gets the disclaimer before the last ``</body>`` (or at the end), never inside an
  unclosed ``<pre>``; placeholders are HTML-escaped.
* A message with no body text (only an attachment) is wrapped in multipart/mixed with a
  disclaimer part first.
* multipart/signed, application/pkcs7-mime and encrypted mail is left untouched (or, when so
  configured, wrapped whole as the second part of a multipart/mixed, which keeps the signature
  verifiable).
* Idempotent: the rewrite adds ``X-AUP-Disclaimer: <domain>``; a message that already carries
  it (a second pass through the gateway) is left alone.  Replies never carry it (mail clients do
  not copy X- headers), so a reply quoting an earlier message still gets its own disclaimer.
"""

from __future__ import annotations

import base64
import email
import email.policy
import html
import io
import quopri
import secrets
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import Message

from aupmilter.model import AddHeader, ChangeHeader, Effect, ReplaceBody
from aupmilter.render import header_fields, split_message

MARKER_HEADER = "X-AUP-Disclaimer"
_POLICY = email.policy.compat32.clone(max_line_length=0)
_SIGNED_TYPES = {
    "multipart/signed",
    "multipart/encrypted",
    "application/pkcs7-mime",
    "application/x-pkcs7-mime",
    "application/pgp-encrypted",
}


class Untouchable(Exception):
    """The message is signed or encrypted: rewriting it would break it."""


class Ambiguous(Exception):
    """The MIME structure is broken (missing or re-used boundaries): clients disagree on where
    parts start and end, so any surgery could change what the recipient sees.  Left as it is."""


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


def rewrite(raw: bytes, disclaimer: Disclaimer, domain: str, *, wrap_signed: bool = False) -> RewriteResult | None:
    """Effects that add the disclaimer to ``raw``; ``None`` when there is nothing to do.

    Raises :class:`Untouchable` for signed/encrypted mail unless ``wrap_signed``."""
    msg = email.message_from_bytes(raw, policy=_POLICY)
    if msg.get(MARKER_HEADER) is not None:
        return None
    if structure_defects(msg):
        raise Ambiguous(", ".join(sorted(structure_defects(msg))))
    block, eol, _ = split_message(raw)
    linesep = eol.decode()
    if is_signed_or_encrypted(msg):
        if not wrap_signed:
            raise Untouchable(msg.get_content_type())
        return _wrap(raw, disclaimer, domain)
    targets = _body_parts(msg)
    if not targets:
        return _wrap(raw, disclaimer, domain)
    for part in targets:
        _append(part, disclaimer)
    out = io.BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=_POLICY.clone(linesep=linesep)).flatten(msg)
    new_block, _, new_body = split_message(out.getvalue())
    effects: list[Effect] = list(_header_changes(block, new_block, eol))
    effects.append(ReplaceBody(new_body))
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


def _wrap(raw: bytes, disclaimer: Disclaimer, domain: str) -> RewriteResult:
    """multipart/mixed: [disclaimer text, the original entity], built from the original bytes.

    The original entity's own header lines and body are copied byte for byte, so a signed
    entity still verifies and an attachment decodes identically."""
    block, eol, body = split_message(raw)
    fields = header_fields(block, eol)
    entity = [text for name, text in fields if name in _ENTITY_HEADERS] or [b"Content-Type: text/plain"]
    boundary = f"=_aup_{secrets.token_hex(12)}".encode()
    note = quopri.encodestring(disclaimer.text.strip().encode("utf-8").replace(b"\n", b"\r\n") + b"\r\n")
    new_body = (
        eol.join(
            [
                b"This is a multi-part message in MIME format.",
                b"",
                b"--" + boundary,
                b'Content-Type: text/plain; charset="utf-8"',
                b"Content-Transfer-Encoding: quoted-printable",
                b"",
                note.replace(b"\r\n", b"\n").replace(b"\n", eol).rstrip(eol),
                b"--" + boundary,
                *entity,
                b"",
            ]
        )
        + eol
        + body.rstrip(b"\r\n")
        + eol
        + b"--"
        + boundary
        + b"--"
        + eol
    )
    effects: list[Effect] = []
    for name in _ENTITY_HEADERS:
        count = sum(1 for n, _ in fields if n == name)
        pretty = "-".join(w.capitalize() for w in name.split("-")).replace("Id", "ID").replace("Md5", "MD5")
        effects.extend(ChangeHeader(pretty, None, i) for i in range(count, 0, -1))
    if not any(n == "mime-version" for n, _ in fields):
        effects.append(AddHeader("MIME-Version", "1.0"))
    effects.append(AddHeader("Content-Type", f'multipart/mixed; boundary="{boundary.decode()}"'))
    effects.append(ReplaceBody(new_body))
    effects.append(AddHeader(MARKER_HEADER, domain))
    return RewriteResult(tuple(effects), 1, True)


def _is_attachment(part: Message) -> bool:
    return part.get_content_disposition() == "attachment" or part.get_filename() is not None


def _body_parts(msg: Message) -> list[Message]:
    """The parts that carry the body text (see module docstring)."""
    ctype = msg.get_content_type()
    if not msg.is_multipart():
        if ctype in ("text/plain", "text/html") and not _is_attachment(msg):
            return [msg]
        return []
    children = [c for c in msg.get_payload() if isinstance(c, Message)]
    if ctype == "multipart/alternative":
        found: list[Message] = []
        for child in children:
            if child.get_content_type() in ("text/plain", "text/html") and not _is_attachment(child):
                if all(f.get_content_type() != child.get_content_type() for f in found):
                    found.append(child)
            elif child.is_multipart() and child.get_content_type() == "multipart/related":
                found += [p for p in _body_parts(child) if p.get_content_type() == "text/html"][:1]
        return found
    if ctype in _SIGNED_TYPES:
        return []
    if ctype.startswith("multipart/") and children:
        first = children[0]
        if first.is_multipart() or (
            first.get_content_type() in ("text/plain", "text/html") and not _is_attachment(first)
        ):
            return _body_parts(first)
    return []


def _decoded_text(part: Message) -> tuple[str, str]:
    data = part.get_payload(decode=True)
    raw = data if isinstance(data, bytes) else b""
    charset = part.get_content_charset() or "us-ascii"
    try:
        return raw.decode(charset), charset
    except (LookupError, UnicodeDecodeError, ValueError):
        return raw.decode("utf-8", "replace"), "utf-8"


def _append(part: Message, disclaimer: Disclaimer) -> None:
    text, charset = _decoded_text(part)
    if part.get_content_type() == "text/html":
        new = _insert_html(text, disclaimer.html)
    else:
        nl = "\r\n" if "\r\n" in text else "\n"
        lines = [line.rstrip() for line in disclaimer.text.strip().splitlines()]
        new = text.rstrip("\r\n") + nl + nl + nl.join(lines) + nl
    _set_text(part, new, charset)


def _insert_html(text: str, snippet: str) -> str:
    lower = text.lower()
    at = lower.rfind("</body>")
    if at == -1:
        at = len(text)
    pre_open = lower.rfind("<pre", 0, at)
    if pre_open != -1 and lower.rfind("</pre>", pre_open, at) == -1:
        at = len(text)  # an unclosed <pre> before the insertion point: append at the very end
    return text[:at] + snippet + text[at:]


def _set_text(part: Message, text: str, charset: str) -> None:
    try:
        data = text.encode(charset)
    except (UnicodeEncodeError, LookupError):
        charset = "utf-8"
        data = text.encode(charset)
    cte = (part.get("Content-Transfer-Encoding") or "7bit").strip().lower()
    if cte == "base64":
        payload = base64.encodebytes(data).decode("ascii")
    elif cte == "quoted-printable" or (cte in ("7bit", "") and not data.isascii()):
        cte = "quoted-printable"
        payload = quopri.encodestring(data).decode("ascii")
    else:
        # The generator writes str payloads as ASCII + surrogate escapes (the original bytes).
        payload = data.decode("ascii", "surrogateescape")
    if "Content-Transfer-Encoding" in part:
        part.replace_header("Content-Transfer-Encoding", cte)
    elif cte != "7bit":
        part["Content-Transfer-Encoding"] = cte
    if part.get_param("charset") is not None or not data.isascii():
        part.set_param("charset", charset)
    part.set_payload(payload)


def _header_changes(old_block: bytes, new_block: bytes, eol: bytes) -> list[Effect]:
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
        pretty = "-".join(w.capitalize() for w in name.split("-")).replace("Mime", "MIME").replace("Id", "ID")
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


def render_disclaimer(template_text: str, template_html: str, **values: str) -> Disclaimer:
    """Fill ``{school_name}``, ``{sender}``, ``{org_name}``: plain as is, HTML escaped."""
    safe = {k: html.escape(v) for k, v in values.items()}
    text = template_text
    markup = template_html
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
        markup = markup.replace("{" + key + "}", safe[key])
    return Disclaimer(text, markup)
