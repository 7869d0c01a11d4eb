"""The disclaimer's idempotence marker, authenticated so that no client can forge it.

The rewrite adds ``X-AUP-Disclaimer`` so a message that passes the gateway twice (an internal
hop, then outbound) gets the disclaimer once.  A bare marker could be typed by any client to
suppress the disclaimer, and with it the DKIM signature (issue 17).  So the marker carries an
HMAC-SHA256, under a site key, over the domain and a hash of the body as it left the gateway:

    X-AUP-Disclaimer: oakfield.example; v=1; mac=3f2a…

The milter removes every ``X-AUP-*`` header a client sent before evaluation, except a marker
whose MAC verifies against the body it arrived with.  The body is hashed in a relaxed form
(line ends, trailing white space and trailing blank lines ignored) so a relay that re-terminates
lines does not invalidate it; one that rewrites the body does, and the disclaimer is then added
again — a repeated disclaimer is a lesser harm than a missing one.

The key is a file (``[checks.disclaimer] marker_key_file``, default ``disclaimer-marker.key``
beside the quarantine folder), created mode 0600 by ``aupmilter run`` when missing.  Gateways
that pass mail to each other share it (copy the file).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from aupmilter.elision import Opaque, gaps
from aupmilter.fsmodes import create_file, make_dirs

if TYPE_CHECKING:
    from aupmilter.config import Config

MARKER_HEADER = "X-AUP-Disclaimer"
KEY_FILE_NAME = "disclaimer-marker.key"
_VALUE = re.compile(r"^\s*([A-Za-z0-9.-]+)\s*;\s*v=1\s*;\s*mac=([0-9a-f]{64})\s*$")


class MarkerKey:
    """The site key, read once from its file (or created by the daemon at start-up)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def ensure(self) -> None:
        """Create the key file (0600) if it is missing; a daemon calls this before serving."""
        if not self.path.exists():
            make_dirs(self.path.parent)
            create_file(self.path, secrets.token_hex(32).encode() + b"\n", 0o600, exist_ok=True)

    def get(self) -> bytes | None:
        """The key, or None where there is none (``aupmilter check`` on a box without one)."""
        with self._lock:
            if self._key is None and self.path.exists():
                text = self.path.read_bytes().strip()
                self._key = text if len(text) >= 32 else None
            return self._key


def key_path(config: Config) -> Path:
    configured = config.checks.get("disclaimer", {}).get("marker_key_file", "")
    if isinstance(configured, str) and configured:
        return Path(configured)
    return Path(config.quarantine.path).parent / KEY_FILE_NAME


def canonical_body(body: bytes, opaque: Opaque = ()) -> bytes:
    """LF line ends, no white space (or CR) at a line's end, no blank lines at the end.

    ``opaque`` (:data:`~aupmilter.elision.Opaque`): spans that are base64 lines, which only lose
    their CRs; the per-line work is done on the text between.  A span starts and ends with a
    base64 character, so a line that runs into one does not end at the span's edge."""
    return b"".join(_canonical_pieces(body, opaque))


def _canonical_pieces(body: bytes, opaque: Opaque) -> list[bytes]:
    """:func:`canonical_body` in pieces, for hashing without joining megabytes first."""
    if not opaque:
        return [_lines(body).rstrip(b"\n"), b"\n"]
    pieces: list[bytes] = []
    for (start, end), (begin, stop) in zip(gaps(len(body), opaque), opaque, strict=False):
        pieces.append(_lines(body[start:end], at_end=False))
        span = body[begin:stop]
        pieces.append(span.translate(None, b"\r") if b"\r" in span else span)  # a CR is only before an LF
    # Trailing blank lines go; the span before the last text ends in a base64 character.
    pieces += [_lines(body[opaque[-1][1] :]).rstrip(b"\n"), b"\n"]
    return pieces


def _lines(text: bytes, at_end: bool = True) -> bytes:
    """``text`` with LF line ends and each line's trailing space, tab and CR removed; the last
    line too if ``at_end`` (else it goes on in an opaque span, so it does not end here)."""
    lines = text.replace(b"\r\n", b"\n").split(b"\n")
    last = lines.pop()
    return b"\n".join([*(line.rstrip(b" \t\r") for line in lines), last.rstrip(b" \t\r") if at_end else last])


def _mac(key: bytes, domain: str, body: bytes, opaque: Opaque = ()) -> str:
    hasher = hashlib.sha256()
    for piece in _canonical_pieces(body, opaque):
        hasher.update(piece)
    digest = hasher.digest()
    return hmac.new(key, b"aupmilter-disclaimer-v1\0" + domain.lower().encode() + b"\0" + digest, "sha256").hexdigest()


def marker_value(domain: str, body: bytes, key: bytes, opaque: Opaque = ()) -> str:
    """The marker for ``body`` as it leaves (``opaque``: see :func:`canonical_body`)."""
    return f"{domain.lower()}; v=1; mac={_mac(key, domain, body, opaque)}"


def verify(value: str, body: bytes, key: bytes | None) -> bool:
    """Is ``value`` a marker this site's gateway wrote on exactly this body?"""
    m = _VALUE.match(value.replace("\r", "").replace("\n", ""))
    if key is None or m is None:
        return False
    return hmac.compare_digest(m.group(2), _mac(key, m.group(1), body))
