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
* The audit log is a hash chain: each record carries the hash of the previous one, so an edited
  or deleted record breaks ``verify_audit``.
"""

from __future__ import annotations

import builtins
import datetime as dt
import hashlib
import json
import os
import re
import secrets
import smtplib
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aupmilter.config import QuarantineSettings
from aupmilter.fsmodes import FILE_MODE, describe, make_dirs, unusable_folder
from aupmilter.quarantine.access import Role, require
from aupmilter.quarantine.db import PostgresDatabase, SqliteDatabase, Tx
from aupmilter.quarantine.record import QuarantineRecord

_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
GENESIS = "0" * 64


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


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: str
    actor: str
    role: str
    action: str
    item_id: str | None
    reason: str
    prev_hash: str
    hash: str


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


def _audit_hash(prev: str, at: str, actor: str, role: str, action: str, item: str | None, reason: str) -> str:
    payload = json.dumps([prev, at, actor, role, action, item, reason], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


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
                self._remove_file(blob_ref)
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

    def _remove_file(self, blob_ref: str) -> None:
        if blob_ref.startswith("file:"):
            path = self.root / blob_ref[5:]
            path.unlink(missing_ok=True)
            path.with_suffix(".json").unlink(missing_ok=True)

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
        sql = "SELECT * FROM items" + where + " ORDER BY received_at DESC, id LIMIT ? OFFSET ?"
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
            row = tx.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
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
        from aupmilter.model import Finding

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
        ref: str = row[0]
        if ref.startswith("db:"):
            data = tx.execute("SELECT data FROM blobs WHERE id = ?", (item_id,)).fetchone()[0]
            return bytes(data)
        return (self.root / ref[5:]).read_bytes()

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
        transforms the message would have had); without it, the stored bytes plus X-AUP-Released."""
        require(role, "release")
        item = self.get(item_id)
        if item.status == "deleted":
            raise StoreError("item was deleted")
        original = list(item.record.recipients)
        chosen = list(recipients) if recipients is not None else original
        extra = [r for r in chosen if r not in original]
        if extra:
            raise StoreError(f"not an original recipient: {extra[0]}")
        pending = [r for r in chosen if r not in item.released_to]
        if not pending:
            raise StoreError("already released to every chosen recipient")
        with self.db.transaction() as tx:
            raw = self._read_blob(tx, item_id)
        data = prepare(item, raw) if prepare is not None else f"X-AUP-Released: {item_id}\r\n".encode() + raw
        refused: dict[str, str] = {}
        delivered: list[str] = []
        try:
            with smtplib.SMTP(
                host or self.settings.release_host, port or self.settings.release_port, timeout=60
            ) as smtp:
                smtp.ehlo("aupmilter-release")
                code, msg = smtp.mail(item.record.sender)
                if code != 250:
                    raise StoreError(f"release refused at MAIL FROM: {code} {msg.decode(errors='replace')}")
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
        except (OSError, smtplib.SMTPException) as exc:
            for rcpt in pending:
                if rcpt not in delivered:
                    refused.setdefault(rcpt, f"release failed: {exc}")
        from aupmilter import metrics

        metrics.RELEASES.labels(outcome="ok" if delivered and not refused else "failed").inc()
        released_to = tuple(dict.fromkeys([*item.released_to, *delivered]))
        status = "released" if set(original) <= set(released_to) else "held"
        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE items SET released_to = ?, status = ? WHERE id = ?",
                (json.dumps(list(released_to)), status, item_id),
            )
            outcome = "ok" if not refused else "failed: " + "; ".join(f"{r}: {e}" for r, e in refused.items())
            self._audit(tx, actor, role.value, "release", item_id, f"to {', '.join(pending)}: {outcome}")
        return ReleaseResult(tuple(delivered), refused)

    def delete(self, item_id: str, actor: str, role: Role, reason: str = "") -> None:
        require(role, "delete")
        item = self.get(item_id)
        self._delete(item, actor, role.value, "delete", reason)

    def _delete(self, item: Item, actor: str, role: str, action: str, reason: str) -> None:
        with self.db.transaction() as tx:
            row = tx.execute("SELECT blob_ref FROM items WHERE id = ?", (item.id,)).fetchone()
            tx.execute("UPDATE items SET status = 'deleted', blob_ref = '' WHERE id = ?", (item.id,))
            tx.execute("DELETE FROM blobs WHERE id = ?", (item.id,))
            self._audit(tx, actor, role, action, item.id, reason)
        if row and row[0]:
            self._remove_file(row[0])

    def purge(self, retention_days: dict[str, int], default_days: int, actor: str, now: dt.datetime) -> int:
        """Delete items older than their category's retention (the longest that applies)."""
        count = 0
        for item in self.list(status=None, limit=1_000_000):
            if item.status == "deleted":
                continue
            days = retention_for(item.record.categories, retention_days, default_days)
            if item.record.received_at < now - dt.timedelta(days=days):
                self._delete(item, actor, "system", "purge", f"retention {days} days")
                count += 1
        return count

    # --- events (for reports) -----------------------------------------------------------

    def record_event(
        self,
        at: dt.datetime,
        direction: str,
        action: str,
        school: str,
        categories: Iterable[str],
        rules: Iterable[str],
    ) -> None:
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO events (at, direction, action, school, categories, rules) VALUES (?,?,?,?,?,?)",
                (
                    at.astimezone(dt.UTC).isoformat(),
                    direction,
                    action,
                    school,
                    ",".join(dict.fromkeys(categories)),
                    ",".join(dict.fromkeys(rules)),
                ),
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
            tx.execute("LOCK TABLE audit IN EXCLUSIVE MODE")  # one chain across gateways
        last = tx.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        at = dt.datetime.now(dt.UTC).isoformat()
        digest = _audit_hash(prev, at, actor, role, action, item_id, reason)
        tx.execute(
            "INSERT INTO audit (seq, at, actor, role, action, item_id, reason, prev_hash, hash)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            (seq, at, actor, role, action, item_id, reason, prev, digest),
        )

    def audit_log(self, role: Role, item_id: str | None = None) -> builtins.list[AuditRecord]:
        require(role, "audit")
        sql = "SELECT seq, at, actor, role, action, item_id, reason, prev_hash, hash FROM audit"
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

    def verify_audit(self) -> tuple[bool, str]:
        """Recompute the chain; (ok, message naming the first broken record)."""
        with self.db.transaction() as tx:
            rows = tx.execute(
                "SELECT seq, at, actor, role, action, item_id, reason, prev_hash, hash FROM audit ORDER BY seq"
            ).fetchall()
        prev = GENESIS
        for i, row in enumerate(rows):
            rec = AuditRecord(*row)
            if rec.seq != i + 1:
                return False, f"record {i + 1} is missing (found {rec.seq})"
            if rec.prev_hash != prev:
                return False, f"record {rec.seq} does not follow record {rec.seq - 1}"
            if _audit_hash(prev, rec.at, rec.actor, rec.role, rec.action, rec.item_id, rec.reason) != rec.hash:
                return False, f"record {rec.seq} was altered"
            prev = rec.hash
        return True, f"{len(rows)} audit records verified"

    def close(self) -> None:
        self.db.close()


