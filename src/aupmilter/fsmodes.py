"""Folders and files with the modes we mean, whatever the process umask.

The daemons never change the umask (an admin's ``UMask=0027``, or a shell's 0022, is theirs to
set); modes are given explicitly instead.  ``mkdir(mode=...)`` and ``open(..., mode)`` are masked
by the umask, so every folder or file we create is ``chmod``-ed right after creation: a folder
created without its search bit (umask 0117 did that once) makes everything below it unreachable,
even to its owner.  Only what we create is chmod-ed: a folder that already exists is left as it
is (repairing an admin's choices behind their back hides the mistake), and a path we cannot
reach is reported with its name, owner and mode so the log says what to fix.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DIR_MODE = 0o750
FILE_MODE = 0o640


def make_dirs(path: Path, mode: int = DIR_MODE) -> list[Path]:
    """Create ``path`` and any missing parents, each with ``mode``; returns those created."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    created: list[Path] = []
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=mode)
        except FileExistsError:
            continue  # created meanwhile by another process: theirs, not ours to chmod
        os.chmod(folder, mode)
        created.append(folder)
    return created


def create_file(path: Path, data: bytes, mode: int = FILE_MODE, *, exist_ok: bool = False) -> bool:
    """Write a new file that never exists with a wider mode than ``mode``, even briefly.

    With ``exist_ok``, a file someone else created meanwhile is left alone (returns False)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        if exist_ok:
            return False
        raise
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
    finally:
        os.close(fd)
    return True


def describe(path: Path) -> str:
    """``/x/y (owner uid 0, mode 0640; this process runs as uid 999)``: what an admin needs to fix it."""
    try:
        st = path.stat()
        facts = f"owner uid {st.st_uid}, mode {stat.S_IMODE(st.st_mode):04o}"
    except OSError as exc:
        facts = exc.strerror or "cannot stat"
    return f"{path} ({facts}; this process runs as uid {os.geteuid()})"


def unusable_folder(path: Path) -> Path | None:
    """The first folder on the way to (and including) ``path`` this process cannot use, if any.

    Ancestors need the search bit; ``path`` itself needs write and search."""
    for ancestor in reversed(path.parents):
        if ancestor.exists() and not os.access(ancestor, os.X_OK):
            return ancestor
    if path.exists() and not os.access(path, os.W_OK | os.X_OK):
        return path
    return None
