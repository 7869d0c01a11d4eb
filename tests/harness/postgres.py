"""A private PostgreSQL server for tests: initdb in a temp dir, loopback port, as ``postgres``.

Started once per test session by the ``postgres_url`` fixture; nothing system-wide changes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.harness.gateway import free_port, wait_for

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def available() -> bool:
    return (PG_BIN / "initdb").exists()


class PrivatePostgres:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="aup-pg-", dir="/tmp"))
        self.root.chmod(0o755)
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql://aup@127.0.0.1:{self.port}/aup"

    def _as_postgres(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._as_postgres(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        )
        self._pg_ctl_start()
        self.sql("CREATE ROLE aup LOGIN")
        self.sql("CREATE DATABASE aup OWNER aup")

    def sql(self, statement: str) -> None:
        """Run one statement as the postgres superuser over loopback."""
        self._as_postgres(
            "/usr/bin/psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-c",
            statement,
        )

    def _pg_ctl_start(self) -> None:
        """Start the server on loopback only (and its own socket directory), wait until ready."""
        self._as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "pg.log"),
            "-w",
            "-o",
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off",
            "start",
        )
        wait_for(self._ready, 60, "postgres")

    def _ready(self) -> bool:
        result = subprocess.run(
            [str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
            capture_output=True,
        )
        return result.returncode == 0

    def new_database(self, name: str) -> str:
        self.sql(f"CREATE DATABASE {name} OWNER aup")
        return f"postgresql://aup@127.0.0.1:{self.port}/{name}"

    def create_role(self, name: str) -> str:
        """A login role with no privileges of its own (e.g. the insert-only audit writer)."""
        self.sql(f"CREATE ROLE {name} LOGIN")
        return name

    def url_as(self, url: str, role: str) -> str:
        """The same database URL, connecting as another role."""
        return url.replace("postgresql://aup@", f"postgresql://{role}@", 1)

    def pause(self) -> None:
        """Stop the server, keeping its data (a database outage)."""
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        self._pg_ctl_start()

    def stop(self) -> None:
        try:
            self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