# --- local accounts for the review UI (stored beside the items, so gateways share them) -----


@dataclass(frozen=True)
class User:
    username: str
    role: Role


class Accounts:
    """Local review-UI accounts with argon2 password hashes."""

    def __init__(self, store: QuarantineStore) -> None:
        from argon2 import PasswordHasher

        self.store = store
        self.hasher = PasswordHasher()
        # A fixed hash to verify against for unknown users: equal work, no username oracle.
        self._dummy = self.hasher.hash("not-a-real-password")

    def add(self, username: str, password: str, role: Role) -> None:
        if not re.fullmatch(r"[A-Za-z0-9._@-]{2,64}", username):
            raise StoreError("usernames are 2-64 letters, digits or . _ @ -")
        if len(password) < 12:
            raise StoreError("passwords must be at least 12 characters")
        digest = self.hasher.hash(password)
        now = dt.datetime.now(dt.UTC).isoformat()
        with self.store.db.transaction() as tx:
            tx.execute("DELETE FROM users WHERE username = ?", (username,))
            tx.execute(
                "INSERT INTO users (username, password_hash, role, created_at) VALUES (?,?,?,?)",
                (username, digest, role.value, now),
            )
            self.store._audit(tx, "cli", "system", "user-set", None, f"{username} as {role.value}")

    def verify(self, username: str, password: str) -> User | None:
        from argon2.exceptions import VerificationError

        with self.store.db.transaction() as tx:
            row = tx.execute("SELECT password_hash, role FROM users WHERE username = ?", (username,)).fetchone()
        digest = row[0] if row else self._dummy
        try:
            self.hasher.verify(digest, password)
        except VerificationError:
            return None
        return User(username, Role(row[1])) if row else None

    def get(self, username: str) -> User | None:
        with self.store.db.transaction() as tx:
            row = tx.execute("SELECT role FROM users WHERE username = ?", (username,)).fetchone()
        return User(username, Role(row[0])) if row else None

    def list(self) -> list[User]:
        with self.store.db.transaction() as tx:
            rows = tx.execute("SELECT username, role FROM users ORDER BY username").fetchall()
        return [User(r[0], Role(r[1])) for r in rows]
