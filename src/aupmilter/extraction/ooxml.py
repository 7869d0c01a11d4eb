"""Text of Office Open XML spreadsheets (XLSX) and Word documents (DOCX), streamed through expat.

Shared strings and worksheets (as tab-separated rows), or ``word/document.xml`` (paragraphs as
lines, table cells separated by tabs), read from the zip with :mod:`pyexpat` under byte caps and
with document type declarations refused (no entity expansion at all, defusedxml's rule).
"""

from __future__ import annotations

import io
import pyexpat
import re
import zipfile
from collections.abc import Callable, Sequence
from typing import Any

from aupmilter.extraction.bounds import TextLimits, TextSink

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_WORD_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_SHEET_NAME = re.compile(r"^xl/worksheets/sheet\d+\.xml$")


class _Refused(Exception):
    """An XML member we will not parse (a DTD or entity declaration, or over its byte cap)."""


def _xml_events(
    stream: io.BufferedIOBase | Any,
    cap: int,
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None],
    chars: Callable[[str], None],
) -> int:
    """Stream one XML member through expat with namespaces resolved; returns bytes read.

    Office Open XML never carries a document type declaration, so any DTD or entity declaration
    is refused outright (defusedxml's rule: no entity expansion, no external fetch).  Reading
    stops at ``cap`` bytes.
    """
    parser = pyexpat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse(*_: Any) -> None:
        raise _Refused("document type declaration")

    def refuse_external(*_: Any) -> int:
        raise _Refused("external entity")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse_external
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.buffer_text = True
    read = 0
    while True:
        chunk = stream.read(min(65536, cap - read + 1))
        if not chunk:
            break
        read += len(chunk)
        if read > cap:
            raise _Refused("over byte cap")
        parser.Parse(chunk, False)
    parser.Parse(b"", True)
    return read


def ooxml_text(data: bytes, limits: TextLimits) -> tuple[str, str]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        return ("", "")
    sink = TextSink(limits.max_extracted_chars)
    budget = [limits.max_xml_bytes]
    try:
        if "xl/workbook.xml" in names:
            shared = _shared_strings(zf, names, budget, limits)
            sheets = sorted((n for n in names if _SHEET_NAME.match(n)), key=lambda n: int(re.sub(r"\D", "", n) or 0))
            for name in sheets:
                _sheet_text(zf, name, shared, sink, budget)
                sink.add("\n\n")  # a blank line between sheets: each has its own header row
            return ("xlsx", sink.text())
        if "word/document.xml" in names:
            _docx_text(zf, "word/document.xml", sink, budget)
            return ("docx", sink.text())
    except (_Refused, pyexpat.ExpatError, zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
        # Unreadable or hostile: whatever was read before the problem is still scanned.
        return ("xlsx" if "xl/workbook.xml" in names else "docx", sink.text())
    return ("", "")


def _parse_member(
    zf: zipfile.ZipFile,
    name: str,
    budget: list[int],
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None],
    chars: Callable[[str], None],
) -> None:
    """Parse one zip member, charging its bytes to the attachment's XML budget (``budget[0]``)."""
    if budget[0] <= 0:
        raise _Refused("xml budget spent")
    with zf.open(name) as stream:
        budget[0] -= _xml_events(stream, budget[0], start, end, chars)


def _shared_strings(zf: zipfile.ZipFile, names: Sequence[str], budget: list[int], limits: TextLimits) -> list[str]:
    """``xl/sharedStrings.xml``: the text of each ``<si>`` (phonetic ``<rPh>`` runs skipped)."""
    if "xl/sharedStrings.xml" not in names:
        return []
    strings: list[str] = []
    current: list[str] = []
    state = {"in_t": False, "in_rph": False, "size": 0}
    si, t, rph = f"{_MAIN_NS} si", f"{_MAIN_NS} t", f"{_MAIN_NS} rPh"

    def start(tag: str, _attrs: dict[str, str]) -> None:
        if tag == si:
            current.clear()
        elif tag == t:
            state["in_t"] = True
        elif tag == rph:
            state["in_rph"] = True

    def end(tag: str) -> None:
        if tag == si:
            text = "".join(current)
            if state["size"] < limits.max_extracted_chars:
                state["size"] += len(text)
            else:
                text = ""  # keep indices right, stop holding text
            strings.append(text)
        elif tag == t:
            state["in_t"] = False
        elif tag == rph:
            state["in_rph"] = False

    def chars(text: str) -> None:
        if state["in_t"] and not state["in_rph"]:
            current.append(text)

    _parse_member(zf, "xl/sharedStrings.xml", budget, start, end, chars)
    return strings


def _sheet_text(zf: zipfile.ZipFile, name: str, shared: list[str], sink: TextSink, budget: list[int]) -> None:
    """A worksheet as lines of tab-separated cell values (shared and inline strings resolved)."""
    row_tag, c_tag, v_tag, t_tag = (f"{_MAIN_NS} {x}" for x in ("row", "c", "v", "t"))
    row: list[str] = []
    cell: dict[str, Any] = {"type": "", "text": [], "capture": False}

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag == c_tag:
            cell["type"] = attrs.get("t", "")
            cell["text"] = []
        elif tag in (v_tag, t_tag):
            cell["capture"] = True

    def end(tag: str) -> None:
        if tag in (v_tag, t_tag):
            cell["capture"] = False
        elif tag == c_tag:
            value = "".join(cell["text"]).strip()
            if cell["type"] == "s":
                index = int(value) if value.isdigit() else -1
                value = shared[index] if 0 <= index < len(shared) else ""
            row.append(value)
        elif tag == row_tag:
            sink.add("\t".join(row) + "\n")
            row.clear()

    def chars(text: str) -> None:
        if cell["capture"]:
            cell["text"].append(text)

    _parse_member(zf, name, budget, start, end, chars)


def _docx_text(zf: zipfile.ZipFile, name: str, sink: TextSink, budget: list[int]) -> None:
    """``word/document.xml`` as text: paragraphs as lines, table cells separated by tabs."""
    t_tag, p_tag, tc_tag, tab_tag, br_tag = (f"{_WORD_NS} {x}" for x in ("t", "p", "tc", "tab", "br"))
    state = {"in_t": False, "cell_paragraphs": 0, "in_cell": 0}

    def start(tag: str, _attrs: dict[str, str]) -> None:
        if tag == t_tag:
            state["in_t"] = True
        elif tag == tab_tag:
            sink.add("\t")
        elif tag == br_tag:
            sink.add("\n")
        elif tag == tc_tag:
            state["in_cell"] += 1

    def end(tag: str) -> None:
        if tag == t_tag:
            state["in_t"] = False
        elif tag == p_tag:
            # Inside a table cell a paragraph ends with a space, so the row stays one line.
            sink.add(" " if state["in_cell"] else "\n")
        elif tag == tc_tag:
            state["in_cell"] -= 1
            sink.add("\t")
        elif tag == f"{_WORD_NS} tr":
            sink.add("\n")

    def chars(text: str) -> None:
        if state["in_t"]:
            sink.add(text)

    _parse_member(zf, name, budget, start, end, chars)
