"""One SQL dialect for two databases: SQLite (embedded default) and PostgreSQL (shared by
several gateways).  Statements are written once with ``?`` placeholders and portable types;
this module translates placeholders and the few type names that differ, and runs migrations.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
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
)


class Cursor(Protocol):
    def fetchall(self) -> list[Any]: ...
    def fetchone(self) -> Any: ...


class Database(Protocol):
    dialect: str

    def transaction(self) -> Any: ...
    def close(self) -> None: ...


class Tx:
    """A transaction: ``execute`` with ``?`` placeholders, whatever the backend."""

    def __init__(self, conn: Any, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect

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
            try:
                yield Tx(self._conn, self.dialect)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

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
            with conn.transaction():
                yield Tx(conn, self.dialect)

    def close(self) -> None:
        self._conn.close()


def migrate(db: SqliteDatabase | PostgresDatabase) -> None:
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
