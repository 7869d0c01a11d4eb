"""One attachment's text, whatever its format: OOXML and PDF by content, CSV/TXT by name or type."""

from __future__ import annotations

import codecs

from aupmilter.extraction.bounds import TextLimits
from aupmilter.extraction.documents import ZIP_MAGIC
from aupmilter.extraction.ooxml import ooxml_text
from aupmilter.extraction.pdf import pdf_text
from aupmilter.message import Attachment

_TEXT_EXTS = (".csv", ".txt", ".tsv", ".tab")
_TEXT_TYPES = {
    "text/csv",
    "text/plain",
    "text/tab-separated-values",
    "application/csv",
    "text/x-csv",
    "text/comma-separated-values",
}


def attachment_text(att: Attachment, limits: TextLimits) -> tuple[str, str]:
    """``(kind, text)`` extracted from one attachment; kind ``""`` when not a readable format.

    The kind is decided by content (a zip holding ``xl/workbook.xml`` is a spreadsheet whatever
    it is called), then by name or declared type for plain text, so a renamed file is still read.
    """
    data = att.data
    if not data or len(data) > limits.max_attachment_bytes:
        return ("", "")
    if data.startswith(ZIP_MAGIC):
        return ooxml_text(data, limits)
    if b"%PDF-" in data[:1024]:
        return ("pdf", pdf_text(data, limits))
    name = (att.filename or "").lower()
    if name.endswith(_TEXT_EXTS) or att.declared_type in _TEXT_TYPES:
        return ("text", _decode(data[: limits.max_extracted_chars * 4])[: limits.max_extracted_chars])
    return ("", "")


def _decode(data: bytes) -> str:
    """CSV/TXT bytes as text: a BOM decides, else UTF-8, else Windows-1252 (Excel's CSV)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    if b"\x00" in data[:8192]:
        return ""  # binary that only claims to be text
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")
