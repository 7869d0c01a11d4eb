"""Build attachment fixtures from real files on the machine (never from ../shared).

Real Windows PE files ship inside pip (``pip/_vendor/distlib/*.exe``); real ELF binaries and
scripts are on every Debian box.  Office/ODF/PDF documents are generated minimally but
well-formed (the containers and magic bytes real tools write).
"""

from __future__ import annotations

import html
import io
import subprocess
import tarfile
import tempfile
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pip

PE_FILE = Path(pip.__file__).parent / "_vendor" / "distlib" / "t64.exe"
PE32_FILE = Path(pip.__file__).parent / "_vendor" / "distlib" / "w32.exe"
ELF_FILE = Path("/bin/true")


def pe_bytes() -> bytes:
    return PE_FILE.read_bytes()


def zip_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def encrypted_zip_of(members: dict[str, bytes], password: str = "secret") -> bytes:
    """ZipCrypto, written by Info-ZIP's zip(1) as a sender's tool would."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in members.items():
            (Path(tmp) / name).write_bytes(data)
        subprocess.run(["zip", "-q", "-P", password, "out.zip", *members], cwd=tmp, check=True)
        return (Path(tmp) / "out.zip").read_bytes()


def targz_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def sevenzip_of(members: dict[str, bytes], password: str | None = None) -> bytes:
    import py7zr

    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w", password=password, header_encryption=False) as archive:
        for name, data in members.items():
            archive.writestr(data, name)
    return buf.getvalue()


def docx(macro: bool = False) -> bytes:
    members = {
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>',
        "_rels/.rels": b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>',
        "word/document.xml": b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Minutes</w:t></w:r></w:p></w:body></w:document>',
    }
    if macro:
        members["word/vbaProject.bin"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    return zip_of(members)


def xlsx() -> bytes:
    return zip_of(
        {
            "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
            "xl/workbook.xml": b'<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>',
        }
    )


def odt() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), b"application/vnd.oasis.opendocument.text")
        zf.writestr(
            "content.xml",
            b'<?xml version="1.0"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>',
        )
        zf.writestr(
            "META-INF/manifest.xml",
            b'<?xml version="1.0"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>',
        )
    return buf.getvalue()


def ole_doc(macro: bool) -> bytes:
    """A legacy Word compound file (tests/cfb.py); with a VBA project storage when ``macro``."""
    from tests.cfb import cfb

    streams = {
        "WordDocument": b"\xec\xa5" + b"\x00" * 1024,
        "1Table": b"\x00" * 512,
        "\x05SummaryInformation": b"\xfe\xff",
    }
    if macro:
        streams.update(
            {"Macros/VBA/dir": b"\x01" * 64, "Macros/VBA/_VBA_PROJECT": b"\xcc\x61", "Macros/PROJECT": b'ID="{0}"'}
        )
    return cfb(streams)


def pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"xref\n0 3\n0000000000 65535 f \ntrailer<</Root 1 0 R/Size 3>>\nstartxref\n0\n%%EOF\n"
    )


def png() -> bytes:
    import base64

    return base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    )


def iso() -> bytes:
    data = bytearray(0x8800)
    data[0x8001:0x8006] = b"CD001"
    data[0x8000] = 1
    data[0x8006] = 1
    return bytes(data)


def lnk() -> bytes:
    header = b"L\x00\x00\x00" + bytes.fromhex("0114020000000000c000000000000046")
    return header + b"\x00" * 60


def jar() -> bytes:
    return zip_of(
        {
            "META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\r\nMain-Class: com.example.Main\r\n\r\n",
            "com/example/Main.class": b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + b"\x00" * 32,
        }
    )


def message_with(
    attachments: list[tuple[str, bytes, str]],
    subject: str = "Documents",
    sender: str = "x@outside.test",
    to: str = "t@oakfield.example",
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content("Please see the attached.\n")
    for name, data, ctype in attachments:
        maintype, subtype = ctype.split("/", 1)
        if maintype == "message":
            from email import message_from_bytes, policy

            msg.add_attachment(message_from_bytes(data, policy=policy.default))
        else:
            msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


def zip_bomb(levels: int = 3, fanout: int = 10, leaf_bytes: int = 10 << 20) -> bytes:
    """42.zip-style: nested zips of highly compressible members (leaf_bytes * fanout**levels)."""
    leaf = zip_of({f"{i}.bin": b"\x00" * leaf_bytes for i in range(1)})
    layer = leaf
    for level in range(levels):
        layer = zip_of({f"l{level}-{i}.zip": layer for i in range(fanout)})
    return layer


def many_member_zip(n: int = 10_000) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for i in range(n):
            zf.writestr(f"f{i:05d}.txt", b"x")
    return buf.getvalue()


def html_form(text: str) -> str:
    """``text`` as an HTML mail client writes it beside the plain form: a paragraph per non-blank
    line, indented markup (its visible text has the plain form's lines, not its blank lines)."""
    paragraphs = "\n".join(f"    <p>{html.escape(line)}</p>" for line in text.splitlines() if line.strip())
    return f"<html>\n  <body>\n{paragraphs}\n  </body>\n</html>\n"
