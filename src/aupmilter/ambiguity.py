"""Ambiguous MIME: structure that two parsers can read two ways is suspicious, not harmless.

A message with ``boundary="A"; boundary="B"`` is split on ``A`` by Python's parser and perhaps on
``B`` by the recipient's mail client; ``Content-Type : multipart/mixed`` (a space before the
colon) ends Python's header block while some clients read on; two ``Content-Transfer-Encoding``
headers, a ``filename`` that disagrees with ``name``, base64 with padding in the middle — each
lets an attachment hide from one reader and reach another.  Attackers use exactly these
parser differentials.

This module finds them (from the parsed tree's raw headers plus a scan of the raw bytes, so it
costs a few regexes on ordinary mail) and, where it can, *constructs the other readings*: an
alternative raw message (the other boundary, the other header, the other name) or an alternative
decoded attachment.  The attachment check evaluates every reading and reports the strictest
result, and raises ``mime.ambiguous`` (policy: quarantine inbound, block outbound) in any case.
"""

from __future__ import annotations

import binascii
import logging
import re
from dataclasses import dataclass, field
from email.message import Message

#: Readings constructed per message at most (each costs a parse); more ambiguity is still raised.
MAX_READINGS = 8

_STRUCTURAL = ("content-type", "content-transfer-encoding", "content-disposition")
_KNOWN_CTE = frozenset(
    {"7bit", "8bit", "binary", "base64", "quoted-printable", "x-uuencode", "uuencode", "x-uue", "uue"}
)
_PARAM = re.compile(r';\s*([A-Za-z0-9_.*-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)')
_SPACE_BEFORE_COLON = re.compile(rb"(?im)^(content-(?:type|transfer-encoding|disposition))[ \t]+:")
_DELIMITER = re.compile(rb"(?m)^--([^\r\n]{1,70}?)[ \t]*\r?$")
_BASE64_BODY = re.compile(rb"^[A-Za-z0-9+/=\s]+$")

log = logging.getLogger("aupmilter.ambiguity")


@dataclass
class Ambiguity:
    """What was found: ``evidence`` lines, alternative raw messages, alternative attachments."""

    evidence: list[str] = field(default_factory=list)
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    attachments: list[tuple[str, str, bytes, str]] = field(default_factory=list)  # why, name, data, type

    def note(self, why: str) -> None:
        if why not in self.evidence:
            self.evidence.append(why)

    def reading(self, why: str, raw: bytes, original: bytes) -> None:
        if raw != original and len(self.messages) < MAX_READINGS and all(raw != r for _, r in self.messages):
            self.messages.append((why, raw))


def analyse(raw: bytes, msg: Message, max_parts: int = 2000, max_depth: int = 30) -> Ambiguity:
    """Every ambiguity in ``raw`` (parsed as ``msg``) and the other readings it allows."""
    out = Ambiguity()
    boundaries: list[str] = []
    stack: list[tuple[Message, int]] = [(msg, 0)]
    seen = 0
    header_ended_early = False
    while stack and seen < max_parts:
        part, depth = stack.pop()
        seen += 1
        header_ended_early = header_ended_early or any(
            type(d).__name__ == "MissingHeaderBodySeparatorDefect" for d in getattr(part, "defects", ())
        )
        try:
            _part(part, raw, out, boundaries)
        except Exception:  # hostile structure the stdlib itself chokes on: the defects say so
            log.debug("ambiguity analysis failed for one part", exc_info=True)
        if part.is_multipart() and depth < max_depth:
            children = part.get_payload()
            if isinstance(children, list):
                stack.extend((c, depth + 1) for c in reversed(children) if isinstance(c, Message))
    if header_ended_early:
        # Python ended a header block at a line it could not read as a header: the raw bytes
        # say whether that line was a Content-* header with a space before its colon.
        for match in _SPACE_BEFORE_COLON.finditer(raw):
            name = match.group(1).decode("ascii", "replace")
            out.note(f"space before the colon of {name}")
            out.reading(f"{name} read despite the space", _SPACE_BEFORE_COLON.sub(rb"\1:", raw), raw)
            break
    for outer in boundaries:
        for inner in boundaries:
            if inner != outer and inner.startswith(outer):
                out.note(f"boundary {outer[:40]!r} is a prefix of boundary {inner[:40]!r}")
    return out


def _raw_headers(part: Message) -> list[tuple[str, str]]:
    try:
        return [(k, str(v)) for k, v in part.raw_items()]
    except Exception:
        return []


def _header_line(name: str, value: str, raw: bytes) -> re.Pattern[bytes] | None:
    """A pattern matching the raw header line ``name: value`` (folds included) in ``raw``."""
    encoded = value.encode("utf-8", "surrogateescape")
    pattern = re.compile(
        rb"(?im)^" + re.escape(name.encode("ascii", "replace")) + rb"[ \t]*:[ \t]*" + re.escape(encoded) + rb"\r?\n"
    )
    return pattern if pattern.search(raw) else None


