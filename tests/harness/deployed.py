"""aupmilter installed and run the way docs/install.md deploys it, for end-to-end tests.

The rest of the suite runs the daemons as root from the checkout's venv, and root never meets a
missing search bit: a milter that set umask 0117 quarantined happily in every test and tempfailed
every quarantine on a real gateway (issue 17).  Here:

* the package is installed (not editable) into a venv made with Debian's ``/usr/bin/python3``
  under a world-traversable folder, as an admin installs it (the checkout's ``.venv`` points into
  ``/root``, mode 0700, which no other user can execute; see shared/notes/running-unprivileged.md);
* a system user is created like ``deploy/systemd/aupmilter.sysusers`` does (member of ``postfix``);
* every daemon and command runs as that user through ``runuser``, with ``umask 0027`` set inside
  the child, as the systemd units' ``UMask=0027`` would.

The venv is keyed by a hash of the sources, so it is built once per change of the code and reused
by every test (and every run) after that; older copies are removed.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVICE_USER = "aupmilter-e2e"
UMASK = "0027"
VENV_PARENT = Path("/var/tmp/aupmilter-e2e-venv")
DEBIAN_PYTHON = "/usr/bin/python3"


def ensure_service_user() -> pwd.struct_passwd:
    """A locked system user with no home and no shell, in group postfix (as the sysusers file)."""
    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                SERVICE_USER,
            ],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(SERVICE_USER)
    if SERVICE_USER not in grp.getgrnam("postfix").gr_mem:
        subprocess.run(["usermod", "-a", "-G", "postfix", SERVICE_USER], check=True, capture_output=True)
    return entry


def _source_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted([REPO / "pyproject.toml", *(p for p in (REPO / "src").rglob("*") if p.is_file())]):
        if "__pycache__" in path.parts or path.suffix == ".pyc" or ".egg-info" in str(path):
            continue
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def deployed_venv() -> Path:
    """The venv's folder, with the current sources installed; built when they changed.

    One folder per checkout (worktrees test in parallel on one box), holding one venv per
    source hash; only this checkout's older venvs are removed."""
    key = _source_hash()
    parent = VENV_PARENT / hashlib.sha256(str(REPO).encode()).hexdigest()[:12]
    venv = parent / key
    stamp = venv / ".installed"
    if stamp.exists():
        return venv
    parent.mkdir(parents=True, exist_ok=True)
    for folder in (VENV_PARENT, parent):
        folder.chmod(0o755)
    for old in parent.iterdir():
        if old.name != key:
            shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([DEBIAN_PYTHON, "-m", "venv", str(venv)], check=True, capture_output=True)
    build = Path(subprocess.run(["mktemp", "-d"], check=True, capture_output=True, text=True).stdout.strip())
    try:
        # Install from a copy of the sources: building in the checkout would leave build/ and
        # *.egg-info behind, and would race a second test run in another worktree.
        for name in ("pyproject.toml", "README.md", "src"):
            src = REPO / name
            if src.is_dir():
                shutil.copytree(src, build / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
            else:
                shutil.copy2(src, build / name)
        result = subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(build)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"installing aupmilter into {venv} failed:\n{result.stdout}\n{result.stderr}")
    finally:
        shutil.rmtree(build, ignore_errors=True)
    for path in (venv, *venv.rglob("*")):  # world-traversable, like /opt/aupmilter/venv
        if path.is_dir() and not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o755)
    stamp.touch()
    return venv


def as_service_user(argv: list[str]) -> list[str]:
    """``argv`` run as the service user with umask 0027 set in the child (systemd ``UMask=``).

    ``setpriv`` and ``sh -c 'exec'`` replace themselves, so the process started *is* the daemon:
    signals (SIGTERM, SIGHUP, SIGKILL) reach it as they would from systemd."""
    return [
        "setpriv",
        f"--reuid={SERVICE_USER}",
        f"--regid={SERVICE_USER}",
        "--init-groups",
        "/bin/sh",
        "-c",
        f'umask {UMASK}; exec "$@"',
        "aupmilter",
        *argv,
    ]


def service_env() -> dict[str, str]:
    """The environment a unit gives the service: no root HOME, no test PYTHONPATH."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")}
    return {**keep, "HOME": "/nonexistent", "PYTHONUNBUFFERED": "1"}


def owned_folder(path: Path, mode: int = 0o750, group: str | None = None) -> Path:
    """A folder belonging to the service user (what aupmilter.tmpfiles creates)."""
    entry = ensure_service_user()
    path.mkdir(parents=True, exist_ok=True)
    gid = grp.getgrnam(group).gr_gid if group else entry.pw_gid
    os.chown(path, entry.pw_uid, gid)
    path.chmod(mode)
    return path
