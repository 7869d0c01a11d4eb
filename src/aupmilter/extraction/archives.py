"""Walk attachments through archives and attached messages, within hard bounds.

Documents (OOXML, ODF, EPUB, JAR/APK, OLE2, RTF) are recognised first and handed to
:mod:`aupmilter.extraction.documents`: they are not archives, and their parts are not attachments.

Containers opened: zip (incl. encrypted: names are still listed), tar (+gz/bz2/xz), gzip, 7z
(py7zr), and e-mail messages (an ``.eml`` member or attached ``message/rfc822``).  Every bound
is a *finding*, never an exception: nesting depth, member count, bytes of one member, total
expanded bytes per message and expansion ratio (zip bombs).  Members are decompressed through a
reader capped at the bound, so a 42.zip-style bomb costs at most the bound, not its claim.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from aupmilter.extraction import documents
from aupmilter.extraction.documents import OLE_MAGIC, ZIP_MAGIC, Flag
from aupmilter.walklimits import Budget as Budget  # re-exported: the walk's callers build both
from aupmilter.walklimits import Limits as Limits

GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
SEVENZ_MAGIC = b"7z\xbc\xaf\x27\x1c"
RAR_MAGICS = (b"Rar!\x1a\x07\x00", b"Rar!\x1a\x07\x01")


@dataclass(frozen=True)
class Entry:
    """A file found inside a container (or the attachment itself at depth 0)."""

    path: str  # "invoice.zip/inner.zip/setup.exe"
    name: str  # the member's own name
    data: bytes | None  # None when not extracted (encrypted, over a bound)
    declared_type: str = ""
    encrypted: bool = False


@dataclass(frozen=True)
class Problem:
    """A bound hit or a container that could not be opened."""

    kind: str  # limits | encrypted | corrupt | uninspectable
    path: str
    detail: str


@dataclass
class Walk:
    entries: list[Entry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: (path of the document, what it contains): see :mod:`aupmilter.extraction.documents`.
    flags: list[tuple[str, Flag]] = field(default_factory=list)
    #: (path of the document, its format, the names of its parts).
    document_parts: list[tuple[str, str, list[str]]] = field(default_factory=list)


def container_kind(data: bytes, name: str) -> str | None:
    head = data[:8]
    lower = name.lower()
    if head.startswith(ZIP_MAGIC) or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(SEVENZ_MAGIC):
        return "7z"
    if any(head.startswith(m) for m in RAR_MAGICS):
        return "rar"
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(BZIP2_MAGIC) and lower.endswith((".bz2", ".tbz", ".tbz2")):
        return "bzip2"
    if head.startswith(XZ_MAGIC):
        return "xz"
    if len(data) > 262 and data[257:262] == b"ustar":
        return "tar"
    if lower.endswith(".eml") or _looks_like_message(data):
        return "message"
    # A zip whose local header was damaged (or disguised) is still read by zip tools from its
    # end-of-central-directory record: so must we.
    if len(data) >= 22 and b"PK\x05\x06" in data[-65557:]:
        return "zip"
    return None


def _looks_like_message(data: bytes) -> bool:
    head = data[:2048].lower()
    return head.startswith((b"received:", b"return-path:", b"from:", b"message-id:", b"mime-version:")) and (
        b"\nsubject:" in head or b"\ncontent-type:" in head
    )


def _capped_read(stream: IO[bytes], cap: int) -> tuple[bytes, bool]:
    """Read at most ``cap`` bytes in chunks; (data, truncated)."""
    chunks: list[bytes] = []
    total = 0
    while total <= cap:
        chunk = stream.read(min(1 << 16, cap + 1 - total))
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)[:cap], True


def walk(name: str, data: bytes, declared_type: str, limits: Limits, budget: Budget, label: str | None = None) -> Walk:
    """All entries reachable from one attachment (itself first), plus the problems met;
    ``label`` (default: the name) starts every path in the evidence."""
    out = Walk()
    _walk(label or name, name, data, declared_type, 0, limits, budget, out)
    return out


def _walk(
    path: str,
    name: str,
    data: bytes,
    declared: str,
    depth: int,
    limits: Limits,
    budget: Budget,
    out: Walk,
) -> None:
    out.entries.append(Entry(path, name, data, declared))
    if depth >= limits.max_depth and data.startswith((ZIP_MAGIC, OLE_MAGIC, b"{\\rt")):
        out.problems.append(Problem("limits", path, f"nested deeper than {limits.max_depth} levels"))
        return
    try:
        document = documents.inspect(data, path, limits, budget)
    except Exception as exc:  # a parser bug on hostile input is a finding, never a crash
        out.problems.append(Problem("corrupt", path, f"document could not be inspected ({type(exc).__name__})"))
        return
    if document is not None:
        # A document is inspected as what it is, never walked with archive extension rules.
        out.flags.extend((path, flag) for flag in document.flags)
        if document.part_names:
            out.document_parts.append((path, document.kind, document.part_names))
        out.problems.extend(Problem(kind, path, detail) for kind, detail in document.problems)
        for child_name, embedded in document.children:
            _walk(f"{path}/{child_name}", child_name.rsplit("/", 1)[-1], embedded, "", depth + 1, limits, budget, out)
        return
    kind = container_kind(data, name)
    if kind is None:
        return
    if depth >= limits.max_depth:
        out.problems.append(Problem("limits", path, f"nested deeper than {limits.max_depth} levels"))
        return
    try:
        for child_name, child, child_declared, encrypted in _open(kind, path, data, limits, budget, out):
            child_path = f"{path}/{child_name}"
            if child is None:
                out.entries.append(Entry(child_path, child_name, None, child_declared, encrypted))
                continue
            _walk(child_path, child_name, child, child_declared, depth + 1, limits, budget, out)
    except (
        zipfile.BadZipFile,
        tarfile.TarError,
        EOFError,
        OSError,
        lzma.LZMAError,
        ValueError,
        KeyError,
        RuntimeError,
        NotImplementedError,
    ) as exc:
        out.problems.append(Problem("corrupt", path, f"{kind} could not be read ({type(exc).__name__})"))
    except Exception as exc:
        out.problems.append(Problem("corrupt", path, f"{kind} could not be read ({type(exc).__name__})"))


ChildIter = Iterator[tuple[str, bytes | None, str, bool]]


def _open(kind: str, path: str, data: bytes, limits: Limits, budget: Budget, out: Walk) -> ChildIter:
    if kind == "zip":
        yield from _zip(path, data, limits, budget, out)
    elif kind == "tar":
        yield from _tar(path, data, limits, budget, out)
    elif kind in ("gzip", "bzip2", "xz"):
        yield from _single_stream(kind, path, data, limits, budget, out)
    elif kind == "7z":
        yield from _sevenzip(path, data, limits, budget, out)
    elif kind == "message":
        yield from _message(path, data, limits)
    elif kind == "rar":
        out.problems.append(Problem("uninspectable", path, "RAR archives cannot be opened here"))


def _member_allowed(path: str, size: int, compressed: int, limits: Limits, budget: Budget, out: Walk) -> bool:
    if size > limits.max_member_bytes:
        out.problems.append(Problem("limits", path, f"member of {size} bytes exceeds {limits.max_member_bytes}"))
        return False
    if compressed > 0 and size > (1 << 20) and size / compressed > limits.max_ratio:
        out.problems.append(Problem("limits", path, f"expansion ratio {size // compressed}:1 (archive bomb?)"))
        return False
    if not budget.take(size):
        out.problems.append(Problem("limits", path, f"total expanded size exceeds {limits.max_total_bytes} bytes"))
        return False
    return True


def _zip(path: str, data: bytes, limits: Limits, budget: Budget, out: Walk) -> ChildIter:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > limits.max_members:
            out.problems.append(Problem("limits", path, f"{len(infos)} members (more than {limits.max_members})"))
        encrypted_seen = False
        for n, info in enumerate(infos):
            encrypted = bool(info.flag_bits & 0x1)
            if encrypted and not encrypted_seen:
                encrypted_seen = True
                out.problems.append(Problem("encrypted", path, "password-protected zip"))
            if n >= limits.max_members or encrypted:
                # Names are still visible without expanding: name checks run on them.
                yield info.filename, None, "", encrypted
                continue
            member_path = f"{path}/{info.filename}"
            if not _member_allowed(member_path, info.file_size, info.compress_size, limits, budget, out):
                yield info.filename, None, "", False
                continue
            try:
                with zf.open(info) as stream:
                    content, truncated = _capped_read(stream, limits.max_member_bytes)
            except (
                zipfile.BadZipFile,
                OSError,
                EOFError,
                NotImplementedError,
                ValueError,
                RuntimeError,
            ) as exc:
                # The name is still known (from the central directory): name checks still apply.
                out.problems.append(Problem("corrupt", member_path, f"member could not be read ({type(exc).__name__})"))
                yield info.filename, None, "", False
                continue
            if truncated:
                out.problems.append(Problem("limits", member_path, "member larger than declared (archive bomb?)"))
                yield info.filename, None, "", False
                continue
            yield info.filename, content, "", False


def _tar(path: str, data: bytes, limits: Limits, budget: Budget, out: Walk) -> ChildIter:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tf:
        count = 0
        for member in tf:
            if not member.isfile():
                continue
            count += 1
            if count > limits.max_members:
                out.problems.append(Problem("limits", path, f"more than {limits.max_members} members"))
                return
            member_path = f"{path}/{member.name}"
            if not _member_allowed(member_path, member.size, member.size, limits, budget, out):
                yield member.name, None, "", False
                continue
            stream = tf.extractfile(member)
            if stream is None:
                continue
            content, _ = _capped_read(stream, limits.max_member_bytes)
            yield member.name, content, "", False


def _single_stream(kind: str, path: str, data: bytes, limits: Limits, budget: Budget, out: Walk) -> ChildIter:
    opener = {"gzip": gzip.GzipFile, "bzip2": bz2.BZ2File, "xz": lzma.LZMAFile}[kind]
    with opener(fileobj=io.BytesIO(data)) as stream:
        content, truncated = _capped_read(stream, limits.max_member_bytes)
    inner = path.rsplit("/", 1)[-1]
    for suffix in (".gz", ".tgz", ".bz2", ".tbz2", ".tbz", ".xz", ".txz"):
        if inner.lower().endswith(suffix):
            inner = inner[: -len(suffix)] + (".tar" if suffix.startswith(".t") and suffix != ".tar" else "")
            break
    if truncated or (len(content) > (1 << 20) and len(content) / max(len(data), 1) > limits.max_ratio):
        out.problems.append(Problem("limits", f"{path}/{inner}", "decompresses past the bound (archive bomb?)"))
        return
    if not budget.take(len(content)):
        out.problems.append(Problem("limits", path, f"total expanded size exceeds {limits.max_total_bytes} bytes"))
        return
    yield inner or "data", content, "", False


def _sevenzip(path: str, data: bytes, limits: Limits, budget: Budget, out: Walk) -> ChildIter:
    import py7zr
    from py7zr.io import BytesIOFactory

    with py7zr.SevenZipFile(io.BytesIO(data), mode="r") as archive:
        infos = [i for i in archive.list() if not i.is_directory]
        encrypted = archive.needs_password()
        if encrypted:
            out.problems.append(Problem("encrypted", path, "password-protected 7z"))
            for info in infos[: limits.max_members]:
                yield info.filename, None, "", True
            return
        if len(infos) > limits.max_members:
            out.problems.append(Problem("limits", path, f"{len(infos)} members (more than {limits.max_members})"))
            infos = infos[: limits.max_members]
        wanted = []
        for info in infos:
            member_path = f"{path}/{info.filename}"
            compressed = info.compressed or 0
            if _member_allowed(member_path, info.uncompressed, compressed, limits, budget, out):
                wanted.append(info.filename)
            else:
                yield info.filename, None, "", False
        if not wanted:
            return
        factory = BytesIOFactory(limits.max_member_bytes)  # py7zr's own capped in-memory writer
        archive.extract(targets=wanted, factory=factory)
        for name in wanted:
            product = factory.products.get(name)
            if product is not None:
                product.seek(0)
                yield name, product.read(), "", False


def _message(path: str, data: bytes, limits: Limits) -> ChildIter:
    from aupmilter.message import MessageView

    view = MessageView(data, max_parts=limits.max_members, max_depth=limits.max_depth)
    for n, attachment in enumerate(view.attachments):
        name = attachment.filename or f"part{n + 1}"
        yield name, attachment.data, attachment.declared_type, False
