"""Dangerous attachments, by content, name and declared type, through archives and messages.

What users of other gateways report getting past them — an .exe three zips deep, a
``.pdf.exe``, a renamed executable, an encrypted zip, a right-to-left-override name — is what
this check is built to catch:

* **content**: libmagic on the bytes (never a temp file named after the attachment) plus
  structural tests libmagic cannot make: an OOXML/OLE document that really contains a VBA
  project, a jar with a ``Main-Class``, a script with a ``#!`` line;
* **name**: the real extension after removing bidi controls and zero-width characters, trailing
  dots/spaces and padding runs; each such trick and each double extension is its own finding;
* **declared type**: executable bytes sent as ``audio/x-wav`` or named ``.pdf`` is a mismatch;
* **recursion** (:mod:`aupmilter.extraction.archives`): evidence names the path, e.g.
  ``invoice.zip/inner.zip/setup.exe (PE32+ executable)``; bounds are findings.

A zero-byte file named ``.exe`` is an extension finding, not a content one.  Content-blind for
sealing purposes: it never reads text, so it runs on sealed Personal mail too.
"""

from __future__ import annotations

import dataclasses
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO
from typing import Any, ClassVar

import regex

from aupmilter import schema
from aupmilter.ambiguity import analyse
from aupmilter.checks import CheckSettings, CheckSpec
from aupmilter.extraction.archives import Budget, Entry, Limits, walk
from aupmilter.extraction.documents import ZIP_MAGIC
from aupmilter.message import MessageView, sniff
from aupmilter.model import Envelope, Finding
from aupmilter.schema import Invalid, setting
from aupmilter.scriptsniff import script_language

#: Bidi controls and invisible characters used to disguise names (RTLO: "invoice‮fdp.exe").
_HIDDEN = regex.compile(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u200b-\u200d\u2060\ufeff\u180e]")
_EXECUTABLE_DECLARED_OK = frozenset(
    {
        "application/octet-stream",
        "application/x-msdownload",
        "application/x-dosexec",
        "application/x-msdos-program",
        "application/x-executable",
        "application/vnd.microsoft.portable-executable",
        "application/x-ms-installer",
        "application/x-msi",
        "application/zip",
        "application/x-zip-compressed",
        "",
    }
)


#: Rule families reported under one category (the policy can still match a single rule id).
_GROUPED_CATEGORIES = ("attachment.executable", "attachment.document")
#: Names and declared types of formats that are never plain text (see _script_in_disguise).
_BINARY_EXTENSIONS = frozenset(
    [
        "pdf",
        "jpg",
        "jpeg",
        "png",
        "gif",
        "bmp",
        "tif",
        "tiff",
        "webp",
        "ico",
        "heic",
        "doc",
        "docx",
        "xls",
        "xlsx",
        "ppt",
        "pptx",
        "odt",
        "ods",
        "odp",
        "zip",
        "7z",
        "mp3",
        "mp4",
        "wav",
        "avi",
        "mov",
    ]
)
_BINARY_DECLARED = frozenset(
    {
        "application/pdf",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/zip",
    }
)


#: Extensions that a format's own parts use and the dangerous lists name: EPUB 3 and ODF carry
#: JavaScript (ODF scripts are macros, reported as such).
_DOCUMENT_PART_EXTENSIONS = {"epub": frozenset({"js"}), "odf": frozenset({"js"})}


def _claims_binary(declared: str) -> bool:
    if declared in _BINARY_DECLARED or declared.startswith(("audio/", "video/", "application/vnd.openxmlformats")):
        return True
    return declared.startswith("image/") and not declared.startswith("image/svg")


@dataclass(frozen=True)
class FileType:
    rule: str
    extensions: frozenset[str]
    magic: tuple[str, ...]
    mime: frozenset[str]
    mime_prefix: tuple[str, ...]
    content: frozenset[str]


@dataclass(frozen=True)
class NameFacts:
    real_name: str
    extension: str
    previous_extension: str
    tricks: tuple[str, ...]


