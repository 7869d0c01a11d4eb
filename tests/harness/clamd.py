"""A private, real ClamAV daemon for tests: Debian's ``clamd`` with a signature database the
tests write themselves (there is no internet here, so no freshclam; see
../shared/notes/clamav-offline.md).

It runs as the unprivileged ``clamav`` user (``setpriv``, umask 0027) with a unix socket and a
loopback TCP socket in a temp directory; nothing system-wide changes.  The database:

* ``aup-test.ndb`` — body signatures: the EICAR test string (``Test.EICAR-Custom``) and our own
  marker string (``Test.AUP-Marker``), matched anywhere in any file type;
* ``aup-test.hdb`` — a whole-file MD5 signature (``Test.AUP-Hash``) of :data:`HASH_SAMPLE`.

clamd reports them with the ``.UNOFFICIAL`` suffix it gives every non-official signature.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.document_corpus import EICAR
from tests.harness.gateway import free_port, port_open, unix_socket_open, wait_for

CLAMD = "/usr/sbin/clamd"
#: Our own body signature: any file containing these bytes is "infected".
MARKER = b"AUP-TEST-MARKER-7f3c9a1e-not-a-real-virus"
#: A file whose MD5 is in the .hdb database.
HASH_SAMPLE = b"This exact file is listed by hash in the test database.\n" * 3

EICAR_SIGNATURE = "Test.EICAR-Custom.UNOFFICIAL"
MARKER_SIGNATURE = "Test.AUP-Marker.UNOFFICIAL"
HASH_SIGNATURE = "Test.AUP-Hash.UNOFFICIAL"


def available() -> bool:
    return Path(CLAMD).exists()


class PrivateClamd:
    def __init__(self, stream_max_length: str = "10M") -> None:
        self.root = Path(tempfile.mkdtemp(prefix="aup-clamd-", dir="/tmp"))
        self.root.chmod(0o755)
        self.socket = self.root / "clamd.sock"
        self.port = free_port()
        self.log = self.root / "clamd.log"
        self.conf = self.root / "clamd.conf"
        self.stream_max_length = stream_max_length
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def unix_address(self) -> str:
        return f"unix:{self.socket}"

    @property
    def inet_address(self) -> str:
        return f"inet:127.0.0.1:{self.port}"

    def _write_database(self) -> None:
        db = self.root / "db"
        db.mkdir()
        (db / "aup-test.ndb").write_text(
            f"Test.EICAR-Custom:0:*:{EICAR.hex()}\nTest.AUP-Marker:0:*:{MARKER.hex()}\n", encoding="ascii"
        )
        digest = hashlib.md5(HASH_SAMPLE).hexdigest()
        (db / "aup-test.hdb").write_text(f"{digest}:{len(HASH_SAMPLE)}:Test.AUP-Hash\n", encoding="ascii")

    def start(self) -> None:
        self._write_database()
        self.conf.write_text(
            "\n".join(
                [
                    "Foreground yes",
                    f"LocalSocket {self.socket}",
                    "LocalSocketMode 666",
                    f"TCPSocket {self.port}",
                    "TCPAddr 127.0.0.1",
                    f"DatabaseDirectory {self.root / 'db'}",
                    f"LogFile {self.log}",
                    f"PidFile {self.root / 'clamd.pid'}",
                    f"TemporaryDirectory {self.root / 'tmp'}",
                    f"StreamMaxLength {self.stream_max_length}",
                    "Bytecode no",
                    "ScanArchive yes",
                    "ScanOLE2 yes",
                    "ScanPDF yes",
                    "ScanMail yes",
                    "MaxThreads 4",
                    "ReadTimeout 10",
                    "CommandReadTimeout 10",
                ]
            )
            + "\n"
        )
        (self.root / "tmp").mkdir()
        command = [CLAMD, "-c", str(self.conf)]
        if os.geteuid() == 0:
            user = pwd.getpwnam("clamav")
            for path in (self.root, self.root / "db", self.root / "tmp"):
                os.chown(path, user.pw_uid, user.pw_gid)
            # setpriv execs (runuser would stay as a parent): terminate() reaches clamd itself.
            command = [
                "setpriv",
                f"--reuid={user.pw_uid}",
                f"--regid={user.pw_gid}",
                "--clear-groups",
                "sh",
                "-c",
                'umask 0027; exec "$@"',
                "clamd",
                *command,
            ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                text = self.log.read_text() if self.log.exists() else ""
                raise RuntimeError(f"clamd exited early:\n{text[-3000:]}")
            return unix_socket_open(self.socket) and port_open(self.port)

        wait_for(ready, 60, "clamd sockets")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
            self.process = None

    def owner(self) -> str:
        """User name of the running clamd process (from /proc)."""
        assert self.process is not None
        pid = int((self.root / "clamd.pid").read_text().strip())
        uid = os.stat(f"/proc/{pid}").st_uid
        return pwd.getpwuid(uid).pw_name

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
