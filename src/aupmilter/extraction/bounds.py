"""Bounds on text extraction: what one attachment may cost, and the sink that stops collecting.

Every extractor here is bounded, because attachments are hostile input: what is not extracted is
not seen, never an error.  The limits are the caller's (a check's rules file, the web preview's
smaller ones).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TextLimits:
    """Caps for extracting one attachment's text; the caller's own (the confidential check's
    ``[limits]``, the web preview's smaller ones), so there are no defaults here."""

    max_attachment_bytes: int  # larger attachments are not read at all
    max_extracted_chars: int  # text kept per attachment
    max_xml_bytes: int  # XML read per OOXML attachment, all members together
    max_pdf_pages: int


class TextSink:
    """Collects extracted text up to a character cap (then stops collecting, quietly)."""

    def __init__(self, cap: int) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.cap = cap

    def add(self, text: str) -> None:
        if self.size < self.cap:
            self.parts.append(text)
            self.size += len(text)

    def text(self) -> str:
        return "".join(self.parts)[: self.cap]