def analyse_name(raw_name: str, whitespace_run: int) -> NameFacts:
    """The name as the system will treat it, and the tricks used to disguise it."""
    tricks: list[str] = []
    name = unicodedata.normalize("NFC", raw_name)
    if _HIDDEN.search(name):
        tricks.append("hidden bidi/zero-width characters")
        name = _HIDDEN.sub("", name)
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stripped = base.rstrip(". \t")
    if stripped != base and stripped:
        tricks.append("trailing dots or spaces")
    base = stripped
    if regex.search(rf"[\s_]{{{whitespace_run},}}\.[^.]+$", base):
        tricks.append("padding before the real extension")
    parts = [p.strip() for p in base.split(".")]
    ext = parts[-1].lower() if len(parts) > 1 else ""
    prev = parts[-2].lower() if len(parts) > 2 else ""
    return NameFacts(base, ext, prev, tuple(tricks))


@dataclass(frozen=True)
class TypeRule:
    """``[[type]]``: one dangerous (or media) file type, recognised by name, content or declared type."""

    rule: str = setting(doc="Rule id raised, starting 'attachment.' (attachment.media: allowed media).")
    extensions: tuple[str, ...] = setting((), doc="File name extensions, without the dot.")
    magic: tuple[str, ...] = setting((), doc="libmagic description prefixes.")
    mime: tuple[str, ...] = setting((), doc="Declared or detected MIME types.")
    mime_prefix: tuple[str, ...] = setting((), doc="MIME type prefixes.")
    content: tuple[str, ...] = setting((), doc="Structural tests: shebang, jar_main_class.")

    def validate(self) -> None:
        if not self.rule.startswith("attachment."):
            raise Invalid("rule", f"needs a rule id starting 'attachment.', got {self.rule!r}")
        unknown = sorted(set(self.content) - _CONTENT_TESTS)
        if unknown:
            raise Invalid("content", f"unknown test {unknown[0]!r} (known: {', '.join(sorted(_CONTENT_TESTS))})")

    def built(self) -> FileType:
        return FileType(
            self.rule,
            frozenset(e.lower().lstrip(".") for e in self.extensions),
            self.magic,
            frozenset(self.mime),
            self.mime_prefix,
            frozenset(self.content),
        )


@dataclass(frozen=True)
class NamesRule:
    innocent_extensions: tuple[str, ...] = setting((), doc="Extensions that make a double extension harmless.")
    whitespace_run: int = setting(5, minimum=1, doc="Spaces in a row that count as padding to hide an extension.")


@dataclass(frozen=True)
class AttachmentRules:
    """``rules/attachments.toml``."""

    limits: dict[str, int] = setting({}, doc="Archive and part limits (aupmilter.archives.Limits fields).")
    type: tuple[TypeRule, ...] = setting((), doc="Dangerous and media file types.")
    names: NamesRule = setting(NamesRule(), doc="File name tricks.")

    def validate(self) -> None:
        known = {f.name for f in dataclasses.fields(Limits)}
        for key, value in self.limits.items():
            if key not in known:
                raise Invalid(f"limits.{key}", f"unknown key (known: {', '.join(sorted(known))})")
            if value < 1:
                raise Invalid(f"limits.{key}", f"expected a positive integer, got {value!r}")


