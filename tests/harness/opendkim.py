"""OpenDKIM's verifier (``opendkim-testmsg``) on a message, with the public key served locally.

opendkim-testmsg looks the key up in DNS through the C library's resolver, and there is no DNS
here.  So the check runs in its own network and mount namespaces (``unshare``, root only): a
loopback of its own, a resolv.conf pointing at 127.0.0.1 bind-mounted over the real one for
that namespace only, and a stub DNS server on 127.0.0.1:53 that answers the one TXT record.
Nothing outside the namespace sees any of it.

    python -m tests.harness.opendkim NAME RECORD < message     # inside the namespaces
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

TESTMSG = "/usr/sbin/opendkim-testmsg"


def available() -> bool:
    """opendkim-testmsg is installed and we may make namespaces (root, not blocked by seccomp)."""
    if not Path(TESTMSG).exists() or os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--mount", "--net", "true"], capture_output=True)
    return probe.returncode == 0


def verify(message: bytes, name: str, record: bytes) -> tuple[int, str]:
    """Run opendkim-testmsg on ``message`` with ``record`` as the TXT record of ``name``
    (e.g. ``s1._domainkey.oakfield.example``); returns (exit status, stderr).  0 means the
    signature verified; opendkim-testmsg prints nothing then."""
    done = subprocess.run(
        ["unshare", "--mount", "--net", sys.executable, "-m", "tests.harness.opendkim", name, record.decode()],
        input=message,
        capture_output=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    return done.returncode, done.stderr.decode(errors="replace")


def _answer(query: bytes, name: str, record: bytes) -> bytes:
    """A DNS response to ``query``: the TXT record for ``name``, NXDOMAIN for anything else."""
    (ident,) = struct.unpack("!H", query[:2])
    labels, i = [], 12
    while query[i]:
        labels.append(query[i + 1 : i + 1 + query[i]].decode().lower())
        i += 1 + query[i]
    qtype = struct.unpack("!H", query[i + 1 : i + 3])[0]
    question = query[12 : i + 5]
    if ".".join(labels) != name.lower() or qtype != 16:
        return struct.pack("!HHHHHH", ident, 0x8183, 1, 0, 0, 0) + question
    chunks = [record[j : j + 255] for j in range(0, len(record), 255)]
    rdata = b"".join(bytes([len(c)]) + c for c in chunks)
    answer = b"\xc0\x0c" + struct.pack("!HHIH", 16, 1, 60, len(rdata)) + rdata
    return struct.pack("!HHHHHH", ident, 0x8180, 1, 1, 0, 0) + question + answer


def _serve(sock: socket.socket, name: str, record: bytes) -> None:
    while True:
        query, peer = sock.recvfrom(4096)
        sock.sendto(_answer(query, name, record), peer)


def _inside(name: str, record: bytes) -> int:
    """In the fresh namespaces: loopback up, resolv.conf replaced, stub DNS, the verifier."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as conf:
        conf.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    subprocess.run(["mount", "--bind", conf.name, "/etc/resolv.conf"], check=True)
    os.unlink(conf.name)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 53))
    threading.Thread(target=_serve, args=(sock, name, record), daemon=True).start()
    done = subprocess.run([TESTMSG], stdin=sys.stdin.buffer, capture_output=True)
    sys.stderr.write(done.stderr.decode(errors="replace") + done.stdout.decode(errors="replace"))
    return done.returncode


if __name__ == "__main__":
    sys.exit(_inside(sys.argv[1], sys.argv[2].encode()))
