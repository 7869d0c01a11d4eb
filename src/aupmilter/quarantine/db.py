"""One SQL dialect for two databases: SQLite (embedded default) and PostgreSQL (shared by
several gateways).  Statements are written once with ``?`` placeholders and portable types;
this module translates placeholders and the few type names that differ, and runs migrations.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from aupmilter.fsmodes import FILE_MODE, create_file, make_dirs

#: Ordered migrations.  ``{BLOB}`` becomes BLOB (SQLite) or BYTEA (PostgreSQL).
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE IF NOT EXISTS items (
                id TEXT PRIMARY KEY,
                received_at TEXT NOT NULL,
                sender TEXT NOT NULL,
                recipients TEXT NOT NULL,
                direction TEXT NOT NULL,
                schools TEXT NOT NULL,
                action TEXT NOT NULL,
                reason TEXT NOT NULL,
                categories TEXT NOT NULL,
                findings TEXT NOT NULL,
                sealed INTEGER NOT NULL,
                subject TEXT,
                queue_id TEXT,
                size INTEGER NOT NULL,
                status TEXT NOT NULL,
                released_to TEXT NOT NULL,
                blob_ref TEXT NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS items_received ON items (received_at)",
            "CREATE INDEX IF NOT EXISTS items_status ON items (status)",
            """CREATE TABLE IF NOT EXISTS blobs (
                id TEXT PRIMARY KEY,
                data {BLOB} NOT NULL
            )""",
            """CREATE TABLE IF NOT EXISTS audit (
                seq INTEGER PRIMARY KEY,
                at TEXT NOT NULL,
                actor TEXT NOT NULL,
                role TEXT NOT NULL,
                action TEXT NOT NULL,
                item_id TEXT,
                reason TEXT NOT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL
            )""",
        ),
    ),
    (
        2,
        (
            """CREATE TABLE IF NOT EXISTS users (
                username TEXT PRIMARY KEY,
                password_hash TEXT NOT NULL,
                role TEXT NOT NULL,
                created_at TEXT NOT NULL
            )""",
        ),
    ),
    (
        3,
        (
            # One row per message that raised findings: counts for reports, no addresses or text.
            """CREATE TABLE IF NOT EXISTS events (
                at TEXT NOT NULL,
                direction TEXT NOT NULL,
                action TEXT NOT NULL,
                school TEXT NOT NULL,
                categories TEXT NOT NULL,
                rules TEXT NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS events_at ON events (at)",
        ),
    ),
    (
        4,
        (
            # Issue 23: keyed audit records, revocable server-side sessions, disabled accounts,
            # and per-recipient release claims (exactly-once release).
            "ALTER TABLE audit ADD COLUMN key_id TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE items ADD COLUMN claims TEXT NOT NULL DEFAULT '{}'",
            """CREATE TABLE IF NOT EXISTS sessions (
                token_hash TEXT PRIMARY KEY,
                username TEXT NOT NULL,
                csrf TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                last_seen BIGINT NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS sessions_user ON sessions (username)",
        ),
    ),
)

LATEST = MIGRATIONS[-1][0]

#: What the runtime (milter, UI, CLI) may do in a PostgreSQL quarantine whose tables belong to
#: another (owner) role: the audit table is insert-only, so the writer can neither rewrite nor
#: truncate the trail, and no table can be altered or dropped.
WRITER_GRANTS: tuple[tuple[str, str], ...] = (
    ("schema_version", "SELECT"),
    ("items", "SELECT, INSERT, UPDATE"),
    ("blobs", "SELECT, INSERT, DELETE"),
    ("audit", "SELECT, INSERT"),
    ("users", "SELECT, INSERT, UPDATE, DELETE"),
    ("sessions", "SELECT, INSERT, UPDATE, DELETE"),
    ("events", "SELECT, INSERT"),
)

#: Serialises audit appends across gateways without a table lock (LOCK TABLE needs UPDATE,
#: which the insert-only writer role does not have).
AUDIT_LOCK_KEY = 0x41555044  # "AUPD"


class Cursor(Protocol):
    def fetchall(self) -> list[Any]: ...
    def fetchone(self) -> Any: ...


class Database(Protocol):
    dialect: str

    def transaction(self) -> Any: ...
    def close(self) -> None: ...


class Tx:
    """A transaction: ``execute`` with ``?`` placeholders, whatever the backend.

    ``after_commit`` callbacks run once the transaction has committed (the audit anchor is
    written only for records that really exist)."""

    def __init__(self, conn: Any, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.after_commit: list[Callable[[], None]] = []

    def lock_row_sql(self) -> str:
        """Suffix of a SELECT that locks the rows it reads until the transaction ends
        (SQLite's ``BEGIN IMMEDIATE`` already serialises every writer)."""
        return " FOR UPDATE" if self.dialect == "postgresql" else ""

    def run_after_commit(self) -> None:
        for callback in self.after_commit:
            callback()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        if self.dialect == "postgresql":
            sql = sql.replace("%", "%%").replace("?", "%s")
        cursor: Cursor = self.conn.execute(sql, tuple(params))
        return cursor


class SqliteDatabase:
    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        make_dirs(path.parent)
        if not path.exists():
            # Created 0640 before SQLite opens it (its -wal/-shm files copy this mode); an
            # existing database keeps the mode its owner gave it.
            create_file(path, b"", FILE_MODE, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")  # durable before we answer Postfix
        self._lock = threading.Lock()
        migrate(self)

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            tx = Tx(self._conn, self.dialect)
            try:
                yield tx
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        tx.run_after_commit()

    def close(self) -> None:
        self._conn.close()


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        import psycopg

        self._psycopg = psycopg
        self._url = url
        self._lock = threading.Lock()
        self._conn = psycopg.connect(url, connect_timeout=5)
        migrate(self)

    def _connection(self) -> Any:
        if self._conn.closed or self._conn.broken:
            self._conn = self._psycopg.connect(self._url, connect_timeout=5)
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._lock:
            conn = self._connection()
            tx = Tx(conn, self.dialect)
            with conn.transaction():
                yield tx
        tx.run_after_commit()

    def close(self) -> None:
        self._conn.close()


class SchemaError(Exception):
    """The database schema is older than this program and this role may not migrate it."""


def schema_version(db: SqliteDatabase | PostgresDatabase) -> int:
    """The schema version, read without DDL (an insert-only writer role may call it)."""
    with db.transaction() as tx:
        if db.dialect == "postgresql":
            exists = tx.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()[0]
        else:
            exists = tx.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_version'").fetchone()
        if not exists:
            return 0
        row = tx.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate(db: SqliteDatabase | PostgresDatabase) -> None:
    if schema_version(db) >= LATEST:
        return  # nothing to do: no DDL, so a role without CREATE rights can open the store
    blob = "BYTEA" if db.dialect == "postgresql" else "BLOB"
    with db.transaction() as tx:
        tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        if db.dialect == "postgresql":
            # Several gateways may start at once: one migrates, the others wait.
            tx.execute("LOCK TABLE schema_version IN EXCLUSIVE MODE")
        row = tx.execute("SELECT MAX(version) FROM schema_version").fetchone()
        current = row[0] if row and row[0] is not None else 0
        for version, statements in MIGRATIONS:
            if version <= current:
                continue
            for statement in statements:
                tx.execute(statement.replace("{BLOB}", blob))
            tx.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))


def grant_writer(db: PostgresDatabase, writer: str) -> None:
    """Give ``writer`` exactly :data:`WRITER_GRANTS` (run as the tables' owner, after migrating)."""
    import re

    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", writer):
        raise SchemaError(f"not a plain PostgreSQL role name: {writer!r}")
    with db.transaction() as tx:
        for table, privileges in WRITER_GRANTS:
            tx.execute(f"REVOKE ALL ON {table} FROM {writer}")
            tx.execute(f"GRANT {privileges} ON {table} TO {writer}")