def _without(raw: bytes, pattern: re.Pattern[bytes] | None) -> bytes:
    return pattern.sub(b"", raw) if pattern is not None else raw


def _replace_value(raw: bytes, name: str, old: str, new: str) -> bytes:
    pattern = _header_line(name, old, raw)
    if pattern is None:
        return raw
    line = f"{name}: {new}\r\n".encode("utf-8", "surrogateescape")
    return pattern.sub(lambda _m: line, raw)


def _part(part: Message, raw: bytes, out: Ambiguity, boundaries: list[str]) -> None:
    headers = _raw_headers(part)
    by_name: dict[str, list[str]] = {}
    for key, value in headers:
        if key.lower() in _STRUCTURAL:
            by_name.setdefault(key.lower(), []).append(value)
    for name, values in by_name.items():
        if len(values) > 1:
            distinct = {" ".join(v.lower().split()) for v in values}
            if len(distinct) > 1:
                out.note(f"{len(values)} different {name} headers in one part")
                # Each other reading: keep only one of the occurrences.
                for keep in range(len(values)):
                    alternative = raw
                    original_name = next(k for k, v in headers if k.lower() == name and v == values[keep])
                    for other, value in enumerate(values):
                        if other != keep:
                            alternative = _without(alternative, _header_line(original_name, value, alternative))
                    out.reading(f"the {name} header {values[keep][:60]!r}", alternative, raw)
    for name in ("content-type", "content-disposition"):
        for value in by_name.get(name, [])[:1]:
            _parameters(name, value, raw, out, boundaries)
    _names_disagree(by_name, headers, raw, out)
    cte = by_name.get("content-transfer-encoding", [])
    if cte and not part.is_multipart():
        _encoding(part, cte[0], raw, out)
    declared = by_name.get("content-type", [""])[0].split(";", 1)[0].strip().lower()
    if declared.startswith("multipart/") and not part.is_multipart():
        # Declared multipart, read as one text part (no usable boundary): a client may guess.
        body = part.get_payload()
        if isinstance(body, str):
            guess = _DELIMITER.search(body.encode("utf-8", "surrogateescape"))
            if guess is not None:
                boundary = guess.group(1).decode("utf-8", "replace")
                out.note(f"multipart without a usable boundary; the body uses {boundary[:40]!r}")
                for value in by_name.get("content-type", [])[:1]:
                    stripped = re.sub(r';\s*boundary\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)', "", value, flags=re.I)
                    out.reading(
                        f"boundary {boundary[:40]!r}",
                        _replace_value(
                            raw, _original(headers, "content-type"), value, f'{stripped}; boundary="{boundary}"'
                        ),
                        raw,
                    )


def _original(headers: list[tuple[str, str]], name: str) -> str:
    return next((k for k, _ in headers if k.lower() == name), name)


def _parameters(header: str, value: str, raw: bytes, out: Ambiguity, boundaries: list[str]) -> None:
    params: dict[str, list[tuple[str, str]]] = {}
    for match in _PARAM.finditer(value):
        key = match.group(1).lower()
        if re.search(r"\*\d+\*?$", key):
            continue  # RFC 2231 continuations (name*0*, name*1*) are one value in pieces
        params.setdefault(key, []).append((match.group(0), _unquote(match.group(2))))
    if header == "content-type" and "boundary" in params:
        boundaries.extend(v for _, v in params["boundary"])
    for key, occurrences in params.items():
        values = {v for _, v in occurrences}
        if len(occurrences) > 1 and len(values) > 1:
            out.note(f"{header} has {len(occurrences)} different {key} parameters")
            for keep, (_, kept) in enumerate(occurrences):
                alternative_value = value
                for other, (text, _) in enumerate(occurrences):
                    if other != keep:
                        alternative_value = alternative_value.replace(text, "", 1)
                headers_name = "Content-Type" if header == "content-type" else "Content-Disposition"
                out.reading(f"{key}={kept[:60]!r}", _replace_any(raw, headers_name, value, alternative_value), raw)
    plain, extended = params.get("filename", params.get("name", [])), params.get("filename*", params.get("name*", []))
    if plain and extended:
        decoded = _decode_2231(extended[0][1])
        if _extension(decoded) != _extension(plain[0][1]):
            out.note(f"{header} names the file both {plain[0][1][:60]!r} and {decoded[:60]!r}")
            headers_name = "Content-Type" if header == "content-type" else "Content-Disposition"
            for why, drop in ((plain[0][1], extended[0][0]), (decoded, plain[0][0])):
                alternative = _replace_any(raw, headers_name, value, value.replace(drop, "", 1))
                out.reading(f"name {why[:60]!r}", alternative, raw)


