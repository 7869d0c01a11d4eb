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

The private-key operation runs in OpenSSL (``cryptography``): dkimpy's own RSA is pure Python
and cost 8 ms per message, the largest single cost of an outbound letter.  Everything else is
dkimpy's: its header parse, header selection, relaxed canonicalisation, tag order and folding,
so the header we emit is byte for byte the one dkimpy would (PKCS#1 v1.5 is deterministic;
tests/test_dkim.py compares the two).  Only the body canonicalisation takes a short cut: a body
with no tab, no double space and no space before a line end is already relaxed-canonical
but for its trailing empty lines, and a 2 MB attachment no longer goes through three regex
passes to find that out.  Nor through the searches for that: the disclaimer rewrite says which
spans of its new body are attachment bodies it copied through (base64 lines, no white space:
:data:`aupmilter.elision.Opaque`), and the line-end and white-space tests look only between them.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import dkim as dkimpy
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from dkim.canonicalization import Relaxed

from aupmilter.elision import Opaque, gaps
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


def sign(message: bytes, key: DkimKey, now: float | None = None, opaque: Opaque = ()) -> str:
    """The DKIM-Signature header *value* for ``message`` as it will be delivered.

    Folded (continuation lines start with a tab, lines end in LF): a 4096-bit signature on one
    line would pass the 998-character limit of RFC 5322.  Relaxed header canonicalisation
    makes the folding irrelevant to verification.  ``now`` (the t= tag) is for tests.
    ``opaque``: spans of ``message`` that are base64 lines (:data:`aupmilter.elision.Opaque`),
    which the line-end and white-space tests then skip (module docstring)."""
    crlf, opaque = _crlf(message, opaque)
    header = _signature_header(crlf, key, int(time.time() if now is None else now), opaque)
    name, _, value = header.decode("ascii").partition(":")
    if name.strip().lower() != "dkim-signature":
        raise ValueError("unexpected signature header")
    lines = [line.strip() for line in value.strip().splitlines()]
    return "\n\t".join(line for line in lines if line)


_NAME = b"DKIM-Signature"
_SIGN = frozenset(dkimpy.DKIM.SHOULD) | frozenset(OVERSIGNED) | frozenset(dkimpy.DKIM.FROZEN)
_FROZEN = (frozenset(dkimpy.DKIM.FROZEN) | frozenset(OVERSIGNED)) - frozenset(dkimpy.DKIM.SHOULD_NOT)


