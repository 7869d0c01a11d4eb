"""Review-UI accounts and their sessions, stored beside the items so gateways share them.

Sessions are server-side: the browser holds a random token, the database holds only its
SHA-256 (a database reader cannot replay a session), the user name, the CSRF token and two
times.  Every request looks the session up, so a session ends for real when

* the user logs out (the row is deleted, a copied cookie is worthless),
* the password is changed or the account disabled or deleted (all the user's rows go),
* it has not been used for ``idle`` seconds, or was created more than ``absolute`` seconds ago.

A signed stateless cookie (the previous design) could do none of this: a copy stayed valid for
eight hours whatever happened to the account.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aupmilter.quarantine.access import Role
from aupmilter.quarantine.db import Tx
from aupmilter.quarantine.store import StoreError

if TYPE_CHECKING:
    from aupmilter.quarantine.store import QuarantineStore

USERNAME = re.compile(r"[A-Za-z0-9._@-]{2,64}")
#: last_seen is written at most this often per session (a write on every page view is waste).
TOUCH_SECONDS = 30


class AccountError(StoreError):
    """An account operation that cannot be done (bad name, short password, no such user)."""


@dataclass(frozen=True)
class User:
    username: str
    role: Role


@dataclass(frozen=True)
class Account:
    username: str
    role: Role
    disabled: bool
    sessions: int
    created_at: str


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """Local review-UI accounts with argon2 password hashes, and their sessions."""

    def __init__(self, store: QuarantineStore) -> None:
        from argon2 import PasswordHasher

        self.store = store
        self.hasher = PasswordHasher()
        # A fixed hash to verify against for unknown users: equal work, no username oracle.
        self._dummy = self.hasher.hash("not-a-real-password")

    # --- account management (CLI) ---------------------------------------------------------

    def add(self, username: str, password: str, role: Role, actor: str = "cli") -> None:
        """Create an account, or reset an existing one's password and role (its sessions end)."""
        if not USERNAME.fullmatch(username):
            raise AccountError("usernames are 2-64 letters, digits or . _ @ -")
        digest = self._hash(password)
        now = dt.datetime.now(dt.UTC).isoformat()
        with self.store.db.transaction() as tx:
            tx.execute("DELETE FROM sessions WHERE username = ?", (username,))
            tx.execute("DELETE FROM users WHERE username = ?", (username,))
            tx.execute(
                "INSERT INTO users (username, password_hash, role, created_at, disabled) VALUES (?,?,?,?,0)",
                (username, digest, role.value, now),
            )
            self.store._audit(tx, actor, "system", "user-set", None, f"{username} as {role.value}")

    def set_password(self, username: str, password: str, actor: str = "cli") -> None:
        """Change a password; every session of the account ends."""
        digest = self._hash(password)
        with self.store.db.transaction() as tx:
            self._require(tx, username)
            tx.execute("UPDATE users SET password_hash = ? WHERE username = ?", (digest, username))
            tx.execute("DELETE FROM sessions WHERE username = ?", (username,))
            self.store._audit(tx, actor, "system", "user-password", None, username)

    def set_disabled(self, username: str, disabled: bool, actor: str = "cli") -> None:
        with self.store.db.transaction() as tx:
            self._require(tx, username)
            tx.execute("UPDATE users SET disabled = ? WHERE username = ?", (1 if disabled else 0, username))
            if disabled:
                tx.execute("DELETE FROM sessions WHERE username = ?", (username,))
            self.store._audit(tx, actor, "system", "user-disable" if disabled else "user-enable", None, username)

    def delete(self, username: str, actor: str = "cli") -> None:
        with self.store.db.transaction() as tx:
            self._require(tx, username)
            tx.execute("DELETE FROM sessions WHERE username = ?", (username,))
            tx.execute("DELETE FROM users WHERE username = ?", (username,))
            self.store._audit(tx, actor, "system", "user-delete", None, username)

    def list(self) -> list[Account]:
        with self.store.db.transaction() as tx:
            rows = tx.execute(
                "SELECT u.username, u.role, u.disabled, u.created_at,"
                " (SELECT COUNT(*) FROM sessions s WHERE s.username = u.username)"
                " FROM users u ORDER BY u.username"
            ).fetchall()
        return [Account(r[0], Role(r[1]), bool(r[2]), int(r[4]), r[3]) for r in rows]

    def _hash(self, password: str) -> str:
        if len(password) < 12:
            raise AccountError("passwords must be at least 12 characters")
        return self.hasher.hash(password)

    @staticmethod
    def _require(tx: Tx, username: str) -> None:
        row = tx.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone()
        if row is None:
            raise AccountError(f"no such account: {username}")

    # --- authentication -------------------------------------------------------------------

    def verify(self, username: str, password: str) -> User | None:
        """The user if the password is right and the account enabled (same work either way)."""
        from argon2.exceptions import VerificationError

        with self.store.db.transaction() as tx:
            row = tx.execute(
                "SELECT password_hash, role, disabled FROM users WHERE username = ?", (username,)
            ).fetchone()
        digest = row[0] if row else self._dummy
        try:
            self.hasher.verify(digest, password)
        except VerificationError:
            return None
        if row is None or row[2]:
            return None
        return User(username, Role(row[1]))

    def get(self, username: str) -> User | None:
        """An enabled account by name (trusted-header sign-in)."""
        with self.store.db.transaction() as tx:
            row = tx.execute("SELECT role, disabled FROM users WHERE username = ?", (username,)).fetchone()
        return User(username, Role(row[0])) if row and not row[1] else None

    # --- sessions ---------------------------------------------------------------------------

    def start_session(self, user: User) -> tuple[str, str]:
        """A new session: (token for the cookie, CSRF token)."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = int(time.time())
        with self.store.db.transaction() as tx:
            tx.execute(
                "INSERT INTO sessions (token_hash, username, csrf, created_at, last_seen) VALUES (?,?,?,?,?)",
                (_token_hash(token), user.username, csrf, now, now),
            )
        return token, csrf

    def session(self, token: str, idle: int, absolute: int) -> Session | None:
        """The live session behind a cookie token, or None (expired ones are removed)."""
        if not token or len(token) > 128:
            return None
        key = _token_hash(token)
        now = int(time.time())
        with self.store.db.transaction() as tx:
            row = tx.execute(
                "SELECT s.username, s.csrf, s.created_at, s.last_seen, u.role, u.disabled"
                " FROM sessions s JOIN users u ON u.username = s.username WHERE s.token_hash = ?",
                (key,),
            ).fetchone()
            if row is None:
                return None
            username, csrf, created, last_seen, role, disabled = row
            if disabled or now - int(last_seen) > idle or now - int(created) > absolute:
                tx.execute("DELETE FROM sessions WHERE token_hash = ?", (key,))
                return None
            if now - int(last_seen) >= TOUCH_SECONDS:
                tx.execute("UPDATE sessions SET last_seen = ? WHERE token_hash = ?", (now, key))
        return Session(User(username, Role(role)), csrf)

    def end_session(self, token: str) -> None:
        with self.store.db.transaction() as tx:
            tx.execute("DELETE FROM sessions WHERE token_hash = ?", (_token_hash(token),))

    def purge_sessions(self, absolute: int) -> None:
        """Drop sessions past the absolute limit (called now and then by the UI)."""
        with self.store.db.transaction() as tx:
            tx.execute("DELETE FROM sessions WHERE created_at < ?", (int(time.time()) - absolute,))
