"""A safe, fuller preview of a quarantined message: everything as text, nothing rendered.

What a reviewer needs to decide without opening the message in a mail client:

* the main headers, and the whole raw header block behind a toggle (``<details>``, no script);
* the visible text of every text part (HTML converted to text, never rendered);
* every link as *text → real target*, with a known redirector (Safe Links, Proofpoint, ...)
  unwrapped to the address it forwards to; shown as text, never as a clickable link;
* per attachment: name, declared and detected type, size, SHA-256, and for CSV/TXT/PDF/DOCX/XLSX
  the extracted text (:mod:`aupmilter.extraction.text`, as the confidential check reads it, with
  small limits), so the NI numbers in a spreadsheet can be checked without downloading it.

Everything is bounded (characters per part, links, attachments, bytes read) so a hostile message
cannot make the page huge or the extraction slow; everything lands in auto-escaped templates.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from aupmilter.checks.phishing import Domains, extract_links, host_of
from aupmilter.extraction.bounds import TextLimits
from aupmilter.extraction.text import attachment_text
from aupmilter.message import MessageView

MAX_PART_CHARS = 100_000
MAX_ATTACHMENT_TEXT = 20_000
MAX_LINKS = 200
MAX_ATTACHMENTS = 50
MAX_RAW_HEADERS = 64_000
PREVIEW_LIMITS = TextLimits(
    max_attachment_bytes=10 << 20,
    max_extracted_chars=MAX_ATTACHMENT_TEXT,
    max_xml_bytes=8 << 20,
    max_pdf_pages=10,
)
MAIN_HEADERS = ("From", "Reply-To", "To", "Cc", "Date", "Subject")


@dataclass(frozen=True)
class LinkRow:
    text: str
    href: str
    target: str  # where it really goes (redirector unwrapped), "" when that is href itself
    host: str


@dataclass(frozen=True)
class AttachmentRow:
    name: str
    declared_type: str
    detected_type: str
    size: int
    sha256: str
    kind: str  # "text", "pdf", "docx", "xlsx" or "" (no text preview)
    text: str
    truncated: bool


@dataclass(frozen=True)
class Preview:
    headers: tuple[tuple[str, str], ...]
    raw_headers: str
    texts: tuple[tuple[str, str, str], ...]
    links: tuple[LinkRow, ...]
    attachments: tuple[AttachmentRow, ...]


def unwrap(href: str, domains: Domains, depth: int = 3) -> str:
    """The address a known redirector forwards to (first http(s) URL among its parameters)."""
    target = href
    for _ in range(depth):
        host = host_of(target)
        if host is None or not domains.is_redirector(host):
            break
        try:
            params = parse_qsl(urlsplit(target).query)
        except ValueError:
            break
        inner = next((unquote(v) for _, v in params if host_of(unquote(v))), "")
        if not inner:
            break
        target = inner
    return target if target != href else ""


def build(raw: bytes, domains: Domains) -> Preview:
    view = MessageView(raw)
    head, _, _ = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw[:MAX_RAW_HEADERS] else raw.partition(b"\n\n")
    links = []
    seen: set[tuple[str, str]] = set()
    for link in extract_links(view, MAX_LINKS):
        key = (link.text.strip(), link.href)
        if key in seen:
            continue
        seen.add(key)
        links.append(
            LinkRow(
                text=" ".join(link.text.split())[:300],
                href=link.href[:2000],
                target=unwrap(link.href, domains)[:2000],
                host=host_of(unwrap(link.href, domains) or link.href) or "",
            )
        )
    attachments = []
    for att in view.attachments[:MAX_ATTACHMENTS]:
        try:
            kind, text = attachment_text(att, PREVIEW_LIMITS)
        except Exception:  # a broken file gives no preview, never a broken page
            kind, text = "", ""
        attachments.append(
            AttachmentRow(
                name=att.filename or "(unnamed)",
                declared_type=att.declared_type,
                detected_type=att.detected_mime,
                size=len(att.data),
                sha256=hashlib.sha256(att.data).hexdigest(),
                kind=kind,
                text=text[:MAX_ATTACHMENT_TEXT],
                truncated=len(text) >= MAX_ATTACHMENT_TEXT,
            )
        )
    return Preview(
        headers=tuple((n, view.header(n) or "") for n in MAIN_HEADERS if view.header(n)),
        raw_headers=head[:MAX_RAW_HEADERS].decode("utf-8", errors="replace"),
        texts=tuple((p.location, p.content_type, p.text[:MAX_PART_CHARS]) for p in view.text_parts),
        links=tuple(links),
        attachments=tuple(attachments),
    )
