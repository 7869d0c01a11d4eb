"""Issue 17: ``[logging] target`` — a box without systemd still gets the daemon's log lines.

The milter is started for real (its own unix socket, no Postfix needed for this) with each
target; the file target is read back, and the syslog target is received on a datagram socket
bound where the config says syslog lives, so the facility (mail, like Postfix) is checked too."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from aupmilter.config import shipped_default_config
from aupmilter.errors import ConfigError
from tests.harness.gateway import free_port, wait_for

MAIL_INFO = 2 * 8 + 6  # syslog PRI: facility mail (2), severity info (6)


SITE = """
[organisation]
name = "Test Trust"

[milter]
workers = 0

[[schools]]
domain = "oakfield.example"
name = "Oakfield Primary School"
"""


def start(tmp: Path, logging_toml: str) -> subprocess.Popen[bytes]:
    config = tmp / "site.toml"
    config.write_text(
        SITE + f'\n[quarantine]\npath = "{tmp}/q"\n[metrics]\nlisten = "127.0.0.1:{free_port()}"\n' + logging_toml
    )
    sock = tmp / "m.sock"
    return subprocess.Popen(
        [sys.executable, "-m", "aupmilter.cli", "run", "--config", str(config), "--socket", f"unix:{sock}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp,
    )


def stop(proc: subprocess.Popen[bytes]) -> bytes:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    return err


def test_file_target(tmp_path: Path) -> None:
    log = tmp_path / "log" / "aupmilter.log"
    old = os.umask(0o022)
    try:
        proc = start(tmp_path, f'[logging]\ntarget = "file"\nfile = "{log}"\n')
    finally:
        os.umask(old)
    try:
        wait_for(lambda: log.exists() and b"listening on" in log.read_bytes(), 60, "the start-up line in the file")
    finally:
        err = stop(proc)
    assert stat.S_IMODE(log.stat().st_mode) == 0o640
    assert b"listening on" not in err  # it went to the file, not stderr
    assert b"signal 15: stopping" in log.read_bytes()


def test_syslog_target_uses_the_mail_facility(tmp_path: Path) -> None:
    short = Path(tempfile.mkdtemp(prefix="auplog-", dir="/tmp"))  # unix socket paths are short
    try:
        receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        receiver.bind(str(short / "log"))
        receiver.settimeout(60)
        proc = start(tmp_path, f'[logging]\ntarget = "syslog"\nsyslog_socket = "{short / "log"}"\n')
        try:
            lines: list[bytes] = []
            while not any(b"listening on" in x for x in lines):
                lines.append(receiver.recv(65536))
        finally:
            stop(proc)
            receiver.close()
        line = next(x for x in lines if b"listening on" in x)
        assert line.startswith(f"<{MAIL_INFO}>aupmilter[".encode())
    finally:
        for p in short.iterdir():
            p.unlink()
        short.rmdir()


def test_bad_logging_settings_are_config_errors() -> None:
    import tomllib

    from aupmilter.config import parse_config

    base = tomllib.loads(shipped_default_config().read_text())
    for table, key in (
        ({"target": "journal"}, "target"),
        ({"target": "file"}, "file"),
        ({"facility": "kern"}, "facility"),
    ):
        with pytest.raises(ConfigError, match=f"logging.{key}"):
            parse_config({**base, "logging": table}, "t.toml")
