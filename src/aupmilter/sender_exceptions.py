"""Per-sender exceptions: "this sender may send this kind of thing to this school until DATE".

Written by the review UI's *Release and allow sender* (every addition audited), readable and
editable by hand, validated strictly by the config loader (so ``aupmilter rules lint`` names the
file and the key of a bad row), honoured by :mod:`aupmilter.policy`.  An exception is narrow on
purpose: one sender address (exact, case-insensitive), one check's category (``confidential``,
``attachment.executable``; never ``*``), one school, and it expires.  A blanket allow is what a
phishing sender would want, so there is none.

The file is one TOML array of tables::

    [[exception]]
    sender = "results@lab.example"
    check = "confidential"
    school = "oakfield.example"
    expires = 2027-03-01
    added_by = "rita"
    added_at = 2026-12-03T09:14:00Z
    reason = "exam board results, agreed with the DPO"

The milter re-reads it when its modification time changes (:mod:`aupmilter.daemon`), so an
exception added in the UI applies to the next message without a manual reload.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aupmilter import schema
from aupmilter.errors import ConfigError
from aupmilter.model import Finding

#: The longest an exception may run: a year, then somebody looks again.
MAX_DAYS = 366
_ADDRESS = re.compile(r"^[^@\s\"<>,;]{1,64}@[A-Za-z0-9.-]{1,253}$")
_CHECK = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
_KEYS = {"sender", "check", "school", "expires", "added_by", "added_at", "reason"}
_lock = threading.Lock()


@dataclass(frozen=True)
class SenderException:
    sender: str
    check: str
    school: str
    expires: dt.date
    added_by: str = ""
    added_at: str = ""
    reason: str = ""

    def applies(self, sender: str, school: str, at: dt.datetime | None) -> bool:
        """Same sender and school, and not expired on the day (UTC) the message arrived."""
        day = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date()
        return sender.strip("<>").lower() == self.sender and school == self.school and day <= self.expires

    def covers(self, finding: Finding) -> bool:
        return any(n == self.check or n.startswith(self.check + ".") for n in (finding.category, finding.rule))


def parse(data: dict[str, Any], source: str, school_domains: set[str]) -> tuple[SenderException, ...]:
    """Validate the parsed file; a bad row raises :class:`ConfigError` naming it."""
    rows = data.pop("exception", [])
    if data:
        raise ConfigError(source, sorted(data)[0], "unknown key (expected [[exception]] rows)")
    if not isinstance(rows, list):
        raise ConfigError(source, "exception", "must be an array of tables ([[exception]])")
    out: list[SenderException] = []
    for i, row in enumerate(rows):
        key = f"exception[{i}]"
        if not isinstance(row, dict):
            raise ConfigError(source, key, "must be a table")
        unknown = sorted(set(row) - _KEYS)
        if unknown:
            raise ConfigError(source, f"{key}.{unknown[0]}", "unknown key")
        sender = row.get("sender")
        if not isinstance(sender, str) or not _ADDRESS.match(sender):
            raise ConfigError(source, f"{key}.sender", f"expected one e-mail address, got {sender!r}")
        check = row.get("check")
        if not isinstance(check, str) or not _CHECK.match(check):
            raise ConfigError(source, f"{key}.check", f"expected a category such as 'confidential', got {check!r}")
        school = row.get("school")
        if not isinstance(school, str) or school.lower() not in school_domains:
            raise ConfigError(source, f"{key}.school", f"not a configured school domain: {school!r}")
        expires = row.get("expires")
        if not isinstance(expires, dt.date) or isinstance(expires, dt.datetime):
            raise ConfigError(source, f"{key}.expires", f"expected a date (2027-03-01), got {expires!r}")
        added_at = row.get("added_at", "")
        added_day = added_at.date() if isinstance(added_at, dt.datetime) else None
        if added_day is not None and (expires - added_day).days > MAX_DAYS:
            raise ConfigError(source, f"{key}.expires", f"more than {MAX_DAYS} days after added_at")
        for text_key in ("added_by", "reason"):
            if not isinstance(row.get(text_key, ""), str):
                raise ConfigError(source, f"{key}.{text_key}", "expected a string")
        out.append(
            SenderException(
                sender=sender.lower(),
                check=check,
                school=school.lower(),
                expires=expires,
                added_by=str(row.get("added_by", "")),
                added_at=added_at.isoformat() if isinstance(added_at, dt.datetime) else str(added_at),
                reason=str(row.get("reason", "")),
            )
        )
    return tuple(out)


def load(path: Path, school_domains: set[str]) -> tuple[SenderException, ...]:
    """The file's exceptions; a missing file is an empty list, a bad one a ConfigError."""
    if not path.exists():
        return ()
    data = schema.load_toml(path)
    return parse(data, str(path), school_domains)


def _toml_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped) + '"'


def append(path: Path, exc: SenderException, school_domains: set[str]) -> None:
    """Add one exception: re-validate the whole file with the new row, then replace it atomically.

    The new text is parsed with the same validator the milter uses before it replaces the old
    file, so the UI can never leave a file that stops the milter reloading.
    """
    at = dt.datetime.fromisoformat(exc.added_at) if exc.added_at else dt.datetime.now(dt.UTC)
    block = (
        "\n[[exception]]\n"
        f"sender = {_toml_string(exc.sender)}\n"
        f"check = {_toml_string(exc.check)}\n"
        f"school = {_toml_string(exc.school)}\n"
        f"expires = {exc.expires.isoformat()}\n"
        f"added_by = {_toml_string(exc.added_by)}\n"
        f"added_at = {at.astimezone(dt.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
        f"reason = {_toml_string(exc.reason)}\n"
    )
    with _lock:
        try:
            old = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            old = (
                "# Sender exceptions (see docs/reviewer-guide.md): written by the review UI's\n"
                "# 'Release and allow sender'; validated by `aupmilter rules lint`.\n"
            )
        text = old + block
        parse(tomllib.loads(text), str(path), school_domains)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-exceptions-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o640)
            if os.geteuid() == 0:
                # Written by root (a UI started by hand): keep the directory's owner, so the
                # unprivileged milter can still read it.
                st = path.parent.stat()
                os.chown(tmp, st.st_uid, st.st_gid)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