def _signature_header(message: bytes, key: DkimKey, now: int, opaque: Opaque = ()) -> bytes:
    """What ``dkimpy.DKIM.sign`` returns for ``message`` (CRLF) with our settings: relaxed/relaxed,
    rsa-sha256, i=@domain, the default sign list with :data:`OVERSIGNED` frozen; the RSA
    signature made by OpenSSL over the same header hash."""
    headers, start = _parse(message)
    names = [name for name, _ in headers if name.lower() in _SIGN]
    include = tuple(name.lower() for name in [*names, *(n for n in names if n.lower() in _FROZEN)])
    if b"from" not in include:
        raise dkimpy.ParameterError("The From header field MUST be signed")
    domain, selector = key.domain.encode(), key.selector.encode()
    body_hash = base64.b64encode(_body_hash(message, start, opaque))
    fields = [
        (b"v", b"1"),
        (b"a", b"rsa-sha256"),
        (b"c", b"relaxed/relaxed"),
        (b"d", domain),
        (b"i", b"@" + domain),
        (b"q", b"dns/txt"),
        (b"s", selector),
        (b"t", str(now).encode("ascii")),
        (b"h", b" : ".join(include)),
        (b"bh", body_hash),
        (b"b", b"0" * 60),  # dkimpy's placeholder: b= folds onto its own line, as dkimpy's does
    ]
    value = dkimpy.fold(b"; ".join(b"=".join(f) for f in fields), namelen=len(_NAME), linesep=b"\r\n")
    value = dkimpy.RE_BTAG.sub(b"\\1", value)
    hasher = hashlib.sha256()
    dkimpy.hash_headers(hasher, Relaxed, Relaxed.canonicalize_headers(headers), include, (_NAME, b" " + value), {})
    signature = _private_key(key.private_key).sign(hasher.digest(), padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    fields[-1] = (b"b", base64.b64encode(signature))
    value = b"; ".join(b"=".join(f) for f in fields) + b"\r\n"
    folded: bytes = dkimpy.fold(value, namelen=len(_NAME), linesep=b"\r\n")
    return _NAME + b": " + folded


def _parse(message: bytes) -> tuple[list[list[bytes]], int]:
    """dkimpy's ``rfc822_parse``, run on the header block only (it splits the whole message into
    lines and joins the body back together, a cost that grows with the attachments); and where
    the body starts (not a copy of it: :func:`_body_hash` reads it in place)."""
    if message.startswith(b"\r\n"):
        return [], 2
    end = message.find(b"\r\n\r\n")
    if end < 0:
        headers, _ = dkimpy.rfc822_parse(message)
        return headers, len(message)
    headers, _ = dkimpy.rfc822_parse(message[: end + 4])
    return headers, end + 4


def _body_hash(message: bytes, start: int, opaque: Opaque = ()) -> bytes:
    """SHA-256 of the relaxed canonical form (:func:`_relaxed_body`) of the body that starts at
    ``start``, hashed where it lies when no white space needs compressing or stripping; only
    the text between the ``opaque`` spans (no space or tab in them, and they start and end with
    a base64 character) is searched for any."""
    if opaque and opaque[0][0] < start:
        opaque = ()
    for begin, end in gaps(len(message), opaque, start):
        if (
            message.find(b"\t", begin, end) != -1
            or message.find(b"  ", begin, end) != -1
            or message.find(b" \r\n", begin, end) != -1
        ):
            return hashlib.sha256(_relaxed_body(message[start:])).digest()
    end = len(message)
    while message.endswith(b"\r\n", start, end):  # trailing empty lines: all but one line end go
        end -= 2
    hasher = hashlib.sha256()
    if end == len(message):
        if end > start:  # an empty body is canonically empty, not a bare line end
            hasher.update(memoryview(message)[start:])
            hasher.update(b"\r\n")
    elif end > start:
        hasher.update(memoryview(message)[start : end + 2])
    return hasher.digest()


def _relaxed_body(body: bytes) -> bytes:
    """RFC 6376 §3.4.4, as dkimpy's ``Relaxed.canonicalize_body``; a body with no whitespace to
    compress or strip skips the regex passes (see module docstring)."""
    if b"\t" in body or b"  " in body or b" \r\n" in body:
        return Relaxed.canonicalize_body(body)  # type: ignore[no-any-return]
    end = len(body)
    while body.endswith(b"\r\n", 0, end):  # trailing empty lines: all but one line end go
        end -= 2
    canonical = body + b"\r\n" if end == len(body) else body[: end + 2]
    return b"" if canonical == b"\r\n" else canonical


@functools.lru_cache(maxsize=64)
def _private_key(pem: bytes) -> rsa.RSAPrivateKey:
    """The parsed key, once per process (parsing costs more than signing)."""
    loaded = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise dkimpy.KeyFormatError("not an RSA private key")
    return loaded


def _crlf(message: bytes, opaque: Opaque = ()) -> tuple[bytes, Opaque]:
    """Postfix hands milters CRLF line ends and delivers CRLF; sign exactly that.

    Every LF already after a CR leaves the message as it is (with its ``opaque`` spans, whose
    LFs need counting only if they are bare: their lines all end alike)."""
    spans_crlf = all(message[at - 1] == 0x0D for s, e in opaque if (at := message.find(b"\n", s, e)) != -1)
    if spans_crlf and all(
        message.count(b"\n", start, end) == message.count(b"\r\n", start, end)
        for start, end in gaps(len(message), opaque)
    ):
        return message, opaque
    return message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"), ()