class AttachmentCheck:
    name: ClassVar[str] = "attachments"

    def __init__(self, settings: CheckSettings) -> None:
        rules = schema.read_file(AttachmentRules, settings.rules_dir / "attachments.toml")
        self.limits = Limits(**rules.limits)
        self.types = [t.built() for t in rules.type]
        self.innocent = frozenset(e.lower() for e in rules.names.innocent_extensions)
        self.whitespace_run = rules.names.whitespace_run
        self.dangerous = {ext: t.rule for t in self.types for ext in t.extensions if t.rule != "attachment.media"}
        self.media_extensions = frozenset(e for t in self.types if t.rule == "attachment.media" for e in t.extensions)

    # --- per message ----------------------------------------------------------------------------

    def run(self, envelope: Envelope, message: MessageView) -> Iterable[Finding]:
        findings: dict[tuple[str, str], Finding] = {}
        budget = Budget(self.limits)

        def add(rule: str, evidence: str, location: str, score: float = 1.0) -> None:
            evidence = _visible(evidence)
            category = next((c for c in _GROUPED_CATEGORIES if rule.startswith(c + ".")), rule)
            findings.setdefault((rule, evidence), Finding(rule, category, score, evidence[:300], location))

        for n, attachment in enumerate(message.attachments):
            top = attachment.filename or f"(unnamed part {n + 1})"
            self._inspect(top, top, attachment.data, attachment.declared_type, attachment.location, budget, add)
        # Structure another parser could read another way: every reading we can construct is
        # inspected too, and the ambiguity itself is a finding (see aupmilter.ambiguity).
        ambiguity = analyse(message.raw, message.msg, message.max_parts, message.max_depth)
        if ambiguity.evidence:
            add("mime.ambiguous", "; ".join(ambiguity.evidence[:4]), "mime")
        # Files every reading shares were inspected already (hashing only when there are readings).
        seen = {(a.filename, hash(a.data)) for a in message.attachments} if ambiguity.messages else set()
        for why, raw in ambiguity.messages:
            reading = MessageView(raw, max_parts=message.max_parts, max_depth=message.max_depth)
            for n, attachment in enumerate(reading.attachments):
                key = (attachment.filename, hash(attachment.data))
                if key in seen:
                    continue
                seen.add(key)
                top = attachment.filename or f"(unnamed part {n + 1})"
                label = f"{top} [reading {why}]"
                self._inspect(top, label, attachment.data, attachment.declared_type, attachment.location, budget, add)
        for why, name, data, declared in ambiguity.attachments:
            self._inspect(name, f"{name} [{why}]", data, declared, "mime", budget, add)
        return list(findings.values())

    def _inspect(
        self, name: str, label: str, data: bytes, declared: str, location: str, budget: Budget, add: Any
    ) -> None:
        result = walk(name, data, declared, self.limits, budget, label)
        for entry in result.entries:
            self._classify(entry, add, location)
        for path, flag in result.flags:
            add(flag.rule, f"{path}: {flag.detail}", location)
        for path, kind, names in result.document_parts:
            self._document_part_names(path, kind, names, location, add)
        for problem in result.problems:
            rule = "attachment.limits" if problem.kind == "limits" else f"attachment.archive.{problem.kind}"
            add(rule, f"{problem.path}: {problem.detail}", location)

    def _classify(self, entry: Entry, add: Any, location: str) -> None:
        facts = analyse_name(entry.name, self.whitespace_run)
        for trick in facts.tricks:
            add("attachment.name_trick", f"{entry.path}: {trick}", location)
        name_rule = self.dangerous.get(facts.extension)
        if name_rule and facts.previous_extension in self.innocent:
            add(
                "attachment.name_trick",
                f"{entry.path}: double extension .{facts.previous_extension}.{facts.extension}",
                location,
            )
        if name_rule:
            add(name_rule, f"{entry.path} (.{facts.extension})", location)
        if facts.extension in self.media_extensions:
            add("attachment.media", f"{entry.path} (.{facts.extension})", location)
        if not entry.data:
            return
        mime, description = sniff(entry.data[: self.limits.sniff_bytes])
        content_rules = self._content_rules(entry.data, mime, description)
        for rule in content_rules:
            add(rule, f"{entry.path} ({description[:80]})", location)
        executable = [r for r in content_rules if r.startswith(("attachment.executable", "attachment.script"))]
        if executable and (not name_rule or name_rule != executable[0]):
            add(
                "attachment.mismatch",
                f"{entry.path}: {description[:60]} named .{facts.extension or '(none)'}",
                location,
            )
        declared = entry.declared_type.lower()
        if executable and declared and declared not in _EXECUTABLE_DECLARED_OK:
            add(
                "attachment.mismatch",
                f"{entry.path}: {description[:60]} declared as {declared}",
                location,
            )
        if not executable and mime.startswith("text/"):
            self._script_in_disguise(entry, facts, declared, add, location)

    def _document_part_names(self, path: str, kind: str, names: list[str], location: str, add: Any) -> None:
        """Part names are not attachment names (``printerSettings1.bin`` is PowerPoint's), but a
        part called ``invoice.pdf.vbs`` is a script whatever the zip claims to be: opened as a
        folder, it runs.  Extensions office formats use for their own parts are left alone."""
        if kind in ("jar", "apk"):
            return  # executable code already
        allowed = _DOCUMENT_PART_EXTENSIONS.get(kind, frozenset()) | {"bin"}
        for name in names:
            facts = analyse_name(name, self.whitespace_run)
            rule = self.dangerous.get(facts.extension)
            if rule and facts.extension not in allowed:
                add(rule, f"{path}/{name} (.{facts.extension} inside a {kind} document)", location)

    def _script_in_disguise(self, entry: Entry, facts: NameFacts, declared: str, add: Any, location: str) -> None:
        """A PDF, an image or an Office file is never text: text that reads as a Windows script
        under such a name or declared type is a script in disguise."""
        named = facts.extension in _BINARY_EXTENSIONS
        claimed = _claims_binary(declared)
        if not (named or claimed) or entry.data is None:
            return
        language = script_language(entry.data)
        if language is None:
            return
        if named:
            add("attachment.mismatch", f"{entry.path}: {language} script named .{facts.extension}", location)
        if claimed:
            add("attachment.mismatch", f"{entry.path}: {language} script declared as {declared}", location)

    def _content_rules(self, data: bytes, mime: str, description: str) -> list[str]:
        rules: list[str] = []
        for t in self.types:
            if (
                any(description.startswith(m) or m in description for m in t.magic)
                or mime in t.mime
                or any(mime.startswith(p) for p in t.mime_prefix)
                or any(_structural(test, data) for test in t.content)
            ):
                rules.append(t.rule)
        return rules


