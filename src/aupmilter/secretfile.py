"""Secret files (the web signing key, the audit HMAC keys, a proxy's shared secret).

Why a module of its own: writing a secret and then ``chmod``-ing it leaves a window in which
the file exists with the umask's mode (0644 under the usual 022), and an attack review read 15
of 5,992 freshly written secrets that way.  Here a secret is written into a temporary file
created by ``os.open(O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)`` in the target directory, fsynced,
and then *linked* to its final name (``os.link`` fails if the name exists), so the final name
never shows a partial secret nor a wider mode, and two processes creating it at once agree on
one secret.  Reading refuses a secret that group or others can read, or that is a symlink: a
key someone else could have planted or read is not a key.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path


class SecretFileError(Exception):
    """A secret file that is unsafe (mode, owner, symlink) or cannot be created or read."""


def _write_new(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(tmp, path)  # FileExistsError if another process won the race
    finally:
        tmp.unlink(missing_ok=True)


def check_private(path: Path) -> None:
    """Raise unless ``path`` is a regular file (not a symlink) that only its owner can read."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise SecretFileError(f"{path}: missing") from None
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
        raise SecretFileError(f"{path}: not a regular file")
    if st.st_mode & 0o077:
        raise SecretFileError(f"{path}: mode {st.st_mode & 0o777:04o}; a secret must be 0600 (chmod 600 it)")
    if os.geteuid() != 0 and st.st_uid != os.geteuid():
        raise SecretFileError(f"{path}: owned by uid {st.st_uid}, not by this service's uid {os.geteuid()}")


def read_secret(path: Path) -> str:
    """The secret's text, after :func:`check_private`."""
    check_private(path)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "r") as fh:
        return fh.read()


def create_secret(path: Path, text: str) -> bool:
    """Create ``path`` holding ``text`` with mode 0600 from its first instant.

    Returns False (and leaves the existing file alone) when the file already exists.
    """
    try:
        _write_new(path, text.encode())
    except FileExistsError:
        return False
    return True


def ensure_secret(path: Path, nbytes: int = 48) -> str:
    """Read the secret at ``path``, creating a random one first if it does not exist."""
    if not os.path.lexists(path):
        create_secret(path, secrets.token_urlsafe(nbytes) + "\n")
    return read_secret(path).strip()


def append_private(path: Path, line: str) -> None:
    """Append a line to a private file (created 0600 with O_EXCL semantics if missing)."""
    if not os.path.lexists(path):
        create_secret(path, "")
    check_private(path)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
