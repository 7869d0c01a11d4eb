"""The quarantine store: metadata + audit log in SQL, raw messages durable before we say so.

* ``put`` returns only once the message is durable: with SQLite, the raw file is written to a
  temporary file in the target directory, fsynced, renamed and the directory fsynced, and then
  the row committed (``synchronous=FULL``); with PostgreSQL (several gateways sharing one
  quarantine) the bytes go in the same transaction as the row.  Any failure raises, and the
  milter answers tempfail: Postfix keeps the message.
* Ids are random (128 bits, lower-case hex) and validated on every lookup, so they can be
  neither guessed nor used to walk the file system.  Hex, not URL-safe base64: an id starting
  with ``-`` read as an option by every command line that took it (found by CI).
* Content is reached through two doors only, both audited: ``read_content`` for a reviewer on a
  non-sealed item, ``unseal`` for a DPO with a written reason on a sealed one.
* The audit log is an HMAC chain keyed outside the database and anchored outside the store
  (:mod:`aupmilter.quarantine.audit`): an edited, deleted, reordered or truncated record, or a
  chain rebuilt without the key, fails ``verify_audit``.
* Blob references read from the database are validated before any file is touched
  (``file:YYYY/MM/<item id>.eml`` under the root, and never in a shared PostgreSQL database):
  whoever can write a row must not reach other files on the gateway.
* Release claims its recipients in one transaction before sending, so concurrent releases
  deliver each recipient once.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import logging
import os
import re
import secrets
import smtplib
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aupmilter.config import QuarantineSettings
from aupmilter.fsmodes import FILE_MODE, describe, make_dirs, unusable_folder
from aupmilter.model import Finding
from aupmilter.quarantine.access import Role, allowed, require
from aupmilter.quarantine.audit import (
    GENESIS,
    Anchor,
    AuditKeyError,
    AuditRecord,
    KeyRing,
    Verification,
    verify_chain,
)
from aupmilter.quarantine.db import AUDIT_LOCK_KEY, PostgresDatabase, SqliteDatabase, Tx
from aupmilter.quarantine.record import QuarantineRecord
from aupmilter.secretfile import create_secret

log = logging.getLogger("aupmilter.quarantine")

_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_FILE_REF = re.compile(r"file:(?P<y>[0-9]{4})/(?P<m>0[1-9]|1[0-2])/(?P<id>[0-9a-f]{32})\.eml")
#: A claimed recipient whose release never finished (the process died) may be retried after this.
CLAIM_SECONDS = 3600
ITEM_COLUMNS = (
    "id, received_at, sender, recipients, direction, schools, action, reason, categories, findings,"
    " sealed, subject, queue_id, size, status, released_to, blob_ref"
)
AUDIT_COLUMNS = "seq, at, actor, role, action, item_id, reason, prev_hash, hash, key_id"


class StoreError(Exception):
    """A store operation that cannot be done (unknown id, wrong state, not allowed)."""


class SealedError(StoreError):
    """The item is sealed: its content needs an unseal with a reason (DPO role)."""


@dataclass(frozen=True)
class Item:
    id: str
    record: QuarantineRecord
    status: str  # held | released | deleted
    size: int
    released_to: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "size": self.size,
            "released_to": list(self.released_to),
            **self.record.to_json(),
        }

    def for_role(self, role: Role) -> Item:
        """What ``role`` may see of this item: without the content permission (auditors), the
        subject and the evidence text (quoted words of the message) are removed, leaving
        metadata only: sender, recipients, date, rule ids, categories, scores, locations."""
        if allowed(role, "content"):
            return self
        findings = tuple(Finding(f.rule, f.category, f.score, "", f.location) for f in self.record.findings)
        record = replace(self.record, subject=None, findings=findings)
        return replace(self, record=record)


@dataclass(frozen=True)
class Event:
    """One decided message with findings, as the report log keeps it (no address, no text)."""

    at: dt.datetime
    direction: str
    action: str
    school: str
    categories: tuple[str, ...]
    rules: tuple[str, ...]


@dataclass(frozen=True)
class ReleaseResult:
    delivered: tuple[str, ...]
    refused: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.refused and bool(self.delivered)


def retention_for(categories: Iterable[str], retention_days: dict[str, int], default_days: int) -> int:
    """Days an item is kept: the longest retention of its categories (purge and the UI agree)."""
    return max(
        [retention_days.get(c.split(".")[0], retention_days.get(c, default_days)) for c in categories] or [default_days]
    )


def _like(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern (``ESCAPE '\\'``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _check_id(item_id: str) -> str:
    if not _ID.match(item_id):
        raise StoreError("not a quarantine id")
    return item_id


class QuarantineStore:
    def __init__(self, settings: QuarantineSettings) -> None:
        self.settings = settings
        self.root = Path(settings.path)
        url = settings.database
        if url.startswith(("postgresql://", "postgres://")):
            self.db: SqliteDatabase | PostgresDatabase = PostgresDatabase(url)
            self.blobs_in_db = True
        else:
            make_dirs(self.root)  # 0750 if we create it; an existing folder is the admin's
            path = Path(url.removeprefix("sqlite:///")) if url else self.root / "quarantine.db"
            self.db = SqliteDatabase(path)
            self.blobs_in_db = False
        self.keys = self._key_ring(Path(settings.audit_key_file or self.root / "audit.key"))
        self.anchor = Anchor(Path(settings.audit_anchor_file or self.root / "audit-anchor.log"))
        if not os.path.lexists(self.anchor.path) and create_secret(self.anchor.path, ""):
            self._give_to_store_owner(self.anchor.path)

    def _key_ring(self, path: Path) -> KeyRing:
        """Load the audit key, creating the first one on a store that has never had one.

        A store whose audit records are already keyed never gets a fresh key silently: with a
        shared PostgreSQL quarantine, every gateway must use the same key file (copy it)."""
        if not os.path.lexists(path):
            with self.db.transaction() as tx:
                keyed = tx.execute("SELECT 1 FROM audit WHERE key_id <> '' LIMIT 1").fetchone()
            if keyed:
                raise AuditKeyError(
                    f"audit key {path} is missing but the audit trail is keyed: copy the key file "
                    "from the gateway that created it (mode 0600)"
                )
            KeyRing.create(path)
            self._give_to_store_owner(path)
        return KeyRing.load(path)

    def _give_to_store_owner(self, path: Path) -> None:
        """A file root creates (the CLI under sudo) belongs to the store's owner, so the service
        can still read it."""
        if os.geteuid() == 0 and self.root.exists():
            st = self.root.stat()
            os.chown(path, st.st_uid, st.st_gid)

    # --- writing ------------------------------------------------------------------------------

    def put(self, raw: bytes, record: QuarantineRecord) -> str:
        item_id = secrets.token_hex(16)
        when = record.received_at.astimezone(dt.UTC)
        blob_ref = f"db:{item_id}" if self.blobs_in_db else self._write_file(item_id, when, raw, record)
        try:
            with self.db.transaction() as tx:
                if self.blobs_in_db:
                    tx.execute("INSERT INTO blobs (id, data) VALUES (?, ?)", (item_id, raw))
                tx.execute(
                    "INSERT INTO items (id, received_at, sender, recipients, direction, schools,"
                    " action, reason, categories, findings, sealed, subject, queue_id, size,"
                    " status, released_to, blob_ref) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        item_id,
                        when.isoformat(),
                        record.sender,
                        json.dumps(list(record.recipients)),
                        record.direction,
                        json.dumps(list(record.schools)),
                        record.action,
                        record.reason,
                        "," + ",".join(record.categories) + ",",
                        json.dumps([f.to_json() for f in record.findings]),
                        1 if record.sealed else 0,
                        None if record.sealed else record.subject,
                        record.queue_id,
                        len(raw),
                        "held",
                        "[]",
                        blob_ref,
                    ),
                )
                self._audit(tx, "aupmilter", "system", "quarantine", item_id, record.reason)
        except BaseException:
            if not self.blobs_in_db:
                self._remove_file(self.root / blob_ref.removeprefix("file:"))
            raise
        return item_id

    def _write_file(self, item_id: str, when: dt.datetime, raw: bytes, record: QuarantineRecord) -> str:
        rel = Path(f"{when:%Y}") / f"{when:%m}" / f"{item_id}.eml"
        target = self.root / rel
        try:
            make_dirs(target.parent)  # year/month 0750 whatever the umask: never without search bit
        except OSError as exc:
            where = unusable_folder(target.parent) or Path(exc.filename or target.parent)
            raise StoreError(f"quarantine folder not writable: {describe(where)}: {exc.strerror}") from exc
        blocked = unusable_folder(target.parent)
        if blocked is not None:
            raise StoreError(f"quarantine folder not writable: {describe(blocked)}")
        for data, path in (
            (raw, target),
            (json.dumps(record.to_json()).encode(), target.with_suffix(".json")),
        ):
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.chmod(tmp, FILE_MODE)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return f"file:{rel}"

    def _remove_file(self, path: Path | None) -> None:
        if path is not None:
            path.unlink(missing_ok=True)
            path.with_suffix(".json").unlink(missing_ok=True)

    def _blob_path(self, item_id: str, ref: str) -> Path | None:
        """The file behind a blob reference read from the database, or None for ``db:``.

        Refused (StoreError): anything but ``db:<this id>`` or ``file:YYYY/MM/<this id>.eml``,
        a ``file:`` reference in a PostgreSQL quarantine (a row written by another gateway or
        by anyone with database access must not name files on this one), and a path that
        leaves the store root through a symlink."""
        if ref == f"db:{item_id}":
            return None
        match = _FILE_REF.fullmatch(ref)
        if match is None or match["id"] != item_id:
            raise StoreError(f"item {item_id} has an invalid blob reference; nothing was read or removed")
        if self.blobs_in_db:
            raise StoreError(f"item {item_id}: file blob references are refused in a PostgreSQL quarantine")
        root = self.root.resolve()
        path = root / match["y"] / match["m"] / f"{item_id}.eml"
        if path.resolve() != path or not path.is_relative_to(root):
            raise StoreError(f"item {item_id}: blob path leaves the quarantine folder; refused")
        return path

    # --- reading metadata (any role) -------------------------------------------------------------

    @staticmethod
    def _where(
        *,
        category: str | None = None,
        school: str | None = None,
        direction: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        status: str | None = "held",
        search: str | None = None,
    ) -> tuple[str, list[Any]]:
        """One WHERE clause for list, count and facets, so a page and its totals always agree.

        ``category`` takes a category or a rule id (what the list shows) and matches it or
        anything under it; ``search`` is a case-insensitive substring of sender, recipients,
        subject (sealed items have none stored) or id.
        """
        where: list[str] = []
        params: list[Any] = []
        if status:
            where.append("status = ?")
            params.append(status)
        if category:
            where.append("(categories LIKE ? OR categories LIKE ? OR findings LIKE ? OR findings LIKE ?)")
            rule = json.dumps(category)[1:-1]
            params += [
                f"%,{_like(category)},%",
                f"%,{_like(category)}.%",
                f'%"rule": "{_like(rule)}"%',
                f'%"rule": "{_like(rule)}.%',
            ]
        if school:
            where.append("schools LIKE ?")
            params.append(f'%"{_like(school)}"%')
        if direction:
            where.append("direction = ?")
            params.append(direction)
        if since:
            where.append("received_at >= ?")
            params.append(since.astimezone(dt.UTC).isoformat())
        if until:
            where.append("received_at < ?")
            params.append(until.astimezone(dt.UTC).isoformat())
        if search:
            needle = f"%{_like(search.lower())}%"
            where.append(
                "(LOWER(sender) LIKE ? OR LOWER(recipients) LIKE ? OR LOWER(COALESCE(subject, '')) LIKE ? OR id LIKE ?)"
            )
            params += [needle, needle, needle, needle]
        # A LIKE pattern's own % and _ are escaped with backslash (same spelling in both dialects).
        sql = " WHERE " + " AND ".join(w.replace("LIKE ?", "LIKE ? ESCAPE '\\'") for w in where) if where else ""
        return sql, params

    def list(
        self,
        *,
        category: str | None = None,
        school: str | None = None,
        direction: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        status: str | None = "held",
        search: str | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> list[Item]:
        where, params = self._where(
            category=category,
            school=school,
            direction=direction,
            since=since,
            until=until,
            status=status,
            search=search,
        )
        sql = f"SELECT {ITEM_COLUMNS} FROM items" + where + " ORDER BY received_at DESC, id LIMIT ? OFFSET ?"
        params += [int(limit), max(0, int(offset))]
        with self.db.transaction() as tx:
            rows = tx.execute(sql, params).fetchall()
        return [self._item(row) for row in rows]

    def count(self, **filters: Any) -> int:
        """How many items the same filters as :meth:`list` match (for "51-100 of 523")."""
        where, params = self._where(**filters)
        with self.db.transaction() as tx:
            row = tx.execute("SELECT COUNT(*) FROM items" + where, params).fetchone()
        return int(row[0])

    def facets(self, **filters: Any) -> dict[str, dict[str, int]]:
        """Counts per top-level category, full category, school domain and direction.

        Only three short columns are read per item (no content, no addresses), so this stays
        cheap for the tens of thousands of rows a retention period holds.
        """
        where, params = self._where(**filters)
        with self.db.transaction() as tx:
            rows = tx.execute("SELECT categories, schools, direction FROM items" + where, params).fetchall()
        out: dict[str, dict[str, int]] = {"top": {}, "category": {}, "school": {}, "direction": {}}

        def bump(kind: str, key: str) -> None:
            out[kind][key] = out[kind].get(key, 0) + 1

        for cats, schools, direction in rows:
            names = [c for c in cats.strip(",").split(",") if c]
            for top in dict.fromkeys(c.split(".")[0] for c in names):
                bump("top", top)
            for cat in names:
                bump("category", cat)
            for school in json.loads(schools):
                bump("school", school)
            bump("direction", direction)
        return out

    def get(self, item_id: str) -> Item:
        _check_id(item_id)
        with self.db.transaction() as tx:
            row = tx.execute(f"SELECT {ITEM_COLUMNS} FROM items WHERE id = ?", (item_id,)).fetchone()
        if row is None:
            raise StoreError("no such quarantine item")
        return self._item(row)

    @staticmethod
    def _item(row: Sequence[Any]) -> Item:
        (
            item_id,
            received_at,
            sender,
            recipients,
            direction,
            schools,
            action,
            reason,
            _cats,
            findings,
            sealed,
            subject,
            queue_id,
            size,
            status,
            released_to,
            _blob,
        ) = row
        record = QuarantineRecord(
            sender=sender,
            recipients=tuple(json.loads(recipients)),
            direction=direction,
            schools=tuple(json.loads(schools)),
            action=action,
            reason=reason,
            findings=tuple(Finding(**f) for f in json.loads(findings)),
            sealed=bool(sealed),
            subject=subject,
            queue_id=queue_id,
            received_at=dt.datetime.fromisoformat(received_at),
        )
        return Item(item_id, record, status, int(size), tuple(json.loads(released_to)))

    # --- content: the only two doors -------------------------------------------------------------

    def read_content(self, item_id: str, actor: str, role: Role) -> bytes:
        """Raw message of a non-sealed item for a reviewer; audited as a view."""
        require(role, "content")
        item = self.get(item_id)
        if item.record.sealed:
            raise SealedError("sealed Personal/Private item: unseal with a reason first")
        with self.db.transaction() as tx:
            self._audit(tx, actor, role.value, "view", item_id, "")
            return self._read_blob(tx, item_id)

    def unseal(self, item_id: str, actor: str, role: Role, reason: str) -> bytes:
        """Raw message of a sealed item: DPO only, with a written reason, always audited."""
        require(role, "unseal")
        if len(reason.strip()) < 10:
            raise StoreError("unsealing needs a written reason (at least 10 characters)")
        self.get(item_id)
        with self.db.transaction() as tx:
            self._audit(tx, actor, role.value, "unseal", item_id, reason.strip())
            return self._read_blob(tx, item_id)

    def _read_blob(self, tx: Tx, item_id: str) -> bytes:
        row = tx.execute("SELECT blob_ref FROM items WHERE id = ?", (item_id,)).fetchone()
        if row is None or not row[0]:
            raise StoreError("the item's content was deleted")
        path = self._blob_path(item_id, row[0])
        if path is None:
            data = tx.execute("SELECT data FROM blobs WHERE id = ?", (item_id,)).fetchone()
            if data is None:
                raise StoreError("the item's content is missing")
            return bytes(data[0])
        return path.read_bytes()

    # --- actions --------------------------------------------------------------------------

    def release(
        self,
        item_id: str,
        actor: str,
        role: Role,
        recipients: Iterable[str] | None = None,
        host: str | None = None,
        port: int | None = None,
        prepare: Callable[[Item, bytes], bytes] | None = None,
    ) -> ReleaseResult:
        """Re-inject to the milter-free listener; success only on 250, per recipient.

        ``prepare`` makes the copy that is sent (aupmilter.release.Releaser: the outbound
        transforms the message would have had); without it, the stored bytes plus X-AUP-Released.

        Exactly once per recipient, even with releases running at once from the UI and the CLI
        on several gateways: the recipients are *claimed* in one transaction (row lock) before
        anything is sent, a concurrent release sees the claim, and the claim is cleared when
        the outcome is recorded.  A claim left by a process that died mid-send is honoured for
        ``CLAIM_SECONDS``, then the recipient may be released again."""
        require(role, "release")
        _check_id(item_id)
        item, pending, busy = self._claim(item_id, recipients)
        try:
            with self.db.transaction() as tx:
                raw = self._read_blob(tx, item_id)
        except BaseException:
            self._settle(item_id, actor, role, pending, [], {r: "not sent: content unreadable" for r in pending})
            raise
        try:
            data = prepare(item, raw) if prepare is not None else f"X-AUP-Released: {item_id}\r\n".encode() + raw
        except BaseException:
            self._settle(
                item_id, actor, role, pending, [], {r: "not sent: the copy could not be prepared" for r in pending}
            )
            raise
        delivered, refused = self._send(
            item.record.sender, pending, data, host or self.settings.release_host, port or self.settings.release_port
        )
        from aupmilter import metrics

        metrics.RELEASES.labels(outcome="ok" if delivered and not refused else "failed").inc()
        self._settle(item_id, actor, role, pending, delivered, refused)
        for rcpt in busy:
            refused[rcpt] = "not sent: another release to this recipient is in progress"
        return ReleaseResult(tuple(delivered), refused)

    @staticmethod
    def _send(
        sender: str, pending: Sequence[str], data: bytes, host: str, port: int
    ) -> tuple[builtins.list[str], dict[str, str]]:
        """One SMTP transaction to the milter-free listener: (delivered, refused with reasons).
        Never raises: every failure becomes a per-recipient reason, so claims are always settled."""
        refused: dict[str, str] = {}
        delivered: builtins.list[str] = []
        try:
            with smtplib.SMTP(host, port, timeout=60) as smtp:
                smtp.ehlo("aupmilter-release")
                code, msg = smtp.mail(sender)
                if code != 250:
                    return [], {r: f"MAIL FROM refused: {code} {msg.decode(errors='replace')}" for r in pending}
                accepted = []
                for rcpt in pending:
                    code, msg = smtp.rcpt(rcpt)
                    if code in (250, 251):
                        accepted.append(rcpt)
                    else:
                        refused[rcpt] = f"{code} {msg.decode(errors='replace')}"
                if accepted:
                    code, msg = smtp.data(data)
                    if code == 250:
                        delivered = accepted
                    else:
                        for rcpt in accepted:
                            refused[rcpt] = f"{code} {msg.decode(errors='replace')}"
        except Exception as exc:
            for rcpt in pending:
                if rcpt not in delivered:
                    refused.setdefault(rcpt, f"release failed: {exc}")
        return delivered, refused

    def _claim(
        self, item_id: str, recipients: Iterable[str] | None
    ) -> tuple[Item, builtins.list[str], builtins.list[str]]:
        """Lock the item, check the chosen recipients and claim those still to be sent."""
        now = int(time.time())
        with self.db.transaction() as tx:
            row = tx.execute(
                f"SELECT {ITEM_COLUMNS}, claims FROM items WHERE id = ?{tx.lock_row_sql()}", (item_id,)
            ).fetchone()
            if row is None:
                raise StoreError("no such quarantine item")
            item = self._item(row[:-1])
            claims = {r: t for r, t in json.loads(row[-1]).items() if now - int(t) < CLAIM_SECONDS}
            if item.status == "deleted":
                raise StoreError("item was deleted")
            original = list(item.record.recipients)
            chosen = list(recipients) if recipients is not None else original
            extra = [r for r in chosen if r not in original]
            if extra:
                raise StoreError(f"not an original recipient: {extra[0]}")
            unsent = [r for r in dict.fromkeys(chosen) if r not in item.released_to]
            pending = [r for r in unsent if r not in claims]
            busy = [r for r in unsent if r in claims]
            if not pending:
                if busy:
                    raise StoreError(f"a release to {busy[0]} is already in progress")
                raise StoreError("already released to every chosen recipient")
            claims.update({r: now for r in pending})
            tx.execute("UPDATE items SET claims = ? WHERE id = ?", (json.dumps(claims), item_id))
        return item, pending, busy

    def _settle(
        self,
        item_id: str,
        actor: str,
        role: Role,
        pending: Sequence[str],
        delivered: Sequence[str],
        refused: dict[str, str],
    ) -> None:
        """Record a release's outcome and drop its claims, in one transaction."""
        with self.db.transaction() as tx:
            row = tx.execute(
                f"SELECT recipients, released_to, claims FROM items WHERE id = ?{tx.lock_row_sql()}", (item_id,)
            ).fetchone()
            original = json.loads(row[0])
            released_to = list(dict.fromkeys([*json.loads(row[1]), *delivered]))
            claims = {r: t for r, t in json.loads(row[2]).items() if r not in pending}
            status = "released" if set(original) <= set(released_to) else "held"
            tx.execute(
                "UPDATE items SET released_to = ?, status = ?, claims = ? WHERE id = ?",
                (json.dumps(released_to), status, json.dumps(claims), item_id),
            )
            outcome = "ok" if not refused else "failed: " + "; ".join(f"{r}: {e}" for r, e in refused.items())
            self._audit(tx, actor, role.value, "release", item_id, f"to {', '.join(pending)}: {outcome}")

    def delete(self, item_id: str, actor: str, role: Role, reason: str) -> None:
        """Delete an item's content (the record stays); the reason is required and audited."""
        require(role, "delete")
        if len(reason.strip()) < 3:
            raise StoreError("deleting needs a reason (at least 3 characters)")
        item = self.get(item_id)
        self._delete(item, actor, role.value, "delete", reason.strip())

    def _delete(self, item: Item, actor: str, role: str, action: str, reason: str) -> None:
        with self.db.transaction() as tx:
            row = tx.execute("SELECT blob_ref FROM items WHERE id = ?", (item.id,)).fetchone()
            path = self._blob_path(item.id, row[0]) if row and row[0] else None
            tx.execute("UPDATE items SET status = 'deleted', blob_ref = '' WHERE id = ?", (item.id,))
            tx.execute("DELETE FROM blobs WHERE id = ?", (item.id,))
            self._audit(tx, actor, role, action, item.id, reason)
        self._remove_file(path)

    def purge(self, retention_days: dict[str, int], default_days: int, actor: str, now: dt.datetime) -> int:
        """Delete items older than their category's retention (the longest that applies)."""
        count = 0
        for item in self.list(status=None, limit=1_000_000):
            if item.status == "deleted":
                continue
            days = retention_for(item.record.categories, retention_days, default_days)
            if item.record.received_at < now - dt.timedelta(days=days):
                try:
                    self._delete(item, actor, "system", "purge", f"retention {days} days")
                except StoreError as exc:
                    log.error("purge skipped an item: %s", exc)
                    continue
                count += 1
        return count

    # --- events (for reports) -----------------------------------------------------------

    def record_events(self, events: Iterable[Event]) -> None:
        """Append events to the report log, all in one transaction: the notifier hands over
        whatever queued up while the last commit was on disk, so a busy gateway pays one
        synchronous commit per batch, not one per message (and holds the quarantine's write
        lock that much less)."""
        rows = [
            (
                e.at.astimezone(dt.UTC).isoformat(),
                e.direction,
                e.action,
                e.school,
                ",".join(dict.fromkeys(e.categories)),
                ",".join(dict.fromkeys(e.rules)),
            )
            for e in events
        ]
        if not rows:
            return
        with self.db.transaction() as tx:
            for row in rows:
                tx.execute(
                    "INSERT INTO events (at, direction, action, school, categories, rules) VALUES (?,?,?,?,?,?)", row
                )

    def events(self, since: dt.datetime, until: dt.datetime) -> builtins.list[tuple[str, str, str, str, str, str]]:
        with self.db.transaction() as tx:
            rows = tx.execute(
                "SELECT at, direction, action, school, categories, rules FROM events WHERE at >= ? AND at < ?",
                (since.astimezone(dt.UTC).isoformat(), until.astimezone(dt.UTC).isoformat()),
            ).fetchall()
        return [tuple(r) for r in rows]

    def held_summary(self, now: dt.datetime) -> dict[tuple[str, str], int]:
        """Held items by top-level category and age bucket (for the backlog gauge)."""
        out: dict[tuple[str, str], int] = {}
        with self.db.transaction() as tx:
            rows = tx.execute("SELECT categories, received_at FROM items WHERE status = 'held'").fetchall()
        for cats, received in rows:
            age = (now - dt.datetime.fromisoformat(received)).total_seconds()
            bucket = "lt_1d" if age < 86400 else "lt_7d" if age < 7 * 86400 else "ge_7d"
            top = (cats.strip(",").split(",")[0] or "none").split(".")[0]
            out[(top, bucket)] = out.get((top, bucket), 0) + 1
        return out

    # --- audit ----------------------------------------------------------------------------

    def _audit(self, tx: Tx, actor: str, role: str, action: str, item_id: str | None, reason: str) -> None:
        if self.db.dialect == "postgresql":
            # One chain across gateways; an advisory lock needs no UPDATE right on the table.
            tx.execute("SELECT pg_advisory_xact_lock(?)", (AUDIT_LOCK_KEY,))
        last = tx.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        at = dt.datetime.now(dt.UTC).isoformat()
        key_id, mac = self.keys.sign(seq, prev, at, actor, role, action, item_id, reason)
        tx.execute(
            f"INSERT INTO audit ({AUDIT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (seq, at, actor, role, action, item_id, reason, prev, mac, key_id),
        )
        record = AuditRecord(seq, at, actor, role, action, item_id, reason, prev, mac, key_id)
        tx.after_commit.append(lambda: self._anchor(record))

    def _anchor(self, record: AuditRecord) -> None:
        """Append a committed record's head to the local anchor log.  A failure here must not
        fail the mail path (the record is committed): it is logged, and verification shows the
        anchor lagging, never a false alarm."""
        try:
            self.anchor.append([record])
        except OSError as exc:
            log.error("audit anchor %s not written: %s", self.anchor.path, exc)

    def audit_log(self, role: Role, item_id: str | None = None) -> builtins.list[AuditRecord]:
        require(role, "audit")
        sql = f"SELECT {AUDIT_COLUMNS} FROM audit"
        params: tuple[Any, ...] = ()
        if item_id:
            sql += " WHERE item_id = ?"
            params = (item_id,)
        with self.db.transaction() as tx:
            rows = tx.execute(sql + " ORDER BY seq", params).fetchall()
        return [AuditRecord(*row) for row in rows]

    def record_access(self, actor: str, role: Role, action: str, item_id: str | None, reason: str = "") -> None:
        """Audit a metadata view (UI item page, CLI show) that returns no content."""
        with self.db.transaction() as tx:
            self._audit(tx, actor, role.value, action, item_id, reason)

    def audit_event(self, actor: str, role: str, action: str, item_id: str | None, reason: str) -> None:
        """Audit an administrative event (accounts, key rotation) with a free-form role."""
        with self.db.transaction() as tx:
            self._audit(tx, actor, role, action, item_id, reason)

    def verify_audit(self) -> Verification:
        """Recompute the chain with the key ring and compare it with this host's anchor log."""
        with self.db.transaction() as tx:
            rows = tx.execute(f"SELECT {AUDIT_COLUMNS} FROM audit ORDER BY seq").fetchall()
        return verify_chain([AuditRecord(*row) for row in rows], self.keys, self.anchor)

    def rotate_audit_key(self, actor: str) -> str:
        """Add a new audit key (kept with the old ones, which still verify older records) and
        record the rotation, signed with the new key."""
        key_id = self.keys.rotate()
        self.audit_event(actor, "system", "audit-key-rotate", None, f"new key id {key_id}")
        return key_id

    def close(self) -> None:
        self.db.close()
