"""Documents are documents: zip- and OLE-based office files inspected as what they are.

A PowerPoint deck is a zip, but walking it like an archive and applying extension rules to its
parts stops ordinary mail: PowerPoint writes ``ppt/printerSettings/printerSettings1.bin`` into
almost every deck, and ``ppt/media/media1.mp4`` is a video the teacher embedded, not a file being
sent.  So a file is first recognised *by structure* — OPC/OOXML (``[Content_Types].xml``), ODF
and EPUB (the ``mimetype`` member), Java and Android packages (manifest, ``classes.dex``), OLE2
compound files, RTF — and then inspected for what makes a document dangerous:

* macros: VBA projects (``vbaProject.bin``, OLE ``Macros``/``_VBA_PROJECT_CUR``, found by
  oletools' ``olevba``), Excel 4 macro sheets, ODF Basic/script libraries and script events;
* embedded objects: OLE ``Ole10Native`` packages (the "Package" object that carries a file —
  its payload is handed back to be classified like any attachment, so ``invoice.exe`` inside a
  Word file is an executable), the Equation Editor object (CVE-2017-11882), ActiveX controls;
* external relationships that fetch content when opened: remote templates, frames, linked OLE
  objects (the Follina ``mhtml:``/``ms-msdt:`` trick), ODF linked sections;
* DDE fields (``DDEAUTO`` in Word, ``ddeLink``/``cmd|'…'`` in Excel, RTF ``\\fldinst``);
* executable bytes hidden in any part, whatever its name: parts are sniffed by content (``MZ``,
  ELF, Mach-O, ``#!``), never judged by extension.

RTF objects are parsed with oletools' ``rtfobj``, OLE packages with ``oleobj``; both are imported
only when such a file is seen.  What this module returns is data — flags (rule id + detail),
embedded files for the caller to walk, problems — so the attachment check and its policy decide.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
import zipfile
from dataclasses import dataclass, field

from aupmilter.walklimits import Budget, Limits

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"

#: Rule ids this module raises (the policy rows in rules/policy.d/attachments.toml act on them).
MACRO = "attachment.macro"
OLE_PACKAGE = "attachment.document.ole_package"
EXPLOIT = "attachment.document.exploit"
ACTIVEX = "attachment.document.activex"
EXTERNAL = "attachment.document.external"
DDE = "attachment.document.dde"
ENCRYPTED = "attachment.document.encrypted"
EXECUTABLE_PACKAGE = "attachment.executable.other"

#: First bytes of code that runs by itself: such a part is handed back to be classified.
_EXECUTABLE_HEADS = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")
#: The Equation Editor 3.0 object (CVE-2017-11882, CVE-2018-0802): no benign modern use.
_EQUATION_CLSIDS = frozenset({"0002CE02-0000-0000-C000-000000000046", "0002CE03-0000-0000-C000-000000000046"})
_EQUATION_CLASSES = ("equation.3", "equation.2", "equation")
#: Relationship types that load content from their target when the document opens.
_ACTIVE_REL_TYPES = frozenset({"attachedtemplate", "oleobject", "frame", "subdocument", "control", "package"})
_REMOTE_TARGET = re.compile(
    r"^\s*(?:https?:|ftp:|mhtml:|ms-[a-z-]+:|search-ms:|\\\\|//|file://(?!/|[a-z]:)|webdav)", re.I
)
_REL = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>", re.I)
_ATTR = re.compile(rb'(\w+)\s*=\s*"([^"]*)"|(\w+)\s*=\s*\'([^\']*)\'')
_INSTR_TEXT = re.compile(rb"<w:instrText[^>]*>([^<]*)</w:instrText>|w:instr=\"([^\"]*)\"", re.I)
_DDE_FIELD = re.compile(r"^\s*(DDEAUTO|DDE)\b", re.I)
#: A cell formula that calls another program over DDE: =cmd|' /c calc'!A1
_DDE_FORMULA = re.compile(rb"<(?:\w+:)?f\b[^>]*>[^<]*\w+\|\s*(?:'|&apos;)[^<]*!", re.I)
_ODF_SCRIPT_EVENT = re.compile(rb"(?:vnd\.sun\.star\.script:|macro:///|macro://)", re.I)
_ODF_DDE = re.compile(rb"<(?:text:dde-connection-decl|table:dde-link|office:dde-source)\b", re.I)
_ODF_REMOTE_SECTION = re.compile(rb"<text:section-source\b[^>]*xlink:href=\"(?:https?:|ftp:|\\\\|//)", re.I)
_RTF_FIELD = re.compile(rb"\\fldinst[^{}]{0,40}?(?:\{[^{}]*?)?\b(DDEAUTO|DDE)\b", re.I)

#: UTF-16 names of VBA project streams, for compound files too damaged for olefile.
_VBA_STREAM_NAMES = ("_VBA_PROJECT".encode("utf-16-le"), "VBA\x00".encode("utf-16-le") + b"\x00\x00")
#: How much of each document part is read to sniff it (enough for every magic above).
_HEAD = 512

log = logging.getLogger("aupmilter.documents")


@dataclass(frozen=True)
class Flag:
    """Something dangerous a document contains: ``rule`` is the finding id, ``detail`` evidence."""

    rule: str
    detail: str


@dataclass
class Inspection:
    """What one document holds.  ``children`` are embedded files (name, bytes) the caller walks
    and classifies like attachments; ``problems`` are (kind, detail) bounds hit or damage."""

    kind: str
    flags: list[Flag] = field(default_factory=list)
    #: Every part's name (zip-based documents): the caller checks them for executable and
    #: script extensions no such document holds (a .vbs inside a fake EPUB is still a .vbs).
    part_names: list[str] = field(default_factory=list)
    children: list[tuple[str, bytes]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)

    def flag(self, rule: str, detail: str) -> None:
        if Flag(rule, detail) not in self.flags:
            self.flags.append(Flag(rule, detail))


def zip_document_kind(names: list[str], zf: zipfile.ZipFile) -> str | None:
    """The document format of a zip by its structure, or None for a plain archive."""
    lowered = {n.lower() for n in names}
    if "mimetype" in lowered:
        try:
            mimetype = zf.read("mimetype")[:100]
        except (KeyError, zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError):
            mimetype = b""
        if mimetype.startswith(b"application/vnd.oasis.opendocument"):
            return "odf"
        if mimetype.startswith(b"application/epub+zip"):
            return "epub"
    if "[content_types].xml" in lowered:
        return "ooxml"
    if "androidmanifest.xml" in lowered and "classes.dex" in lowered:
        return "apk"
    if "meta-inf/manifest.mf" in lowered:
        return "jar"
    return None


def inspect(data: bytes, path: str, limits: Limits, budget: Budget) -> Inspection | None:
    """Inspect ``data`` if it is a document; ``None`` when it is not one (see module doc)."""
    if data.startswith(OLE_MAGIC):
        out = Inspection("ole2")
        _inspect_ole(data, "", out, limits)
        return out
    if data[:5].lower() == b"{\\rtf" or data.startswith(b"{\\rt"):
        out = Inspection("rtf")
        _inspect_rtf(data, out, limits)
        return out
    if not data.startswith(ZIP_MAGIC):
        return None
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        kind = zip_document_kind([i.filename for i in infos], zf)
        if kind is None:
            return None
        out = Inspection(kind, part_names=[i.filename for i in infos])
        _inspect_zip_document(zf, infos, kind, out, limits, budget, path)
        return out


# --- zip-based documents ------------------------------------------------------------------------


def _inspect_zip_document(
    zf: zipfile.ZipFile,
    infos: list[zipfile.ZipInfo],
    kind: str,
    out: Inspection,
    limits: Limits,
    budget: Budget,
    path: str,
) -> None:
    if kind == "apk":
        out.flag(EXECUTABLE_PACKAGE, "Android application package (classes.dex)")
    elif kind == "jar":
        out.flag(EXECUTABLE_PACKAGE, "Java archive (runnable code)")
    if any(i.flag_bits & 0x1 for i in infos):
        out.problems.append(("encrypted", "password-protected parts"))
    # Heads of every part are cheap (a few hundred bytes decompressed each); a hostile document
    # padded with parts still has a bound.
    part_limit = limits.max_members * 10
    if len(infos) > part_limit:
        out.problems.append(("limits", f"{len(infos)} parts (more than {part_limit})"))
        infos = infos[:part_limit]
    for info in infos:
        name = info.filename
        lower = name.lower()
        if info.flag_bits & 0x1:
            continue
        if kind == "ooxml":
            if lower.endswith("vbaproject.bin"):
                out.flag(MACRO, f"VBA project {name}")
            elif "/macrosheets/" in lower or "/xl4macro" in lower:
                out.flag(MACRO, f"Excel 4 macro sheet {name}")
            elif "/activex/" in lower:
                out.flag(ACTIVEX, f"ActiveX control {name}")
        elif kind == "odf" and _is_odf_macro_part(name):
            out.flag(MACRO, f"macro library {name}")
        needs_text = _needs_text(kind, lower)
        try:
            head = _read(zf, info, _HEAD)
        except _Unreadable:
            out.problems.append(("corrupt", f"part {name} could not be read"))
            continue
        interesting = head.startswith((*_EXECUTABLE_HEADS, OLE_MAGIC, ZIP_MAGIC, b"#!", b"{\\rt"))
        if not (needs_text or interesting):
            continue
        if info.file_size > limits.max_member_bytes:
            out.problems.append(("limits", f"part {name} of {info.file_size} bytes exceeds {limits.max_member_bytes}"))
            continue
        if not budget.take(info.file_size):
            out.problems.append(("limits", f"total expanded size exceeds {limits.max_total_bytes} bytes"))
            return
        try:
            content = _read(zf, info, limits.max_member_bytes)
        except _Unreadable:
            out.problems.append(("corrupt", f"part {name} could not be read"))
            continue
        if needs_text:
            _inspect_text_part(kind, name, content, out)
        if not interesting:
            continue
        if content.startswith(OLE_MAGIC):
            if not lower.endswith("vbaproject.bin"):
                _inspect_ole(content, name, out, limits)
        elif content.startswith(b"{\\rt"):
            _inspect_rtf(content, out, limits, prefix=name)
        else:
            # Executables, scripts, nested zips/documents: classified by the caller like any file.
            out.children.append((name, content))


def _is_odf_macro_part(name: str) -> bool:
    if name.startswith("Scripts/") and not name.endswith("/"):
        return True
    if name.startswith("Basic/") and name.endswith(".xml"):
        leaf = name.rsplit("/", 1)[-1]
        return name.count("/") >= 2 and leaf not in ("script-lb.xml", "dialog-lb.xml")
    return False


def _needs_text(kind: str, lower: str) -> bool:
    """Parts whose XML says what runs or what is fetched when the document opens."""
    if kind == "ooxml":
        return lower.endswith(".rels") or (
            lower.endswith(".xml")
            and (
                (lower.startswith("word/") and lower.count("/") == 1)
                or lower.startswith("xl/externallinks/")
                or lower.startswith("xl/worksheets/")
            )
        )
    if kind == "odf":
        return lower in ("content.xml", "styles.xml") or lower.endswith("/content.xml")
    return False


def _inspect_text_part(kind: str, name: str, xml: bytes, out: Inspection) -> None:
    if kind == "ooxml":
        lower = name.lower()
        if lower.endswith(".rels"):
            _inspect_rels(name, xml, out)
            return
        if lower.startswith("word/"):
            instructions = b"".join(a or b for a, b in _INSTR_TEXT.findall(xml))
            text = instructions.decode("utf-8", "replace")
            for field_code in re.split(r"(?=\bDDE)", text, flags=re.I):
                if _DDE_FIELD.match(field_code):
                    out.flag(DDE, f"DDE field in {name}: {' '.join(field_code.split())[:80]}")
                    break
        elif lower.startswith("xl/externallinks/") and b"<ddeLink" in xml:
            out.flag(DDE, f"DDE link in {name}")
        elif _DDE_FORMULA.search(xml):
            out.flag(DDE, f"DDE formula in {name}")
        return
    if kind == "odf":
        if _ODF_SCRIPT_EVENT.search(xml):
            out.flag(MACRO, f"macro bound to an event in {name}")
        if _ODF_DDE.search(xml):
            out.flag(DDE, f"DDE link in {name}")
        if _ODF_REMOTE_SECTION.search(xml):
            out.flag(EXTERNAL, f"section loaded from a remote address in {name}")


def _inspect_rels(name: str, xml: bytes, out: Inspection) -> None:
    for element in _REL.findall(xml):
        attrs = {m[0] or m[2]: (m[1] or m[3]) for m in _ATTR.findall(element)}
        attrs = {k.lower(): v for k, v in attrs.items()}
        if attrs.get(b"targetmode", b"").lower() != b"external":
            continue
        rel_type = attrs.get(b"type", b"").decode("utf-8", "replace").rsplit("/", 1)[-1].lower()
        target = attrs.get(b"target", b"").decode("utf-8", "replace")
        target = target.replace("&amp;", "&")
        if rel_type in _ACTIVE_REL_TYPES and _REMOTE_TARGET.match(target):
            out.flag(EXTERNAL, f"{name}: {rel_type} loaded from {target[:120]}")
        elif rel_type in ("oleobject", "frame") or re.match(r"^\s*(mhtml:|ms-[a-z-]+:|search-ms:)", target, re.I):
            out.flag(EXTERNAL, f"{name}: {rel_type} linked to {target[:120]}")


# --- OLE2 compound files ------------------------------------------------------------------------


def _inspect_ole(data: bytes, prefix: str, out: Inspection, limits: Limits) -> None:
    import olefile

    where = f"{prefix}: " if prefix else ""
    try:
        ole = olefile.OleFileIO(data)
    except Exception:  # olefile raises plain OSError/struct errors on damage
        out.problems.append(("corrupt", f"{where}OLE compound file could not be read"))
        # Damaged, but Office is lenient: a VBA project's stream names still say "macro".
        if any(marker in data for marker in _VBA_STREAM_NAMES):
            out.flag(MACRO, f"{where}VBA project stream in a damaged compound file")
        return
    try:
        streams = ole.listdir(streams=True, storages=True)
        names = ["/".join(s) for s in streams]
        lowered = [n.lower() for n in names]
        if "encryptedpackage" in lowered or "encryptioninfo" in lowered:
            out.flag(ENCRYPTED, f"{where}password-protected Office document")
        root_clsid = (ole.root.clsid or "").upper() if ole.root is not None else ""
        if root_clsid in _EQUATION_CLSIDS or any(n.endswith("equation native") for n in lowered):
            out.flag(EXPLOIT, f"{where}Equation Editor object")
        for stream in streams:
            try:
                clsid = (ole.getclsid(stream) or "").upper()
            except Exception:
                clsid = ""
            if clsid in _EQUATION_CLSIDS:
                out.flag(EXPLOIT, f"{where}Equation Editor object in {'/'.join(stream)}")
        if any(
            n in ("macros", "_vba_project_cur")
            or n.endswith("/vba")
            or n == "vba"
            or "/vba/" in n
            or n.startswith("vba/")
            for n in lowered
        ):
            out.flag(MACRO, f"{where}VBA project storage")
        for stream, name in zip(streams, names, strict=True):
            if not name.lower().endswith("\x01ole10native"):
                continue
            try:
                native = ole.openstream(stream).read(limits.max_member_bytes + 1)
            except Exception:
                out.problems.append(("corrupt", f"{where}embedded package could not be read"))
                continue
            _package(native, where, out)
    finally:
        ole.close()
    # olevba finds what the storage names miss: PowerPoint 97 VBA inside its document stream, and
    # Excel 4 macro sheets in BIFF.
    office = {"worddocument", "workbook", "book", "powerpoint document"} & set(lowered)
    if office and not any(f.rule == MACRO for f in out.flags):
        _olevba(data, where, out)


def _package(native: bytes, where: str, out: Inspection) -> None:
    """An OLE "Package" (Ole10Native): the file it carries is a child to classify."""
    from oletools.oleobj import OleNativeStream

    try:
        package = OleNativeStream(bindata=native)
    except Exception:
        out.problems.append(("corrupt", f"{where}embedded package could not be parsed"))
        return
    filename = _text(package.filename) or "package"
    out.flag(OLE_PACKAGE, f"{where}embedded file {filename[:100]}")
    payload = package.data if isinstance(package.data, bytes) else b""
    out.children.append((f"{where.rstrip(': ')}/{filename}".lstrip("/"), payload))


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1", "replace").strip("\x00 ")
    return str(value or "").strip("\x00 ")


def _olevba(data: bytes, where: str, out: Inspection) -> None:
    with warnings.catch_warnings():  # olevba's grammar uses pyparsing names since deprecated
        warnings.simplefilter("ignore")
        from oletools.olevba import VBA_Parser
    logging.getLogger("olevba").setLevel(logging.CRITICAL)
    try:
        parser = VBA_Parser("document", data=data, relaxed=True, disable_pcode=True)
    except Exception:
        return  # not an Office file olevba knows (e.g. an MSI): nothing to say
    try:
        if parser.detect_vba_macros():
            out.flag(MACRO, f"{where}VBA macros")
        elif parser.detect_xlm_macros():
            out.flag(MACRO, f"{where}Excel 4 (XLM) macros")
    except Exception:
        log.debug("olevba failed", exc_info=True)
    finally:
        parser.close()


# --- RTF ----------------------------------------------------------------------------------------


def _inspect_rtf(data: bytes, out: Inspection, limits: Limits, prefix: str = "") -> None:
    from oletools import rtfobj

    where = f"{prefix}: " if prefix else ""
    logging.getLogger("rtfobj").setLevel(logging.CRITICAL)
    if _RTF_FIELD.search(data):
        out.flag(DDE, f"{where}DDE field")
    try:
        parser = rtfobj.RtfObjParser(data)
        parser.parse()
    except Exception:
        out.problems.append(("corrupt", f"{where}RTF objects could not be parsed"))
        return
    for n, obj in enumerate(parser.objects):
        class_name = _text(obj.class_name).lower()
        clsid = str(obj.clsid or "").upper()
        if class_name.startswith(_EQUATION_CLASSES) or clsid in _EQUATION_CLSIDS:
            out.flag(EXPLOIT, f"{where}Equation Editor object ({class_name or clsid})")
        if obj.is_package:
            filename = _text(obj.filename) or f"object{n + 1}"
            out.flag(OLE_PACKAGE, f"{where}embedded file {filename[:100]}")
            payload = obj.olepkgdata if isinstance(obj.olepkgdata, bytes) else b""
            out.children.append((f"{prefix}/{filename}".lstrip("/"), payload[: limits.max_member_bytes]))
        elif obj.is_ole and isinstance(obj.oledata, bytes) and obj.oledata.startswith(OLE_MAGIC):
            _inspect_ole(obj.oledata, f"{prefix}/object{n + 1}".lstrip("/"), out, limits)
        elif isinstance(obj.rawdata, bytes) and obj.rawdata.startswith(_EXECUTABLE_HEADS):
            out.children.append((f"{prefix}/object{n + 1}".lstrip("/"), obj.rawdata[: limits.max_member_bytes]))


# --- helpers ------------------------------------------------------------------------------------


class _Unreadable(Exception):
    pass


def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    try:
        with zf.open(info) as stream:
            return stream.read(cap)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError, RuntimeError) as exc:
        raise _Unreadable from exc
    except Exception as exc:  # zlib.error and other codec failures
        raise _Unreadable from exc