_CONTENT_TESTS = frozenset({"shebang", "jar_main_class"})


def _visible(text: str) -> str:
    """Evidence a reviewer can read: padding runs counted, hidden characters named."""
    text = str(regex.sub(r"\s{3,}", lambda m: f"[{len(m.group())} spaces]", text))
    return str(_HIDDEN.sub(lambda m: f"[U+{ord(m.group()):04X}]", text))


def _structural(test: str, data: bytes) -> bool:
    if test == "shebang":
        return data.startswith(b"#!") and b"\n" in data[:256]
    if test == "jar_main_class":
        if not data.startswith(ZIP_MAGIC):
            return False
        try:
            with zipfile.ZipFile(BytesIO(data)) as zf:
                if "META-INF/MANIFEST.MF" not in zf.namelist():
                    return False
                with zf.open("META-INF/MANIFEST.MF") as fh:
                    return b"Main-Class:" in fh.read(65536)
        except (zipfile.BadZipFile, OSError, RuntimeError, ValueError):
            return False
    return False


SPEC = CheckSpec(
    summary="Dangerous attachments by content, name and declared type, through archives and documents.",
    factory=AttachmentCheck,
    reads_content=False,
    order=20,
    rules_files=("attachments.toml",),
    emits={
        "attachment.executable.*": "A program (by content, name or declared type): windows or other.",
        "attachment.script": "A script (shell, JavaScript, VBScript, PowerShell, batch...).",
        "attachment.macro": "A document with macros.",
        "attachment.disk_image": "A disk image (ISO, IMG, VHD...).",
        "attachment.media": "Media files (allowed; counted).",
        "attachment.mismatch": "Content contradicts the declared type or name.",
        "attachment.name_trick": "A name hiding its real extension (RTLO, padding, double extension).",
        "attachment.limits": "Limits reached: too many parts, too deep, too large when expanded.",
        "attachment.archive.*": "Archives that could not be inspected (encrypted, corrupt, uninspectable).",
        "attachment.document.*": "Documents with active content"
        " (ActiveX, DDE, exploits, external templates, OLE packages, encryption).",
        "mime.ambiguous": "MIME that mail clients and this parser could read differently.",
    },
)
