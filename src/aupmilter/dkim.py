"""DKIM signing of mail we changed (dkimpy), so downstream verification passes.

A disclaimer changes the body, which breaks any signature made before; so the gateway signs
after its last change, for the school domains that have a key.  Keys are files that must exist,
be readable and not be readable by group or others: a missing or exposed key is a start-up
error, never a silent skip (an unsigned school domain with a DMARC policy gets its mail
rejected downstream).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import dkim as dkimpy

from aupmilter.errors import ConfigError

#: Headers a modern signer covers (RFC 6376 §5.4.1 recommendations); our X-AUP-* are not signed.
SIGNED_HEADERS = (
    b"from",
    b"sender",
    b"reply-to",
    b"subject",
    b"date",
    b"message-id",
    b"to",
    b"cc",
    b"mime-version",
    b"content-type",
    b"content-transfer-encoding",
    b"content-id",
    b"content-description",
    b"in-reply-to",
    b"references",
    b"list-id",
    b"list-unsubscribe",
)


@dataclass(frozen=True)
class DkimKey:
    domain: str
    selector: str
    private_key: bytes


def load_key(domain: str, selector: str, key_file: str, source: str) -> DkimKey:
    path = Path(key_file)
    key = f"dkim.{domain}.key_file"
    try:
        st = path.stat()
    except OSError as exc:
        raise ConfigError(source, key, f"DKIM key {path} cannot be read: {exc.strerror}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            source,
            key,
            f"DKIM key {path} is readable by others (mode {oct(st.st_mode & 0o777)}); chmod 600",
        )
    if not os.access(path, os.R_OK):
        raise ConfigError(source, key, f"DKIM key {path} is not readable by this user")
    data = path.read_bytes()
    if b"PRIVATE KEY" not in data:
        raise ConfigError(source, key, f"DKIM key {path} is not a PEM private key")
    return DkimKey(domain, selector, data)


def sign(message: bytes, key: DkimKey) -> str:
    """The DKIM-Signature header *value* (unfolded) for ``message`` as it will be delivered."""
    header = dkimpy.sign(
        message,
        key.selector.encode(),
        key.domain.encode(),
        key.private_key,
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=[h for h in SIGNED_HEADERS if _has_header(message, h)],
        linesep=b"\r\n",
    )
    name, _, value = header.decode("ascii").partition(":")
    assert name.lower() == "dkim-signature"
    return " ".join(value.split())


def _has_header(message: bytes, name: bytes) -> bool:
    head = message.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].lower()
    return head.startswith(name + b":") or b"\n" + name + b":" in head
