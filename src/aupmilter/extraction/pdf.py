"""Text of a PDF's first pages via pypdf, bounded; encrypted or broken files give no text."""

from __future__ import annotations

import io
import logging

# Imported with the extractor (so with the checks that use it), not on the first PDF: that import
# costs ~50 ms, which a worker process would otherwise add to the first message with a PDF it sees.
from pypdf import PdfReader

from aupmilter.extraction.bounds import TextLimits, TextSink

# pypdf reports structural oddities of the file through logging; they can quote document bytes,
# and document bytes here are confidential by assumption.  Errors only.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def pdf_text(data: bytes, limits: TextLimits) -> str:
    """Text of the first ``max_pdf_pages`` pages via pypdf; encrypted or broken PDFs give ``""``.

    pypdf is pure Python and maintained; its failures on hostile files are many and varied, so
    any exception is treated as "no text" (the message is still decided, on what else it shows).
    """
    sink = TextSink(limits.max_extracted_chars)
    # pypdf looks for the end marker by reading backwards a line at a time in Python: on a file
    # with megabytes after its last %%EOF (or none at all) that alone took 0.6 s per 2 MB.  Find
    # it at C speed and hand pypdf the document up to there; no marker, no text.
    end = data.rfind(b"%%EOF")
    if end == -1:
        return ""
    data = data[: end + 5]
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            return ""
        for i, page in enumerate(reader.pages):
            if i >= limits.max_pdf_pages or sink.size >= sink.cap:
                break
            sink.add(page.extract_text() + "\n")
    except Exception:  # pypdf raises many types on hostile input (see docstring)
        return sink.text()
    return sink.text()
