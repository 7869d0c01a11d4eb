"""Virus scanning through a scanner daemon: ClamAV's clamd, spoken to with INSTREAM.

Four of the five seed policies say the school monitors mail for viruses; every gateway admins
compare us with drives ClamAV.  We do not reimplement a scanner: each decoded part goes to
clamd over its unix or TCP socket (``zINSTREAM``, 4-byte big-endian length-prefixed chunks, a
zero-length chunk to finish; the reply is ``stream: OK`` or ``stream: <Signature> FOUND``).
Archives are sent whole: clamd unpacks them itself, with its own limits.

Every failure — socket missing, connection refused, no reply within the timeout, a reply that is
not OK/FOUND (e.g. ``INSTREAM size limit exceeded``) — is a :class:`ScanError` with a bounded
``kind``; the antivirus check turns it into the configured failure action (tempfail by default),
never into a silent "clean".

A scanner is anything with ``scan(data) -> signature | None`` (:class:`Scanner`); :func:`connect`
builds one from the settings by ``scanner`` name, so another daemon with a similar protocol can
be added beside ClamAV without touching the check.

Metrics: the check runs inside worker processes whose registry nobody scrapes, so each scan is
recorded as an :class:`Observation` in the collector the caller opened with :func:`collect`, and
the milter process turns those into ``aupmilter_antivirus_*`` metrics.
"""

from __future__ import annotations

import contextlib
import contextvars
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

#: Bytes sent per INSTREAM chunk.
CHUNK = 65536
#: Longest reply we read (a signature name is short; anything longer is a protocol error).
MAX_REPLY = 4096

ERROR_KINDS = ("unreachable", "timeout", "protocol", "size_limit", "skipped")


class ScanError(Exception):
    """The scanner could not give a verdict; ``kind`` is one of :data:`ERROR_KINDS`."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


class ScannerUnavailable(RuntimeError):
    """Raised out of the engine when the failure action is tempfail: the milter's failure
    path answers 451 and Postfix keeps the message.  A worker process attaches the scans it
    made (``observations``) so the milter process can still count them."""

    observations: list[Observation]

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.observations = []


class Scanner(Protocol):
    name: str

    def scan(self, data: bytes) -> str | None:
        """The signature name when ``data`` is infected, None when clean; ScanError otherwise."""
        ...

    def ping(self) -> bool: ...


@dataclass(frozen=True)
class Address:
    """Where the scanner listens: ``unix:/path`` or ``inet:host:port``."""

    family: str  # unix | inet
    path: str = ""
    host: str = ""
    port: int = 0

    @classmethod
    def parse(cls, text: str) -> Address:
        kind, _, rest = text.partition(":")
        if kind == "unix" and rest:
            return cls("unix", path=rest)
        if kind == "inet":
            host, _, port = rest.rpartition(":")
            if host and port.isdigit() and 0 < int(port) < 65536:
                return cls("inet", host=host.strip("[]"), port=int(port))
        raise ValueError(f"expected unix:/path or inet:host:port, got {text!r}")

    def __str__(self) -> str:
        return f"unix:{self.path}" if self.family == "unix" else f"inet:{self.host}:{self.port}"


class ClamdScanner:
    """clamd's INSTREAM over one connection per scan (no session state to go stale)."""

    name = "clamav"

    def __init__(self, address: Address, connect_timeout: float, scan_timeout: float) -> None:
        self.address = address
        self.connect_timeout = connect_timeout
        self.scan_timeout = scan_timeout

    def _connect(self) -> socket.socket:
        try:
            if self.address.family == "unix":
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(self.connect_timeout)
                try:
                    sock.connect(self.address.path)
                except BaseException:
                    sock.close()
                    raise
                return sock
            return socket.create_connection((self.address.host, self.address.port), timeout=self.connect_timeout)
        except TimeoutError:
            raise ScanError("timeout", f"connecting to {self.address}") from None
        except OSError as exc:
            raise ScanError("unreachable", f"{self.address}: {exc.strerror or exc}") from None

    def _exchange(self, command: bytes, payload: bytes | None) -> str:
        sock = self._connect()
        try:
            sock.settimeout(self.scan_timeout)
            deadline = time.monotonic() + self.scan_timeout
            sock.sendall(command)
            if payload is not None:
                # clamd stops reading past StreamMaxLength: its reply says why.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._stream(sock, payload, deadline)
            reply = b""
            while not reply.endswith(b"\x00"):
                sock.settimeout(max(0.001, deadline - time.monotonic()))
                try:
                    chunk = sock.recv(MAX_REPLY)
                except ConnectionResetError:
                    chunk = b""
                if not chunk:
                    break
                reply += chunk
                if len(reply) > MAX_REPLY:
                    raise ScanError("protocol", "reply too long")
            return reply.rstrip(b"\x00").decode("utf-8", "replace").strip()
        except TimeoutError:
            raise ScanError("timeout", f"no reply from {self.address} within {self.scan_timeout:g}s") from None
        except ConnectionError as exc:
            raise ScanError("protocol", f"connection closed by {self.address} ({type(exc).__name__})") from None
        except OSError as exc:
            raise ScanError("unreachable", f"{self.address}: {exc.strerror or exc}") from None
        finally:
            sock.close()

    @staticmethod
    def _stream(sock: socket.socket, payload: bytes, deadline: float) -> None:
        view = memoryview(payload)
        for start in range(0, len(view), CHUNK):
            piece = view[start : start + CHUNK]
            sock.sendall(struct.pack(">I", len(piece)) + piece.tobytes())
            if time.monotonic() > deadline:
                raise TimeoutError
        sock.sendall(struct.pack(">I", 0))

    def scan(self, data: bytes) -> str | None:
        reply = self._exchange(b"zINSTREAM\x00", data)
        _, _, verdict = reply.partition(": ")
        if verdict == "OK":
            return None
        if verdict.endswith(" FOUND"):
            return verdict[: -len(" FOUND")].strip() or "unknown"
        if "size limit" in reply.lower():
            raise ScanError("size_limit", reply[:200])
        raise ScanError("protocol", (reply or "empty reply")[:200])

    def ping(self) -> bool:
        try:
            return self._exchange(b"zPING\x00", None) == "PONG"
        except ScanError:
            return False


SCANNERS = {"clamav": ClamdScanner}


def connect(kind: str, address: str, connect_timeout: float, scan_timeout: float) -> Scanner:
    """A scanner of ``kind`` (one of :data:`SCANNERS`) at ``address``."""
    return SCANNERS[kind](Address.parse(address), connect_timeout, scan_timeout)


# --- observations for the metrics ---------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    """One scan: ``result`` clean | infected | error | skipped; ``kind`` the error kind."""

    result: str
    seconds: float
    kind: str = ""


_COLLECTOR: contextvars.ContextVar[list[Observation] | None] = contextvars.ContextVar("av_observations", default=None)


@contextlib.contextmanager
def collect() -> Iterator[list[Observation]]:
    """Collect the observations of scans made inside this block (this thread/context only)."""
    observations: list[Observation] = []
    token = _COLLECTOR.set(observations)
    try:
        yield observations
    finally:
        _COLLECTOR.reset(token)


def record(observation: Observation) -> None:
    target = _COLLECTOR.get()
    if target is not None:
        target.append(observation)
