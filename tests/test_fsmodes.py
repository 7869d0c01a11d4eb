"""Store folders and files get their modes explicitly, whatever the process umask (issue 17).

The milter used to run with umask 0117 for its whole life: the quarantine's year/month folders
were created without their search bit and every later quarantine failed with 451.  These tests
set hostile umasks in a child process (the umask is process-wide) and look at the modes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from aupmilter.fsmodes import create_file, make_dirs

STORE_IN_CHILD = """
import datetime as dt, os, sys
from aupmilter.config import QuarantineSettings
from aupmilter.model import Finding
from aupmilter.quarantine import QuarantineRecord, open_store
os.umask(int(sys.argv[2], 8))
store = open_store(QuarantineSettings(path=sys.argv[1]))
when = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
rec = QuarantineRecord(sender="x@outside.test", recipients=("t@oakfield.example",), direction="inbound",
    schools=("oakfield.example",), action="quarantine", reason="r", sealed=False, subject="s", queue_id="Q",
    findings=(Finding("attachment.executable.pe", "attachment.executable", 1.0, "e", "attachment"),),
    received_at=when)
print(store.put(b"From: x@outside.test\\r\\n\\r\\nbody\\r\\n", rec))
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", ["0117", "0027", "0022", "0077"])
def test_store_folders_and_files_have_their_modes_under_any_umask(tmp_path: Path, umask: str) -> None:
    root = tmp_path / "var" / "quarantine"
    out = subprocess.run(
        [sys.executable, "-c", STORE_IN_CHILD, str(root), umask], capture_output=True, text=True, check=True
    )
    item = out.stdout.strip()
    assert mode(root.parent) == 0o750 and mode(root) == 0o750  # created by the store
    assert mode(root / "2026") == 0o750 and mode(root / "2026" / "12") == 0o750
    assert mode(root / "2026" / "12" / f"{item}.eml") == 0o640
    assert mode(root / "2026" / "12" / f"{item}.json") == 0o640
    assert mode(root / "quarantine.db") == 0o640
    # A second message in the same month still lands (the folder kept its search bit).
    subprocess.run([sys.executable, "-c", STORE_IN_CHILD, str(root), umask], check=True, capture_output=True)
    assert len(list((root / "2026" / "12").glob("*.eml"))) == 2


def test_existing_folders_are_not_repaired(tmp_path: Path) -> None:
    """What the admin made stays as they made it: the store only sets modes on what it creates."""
    root = tmp_path / "q"
    root.mkdir()
    root.chmod(0o700)
    created = make_dirs(root / "2026" / "12")
    assert created == [root / "2026", root / "2026" / "12"]
    assert mode(root) == 0o700


def test_create_file_never_wider_than_asked(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        assert create_file(tmp_path / "secret", b"k", 0o600)
        assert not create_file(tmp_path / "secret", b"other", 0o600, exist_ok=True)
    finally:
        os.umask(old)
    assert mode(tmp_path / "secret") == 0o600 and (tmp_path / "secret").read_bytes() == b"k"
    with pytest.raises(FileExistsError):
        create_file(tmp_path / "secret", b"x")


def test_daemon_never_sets_the_umask() -> None:
    """The process umask is the admin's (systemd UMask=, a shell's): no daemon code changes it."""
    src = Path(__file__).resolve().parents[1] / "src" / "aupmilter"
    offenders = [p.name for p in src.rglob("*.py") if "os.umask(" in p.read_text()]
    assert offenders == []