def _replace_any(raw: bytes, name: str, old: str, new: str) -> bytes:
    """Replace the header ``name: old`` whatever the case of its name in the message."""
    for spelling in (name, name.lower(), name.upper()):
        replaced = _replace_value(raw, spelling, old, new)
        if replaced != raw:
            return replaced
    pattern = re.compile(
        rb"(?im)^"
        + re.escape(name.encode())
        + rb"[ \t]*:[ \t]*"
        + re.escape(old.encode("utf-8", "surrogateescape"))
        + rb"\r?\n"
    )
    return pattern.sub(lambda _m: f"{name}: {new}\r\n".encode("utf-8", "surrogateescape"), raw)


def _names_disagree(by_name: dict[str, list[str]], headers: list[tuple[str, str]], raw: bytes, out: Ambiguity) -> None:
    """Content-Disposition's filename and Content-Type's name naming different file types."""
    filename = _param(by_name.get("content-disposition", [""])[0], "filename")
    name = _param(by_name.get("content-type", [""])[0], "name")
    if not filename or not name or _extension(filename) == _extension(name):
        return
    out.note(f"filename {filename[:60]!r} disagrees with name {name[:60]!r}")
    for key, value in headers:
        if key.lower() == "content-disposition":
            stripped = re.sub(r';\s*filename\*?\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)', "", value, flags=re.I)
            out.reading(f"name {name[:60]!r}", _replace_value(raw, key, value, stripped), raw)
            break


def _param(value: str, key: str) -> str:
    """A parameter's value from a raw header value: ``key*`` (RFC 2231) over ``key``, RFC 2047
    encoded words decoded; "" when absent."""
    plain = extended = ""
    for match in _PARAM.finditer(value):
        name = match.group(1).lower()
        if name == key and not plain:
            plain = _unquote(match.group(2))
        elif name == key + "*" and not extended:
            extended = _decode_2231(_unquote(match.group(2)))
    if extended:
        return extended
    if "=?" in plain:
        from email.header import decode_header, make_header

        try:
            plain = str(make_header(decode_header(plain)))
        except Exception:
            return plain
    return plain


def _encoding(part: Message, cte: str, raw: bytes, out: Ambiguity) -> None:
    value = cte.strip().lower()
    if value in _KNOWN_CTE and value != "base64":
        return
    payload = part.get_payload()
    if value == "base64" and not (isinstance(payload, str) and _padding_inside_text(payload)):
        return
    body = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
    name = part.get_filename() or part.get_param("name") or "(unnamed part)"
    if value not in _KNOWN_CTE:
        out.note(f"unknown Content-Transfer-Encoding {cte.strip()[:40]!r}")
        if body and _BASE64_BODY.match(body):
            decoded = _lenient_base64(body)
            if decoded:
                out.attachments.append(
                    (f"{cte.strip()[:40]!r} read as base64", str(name), decoded, part.get_content_type())
                )
        return
    if value == "base64" and body and _padding_inside(body):
        out.note("base64 continues after its padding")
        decoded = _lenient_base64(body)
        if decoded:
            out.attachments.append(("base64 read past its padding", str(name), decoded, part.get_content_type()))


def _padding_inside_text(body: str) -> bool:
    first = body.find("=")
    return first >= 0 and bool(body[first:].strip("= \t\r\n"))


def _padding_inside(body: bytes) -> bool:
    """Base64 characters after the first padding (found with bytes.find: bodies are large)."""
    first = body.find(b"=")
    return first >= 0 and bool(body[first:].translate(None, b"= \t\r\n"))


def _lenient_base64(body: bytes) -> bytes:
    """Decode as a streaming client decoder does: padding ends a group, and decoding goes on
    with the characters after it (Python's decoder stops at the first padding)."""
    cleaned = re.sub(rb"[^A-Za-z0-9+/=]", b"", body)
    out = bytearray()
    for segment in re.split(rb"(?<==)(?=[A-Za-z0-9+/])", cleaned):
        segment = segment.rstrip(b"=")
        segment = segment[: len(segment) - len(segment) % 4] + (
            segment[len(segment) - len(segment) % 4 :] + b"=" * (-len(segment) % 4)
            if len(segment) % 4 in (2, 3)
            else b""
        )
        try:
            out += binascii.a2b_base64(segment)
        except binascii.Error:
            continue
    return bytes(out)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _decode_2231(value: str) -> str:
    from urllib.parse import unquote

    charset, sep, rest = value.partition("'")
    if sep:
        _, _, text = rest.partition("'")
        try:
            return unquote(text, encoding=charset or "utf-8", errors="replace")
        except LookupError:
            return unquote(text)
    return unquote(value)


def _extension(name: str) -> str:
    base = name.strip().rstrip(". ").replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""
