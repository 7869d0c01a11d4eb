"""DKIM signing of mail we changed (dkimpy), so downstream verification passes.

A disclaimer changes the body, which breaks any signature made before; so the gateway signs
after its last change, for the school domains that have a key.  Keys are files that must exist,
be readable, not be readable by group or others, and actually sign: a missing, exposed or broken
key is a start-up error, never a silent skip (an unsigned school domain with a DMARC policy gets
its mail rejected downstream).

What is signed is what a modern signer signs: dkimpy's RFC 6376 §5.4.1 list (From, To, Cc,
Subject, Date, Message-ID, MIME headers, References, List-*, Resent-*) for the fields present,
relaxed/relaxed, and the fields that identify the mail to a reader (From, To, Cc, Subject,
Reply-To) *oversigned*, so that adding a second one later invalidates the signature.  Our own
X-AUP-* headers and Received are not signed (they are added or rewritten on later hops).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import dkim as dkimpy

from aupmilter.errors import ConfigError

if TYPE_CHECKING:
    from aupmilter.config import Config

#: Present fields signed one extra time, so an added duplicate breaks the signature.
OVERSIGNED = (b"from", b"to", b"cc", b"subject", b"reply-to")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_SELECTOR = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
_PROBE = b"From: probe@example.invalid\r\nSubject: probe\r\n\r\nprobe\r\n"


@dataclass(frozen=True)
class DkimKey:
    domain: str
    selector: str
    private_key: bytes


def load_key(domain: str, selector: str, key_file: str, source: str) -> DkimKey:
    """Read and validate a signing key at start-up (see module docstring)."""
    path = Path(key_file)
    key = f'dkim."{domain}".key_file'

    if not isinstance(selector, str) or not _SELECTOR.match(selector):
        raise ConfigError(source, f'dkim."{domain}".selector', "must be a DNS label, e.g. 's2026'")
    try:
        st = path.stat()
    except OSError as exc:
        raise ConfigError(source, key, f"DKIM key {path} cannot be read: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(source, key, f"DKIM key {path} is not a regular file")
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
    loaded = DkimKey(domain, selector, data)
    try:
        sign(_PROBE, loaded)
    except Exception as exc:  # dkimpy raises several types for a bad key; any of them is fatal
        raise ConfigError(source, key, f"DKIM key {path} cannot sign ({type(exc).__name__})") from None
    return loaded


def load_keys(config: Config) -> dict[str, DkimKey]:
    """Every ``[dkim.<domain>]`` key, read and test-signed (a bad key is a start-up error)."""
    source = f"{config.source}: dkim"
    return {
        domain: load_key(domain, selector, key_file, source)
        for domain, (selector, key_file) in config.dkim.domains.items()
    }


def sign(message: bytes, key: DkimKey) -> str:
    """The DKIM-Signature header *value* for ``message`` as it will be delivered.

    Folded (continuation lines start with a tab, lines end in LF): a 4096-bit signature on one
    line would pass the 998-character limit of RFC 5322.  Relaxed header canonicalisation
    makes the folding irrelevant to verification."""
    signer = dkimpy.DKIM(_crlf(message), linesep=b"\r\n")
    signer.add_frozen(OVERSIGNED)
    header = signer.sign(
        key.selector.encode(),
        key.domain.encode(),
        key.private_key,
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=signer.default_sign_headers(),
    )
    name, _, value = header.decode("ascii").partition(":")
    if name.strip().lower() != "dkim-signature":
        raise ValueError("dkimpy returned an unexpected header")
    lines = [line.strip() for line in value.strip().splitlines()]
    return "\n\t".join(line for line in lines if line)


def _crlf(message: bytes) -> bytes:
    """Postfix hands milters CRLF line ends and delivers CRLF; sign exactly that."""
    return message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
