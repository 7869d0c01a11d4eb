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
* **recursion** (:mod:`aupmilter.archives`): evidence names the path, e.g.
  ``invoice.zip/inner.zip/setup.exe (PE32+ executable)``; bounds are findings.

A zero-byte file named ``.exe`` is an extension finding, not a content one.  Content-blind for
sealing purposes: it never reads text, so it runs on sealed Personal mail too.
"""

from __future__ import annotations

import tomllib
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO
from typing import Any, ClassVar

import regex

from aupmilter.archives import OLE_MAGIC, ZIP_MAGIC, Budget, Entry, Limits, walk
from aupmilter.checks import CheckSettings
from aupmilter.errors import ConfigError
from aupmilter.message import MessageView, sniff
from aupmilter.model import Envelope, Finding

#: Bidi controls and invisible characters used to disguise names (RTLO: "invoice‮fdp.exe").
_HIDDEN = regex.compile(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u200b-\u200d\u2060\ufeff\u180e]")
_VBA_OLE_MARKERS = (
    b"_\x00V\x00B\x00A\x00_\x00P\x00R\x00O\x00J\x00E\x00C\x00T",
    b"V\x00B\x00A\x00\x00\x00",
)
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


class AttachmentCheck:
    name: ClassVar[str] = "attachments"
    reads_content: ClassVar[bool] = False

    def __init__(self, settings: CheckSettings) -> None:
        settings.reject_unknown(())
        path = settings.rules_dir / "attachments.toml"
        try:
            data: dict[str, Any] = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(str(path), "", f"cannot load: {exc}") from None
        unknown = set(data) - {"limits", "type", "names"}
        if unknown:
            raise ConfigError(str(path), sorted(unknown)[0], "unknown key")
        try:
            self.limits = Limits(**data.get("limits", {}))
        except TypeError as exc:
            raise ConfigError(str(path), "limits", str(exc)) from None
        self.types: list[FileType] = []
        allowed = {"rule", "extensions", "magic", "mime", "mime_prefix", "content"}
        for i, t in enumerate(data.get("type", [])):
            extra = set(t) - allowed
            if extra or "rule" not in t:
                raise ConfigError(
                    str(path),
                    f"type[{i}]",
                    f"unknown key {sorted(extra)[0]!r}" if extra else "needs a rule",
                )
            self.types.append(
                FileType(
                    t["rule"],
                    frozenset(e.lower() for e in t.get("extensions", [])),
                    tuple(t.get("magic", [])),
                    frozenset(t.get("mime", [])),
                    tuple(t.get("mime_prefix", [])),
                    frozenset(t.get("content", [])),
                )
            )
        names = data.get("names", {})
        self.innocent = frozenset(names.get("innocent_extensions", []))
        self.whitespace_run = int(names.get("whitespace_run", 5))
        self.dangerous = {ext: t.rule for t in self.types for ext in t.extensions if t.rule != "attachment.media"}

    # --- per message ----------------------------------------------------------------------------

    def run(self, envelope: Envelope, message: MessageView) -> Iterable[Finding]:
        findings: dict[tuple[str, str], Finding] = {}
        budget = Budget(self.limits)

        def add(rule: str, evidence: str, location: str, score: float = 1.0) -> None:
            evidence = _visible(evidence)
            category = "attachment.executable" if rule.startswith("attachment.executable") else rule
            findings.setdefault((rule, evidence), Finding(rule, category, score, evidence[:300], location))

        for n, attachment in enumerate(message.attachments):
            top = attachment.filename or f"(unnamed part {n + 1})"
            result = walk(top, attachment.data, attachment.declared_type, self.limits, budget)
            for entry in result.entries:
                self._classify(entry, add, attachment.location)
            for problem in result.problems:
                rule = "attachment.limits" if problem.kind == "limits" else f"attachment.archive.{problem.kind}"
                add(rule, f"{problem.path}: {problem.detail}", attachment.location)
        return list(findings.values())

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
        if facts.extension in (
            "mp3",
            "mp4",
            "wav",
            "avi",
            "mkv",
            "mov",
            "wma",
            "wmv",
            "flac",
            "m4a",
        ):
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


def _visible(text: str) -> str:
    """Evidence a reviewer can read: padding runs counted, hidden characters named."""
    text = str(regex.sub(r"\s{3,}", lambda m: f"[{len(m.group())} spaces]", text))
    return str(_HIDDEN.sub(lambda m: f"[U+{ord(m.group()):04X}]", text))


def _structural(test: str, data: bytes) -> bool:
    if test == "shebang":
        return data.startswith(b"#!") and b"\n" in data[:256]
    if test == "vba_project":
        if data.startswith(OLE_MAGIC):
            return any(marker in data for marker in _VBA_OLE_MARKERS)
        if data.startswith(ZIP_MAGIC):
            names = _zip_names(data)
            return any(n.lower().endswith("vbaproject.bin") for n in names) or any(
                n.startswith("Basic/") and n.endswith(".xml") and n != "Basic/script-lc.xml" for n in names
            )
        return False
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


def _zip_names(data: bytes) -> list[str]:
    try:
        with zipfile.ZipFile(BytesIO(data)) as zf:
            return zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return []
