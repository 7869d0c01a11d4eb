"""The audit trail's integrity: an HMAC-SHA-256 chain keyed outside the database, anchored
outside the store.

Why: a plain hash chain needs no secret, so whoever can write the database can delete records
(every unseal, say) and recompute the chain, or truncate it, and it still verifies.  Here

* each record carries ``HMAC-SHA-256(key, [seq, key_id, prev, at, actor, role, action, item,
  reason])``; the key lives in a file (mode 0600, never in the database), so rewriting records
  needs the key as well as the database;
* the key ring holds every key ever used, one ``<key id> <hex>`` line each; the last one signs
  new records and each record names its ``key_id``, so keys can be rotated without breaking the
  verification of older records;
* every committed record's ``seq`` and MAC are appended to a local *anchor* log (0600; make it
  append-only with ``chattr +a``), so deleting the newest records — which no chain can show by
  itself — is reported as truncation by ``verify``;
* records written before keys existed (``key_id`` empty) still verify with the old unkeyed hash
  and are counted separately: the first keyed record's MAC covers their head.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aupmilter.secretfile import SecretFileError, append_private, check_private, create_secret, read_secret

GENESIS = "0" * 64


class AuditKeyError(Exception):
    """The audit key file is missing, unsafe or malformed."""


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: str
    actor: str
    role: str
    action: str
    item_id: str | None
    reason: str
    prev_hash: str
    hash: str
    key_id: str = ""


@dataclass(frozen=True)
class Verification:
    ok: bool
    message: str
    records: int = 0
    head_seq: int = 0
    head_hash: str = ""


def legacy_hash(prev: str, at: str, actor: str, role: str, action: str, item: str | None, reason: str) -> str:
    """The unkeyed hash of records written before the audit key existed."""
    payload = json.dumps([prev, at, actor, role, action, item, reason], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def record_mac(
    key: bytes,
    seq: int,
    key_id: str,
    prev: str,
    at: str,
    actor: str,
    role: str,
    action: str,
    item: str | None,
    reason: str,
) -> str:
    payload = json.dumps([seq, key_id, prev, at, actor, role, action, item, reason], ensure_ascii=False)
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def new_key_id() -> str:
    return f"{dt.datetime.now(dt.UTC):%Y%m%d}-{secrets.token_hex(3)}"


class KeyRing:
    """The audit keys, read from one private file; the last line is the current key."""

    def __init__(self, path: Path, keys: dict[str, bytes], current: str) -> None:
        self.path = path
        self.keys = keys
        self.current = current

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        try:
            text = read_secret(path)
        except SecretFileError as exc:
            raise AuditKeyError(f"audit key: {exc}") from None
        keys: dict[str, bytes] = {}
        current = ""
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            key_id, _, hexkey = line.strip().partition(" ")
            try:
                key = bytes.fromhex(hexkey.strip())
            except ValueError:
                raise AuditKeyError(f"audit key: {path} line {n}: expected '<key id> <hex key>'") from None
            if len(key) < 32 or not key_id:
                raise AuditKeyError(f"audit key: {path} line {n}: key id and at least 32 bytes needed")
            keys[key_id] = key
            current = key_id
        if not current:
            raise AuditKeyError(f"audit key: {path} holds no key")
        return cls(path, keys, current)

    @classmethod
    def create(cls, path: Path) -> None:
        """Write a first key (0600 from its first instant); no-op if the file appeared meanwhile."""
        create_secret(path, f"{new_key_id()} {secrets.token_hex(32)}\n")

    def rotate(self) -> str:
        """Append a new key; it signs every record from now on.  Returns its id."""
        key_id = new_key_id()
        append_private(self.path, f"{key_id} {secrets.token_hex(32)}\n")
        reloaded = KeyRing.load(self.path)
        self.keys, self.current = reloaded.keys, reloaded.current
        return key_id

    def sign(
        self, seq: int, prev: str, at: str, actor: str, role: str, action: str, item: str | None, reason: str
    ) -> tuple[str, str]:
        """(key id, MAC) of a new record, with the current key."""
        mac = record_mac(self.keys[self.current], seq, self.current, prev, at, actor, role, action, item, reason)
        return self.current, mac


class Anchor:
    """A local append-only log of chain heads: ``<seq> <mac> <key id> <at>`` per line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, records: Sequence[AuditRecord]) -> None:
        if records:
            append_private(self.path, "".join(f"{r.seq} {r.hash} {r.key_id or '-'} {r.at}\n" for r in records))

    def entries(self) -> list[tuple[int, str]]:
        if not os.path.lexists(self.path):
            return []
        check_private(self.path)
        out: list[tuple[int, str]] = []
        for line in self.path.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0].isdigit():
                out.append((int(parts[0]), parts[1]))
        return out


def verify_chain(rows: Sequence[AuditRecord], ring: KeyRing, anchor: Anchor | None) -> Verification:
    """Recompute the chain; report the first broken record, unknown keys and truncation."""
    prev = GENESIS
    legacy = 0
    by_seq: dict[int, str] = {}
    for i, rec in enumerate(rows):
        if rec.seq != i + 1:
            return Verification(False, f"record {i + 1} is missing (found {rec.seq})", i)
        if rec.prev_hash != prev:
            return Verification(False, f"record {rec.seq} does not follow record {rec.seq - 1}", i)
        if rec.key_id:
            key = ring.keys.get(rec.key_id)
            if key is None:
                return Verification(False, f"record {rec.seq} is signed with unknown key id {rec.key_id!r}", i)
            expected = record_mac(
                key, rec.seq, rec.key_id, prev, rec.at, rec.actor, rec.role, rec.action, rec.item_id, rec.reason
            )
        else:
            if by_seq and legacy != len(by_seq):
                return Verification(False, f"record {rec.seq} is unkeyed after keyed records", i)
            legacy += 1
            expected = legacy_hash(prev, rec.at, rec.actor, rec.role, rec.action, rec.item_id, rec.reason)
        if not hmac.compare_digest(expected.encode(), str(rec.hash).encode()):
            return Verification(False, f"record {rec.seq} was altered", i)
        by_seq[rec.seq] = rec.hash
        prev = rec.hash
    head_seq = len(rows)
    anchored = 0
    if anchor is not None:
        for seq, mac in anchor.entries():
            if seq > head_seq:
                return Verification(
                    False,
                    f"truncated: the anchor log records record {seq} but the store ends at record {head_seq}",
                    head_seq,
                )
            if not hmac.compare_digest(by_seq[seq].encode(), mac.encode()):
                return Verification(False, f"record {seq} differs from its anchored head (chain rebuilt?)", head_seq)
            anchored = max(anchored, seq)
    parts = [f"{head_seq} audit records verified"]
    if legacy:
        parts.append(f"{legacy} of them unkeyed (written before the audit key)")
    parts.append(f"head {head_seq}:{prev[:16]}")
    parts.append(f"anchored up to record {anchored}" if anchored else "no anchored head on this host")
    return Verification(True, "; ".join(parts), head_seq, head_seq, prev)
