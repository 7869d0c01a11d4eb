"""Reading what is inside attachments, within hard bounds, for the checks and the web preview.

| module | concept |
|---|---|
| :mod:`.archives` | walk containers (zip, tar, gzip, 7z, attached messages) within bounds |
| :mod:`.documents` | recognise office documents by structure; flag macros, embedded objects, DDE |
| :mod:`.text` | one attachment's text whatever its format (the entry point for text) |
| :mod:`.ooxml` | XLSX and DOCX text streamed through expat, DTDs refused |
| :mod:`.pdf` | PDF text via pypdf, page-capped |
| :mod:`.bounds` | the caps on text extraction and the sink that enforces them |

Everything here is data in, data out: no check, policy or configuration is imported, so any check
(and any adapter) can use it.  What is not extracted within the bounds is not seen, never an error.
"""
