"""Value types shared by the engine, the checks, the policy and the adapters.

Everything here is immutable so that a decision can be logged, stored in quarantine metadata and
compared in tests without defensive copies.  Nothing here imports the milter library: the engine
must be usable from the CLI and tests with no MTA in sight.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any


class Action(enum.IntEnum):
    """What happens to a message; ordered so that ``max()`` picks the strictest."""

    ACCEPT = 0
    TAG = 1
    QUARANTINE = 2
    BLOCK = 3

    @classmethod
    def parse(cls, text: str) -> Action:
        """Parse a policy-file spelling (``"tag"``); raises ``ValueError`` naming the choices."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            choices = ", ".join(a.name.lower() for a in cls)
            raise ValueError(f"unknown action {text!r} (expected one of: {choices})") from None

    def __str__(self) -> str:
        return self.name.lower()


class Direction(enum.StrEnum):
    """Where a message travels relative to the trust's own domains."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


@dataclass(frozen=True, slots=True)
class Envelope:
    """SMTP envelope and connection facts, as the MTA saw them.

    ``direction`` is filled by :mod:`aupmilter.direction` before checks run; adapters may leave it
    ``None`` and let the engine classify.  ``received_at`` (UTC) is when the gateway received the
    message; it is an input, not read from a clock inside the engine, so evaluation stays pure.
    ``recent_identical`` is how many *earlier* messages from the same sender with the same
    normalised body the milter process saw inside the repeat window (see
    :mod:`aupmilter.ratewindow`): state the pure engine cannot keep, handed in as a fact.  It is
    0 where nothing counts (``aupmilter check``, tests, inbound mail, the check turned off).
    """

    sender: str
    recipients: tuple[str, ...]
    auth_user: str | None = None
    client_addr: str | None = None
    queue_id: str | None = None
    daemon_name: str | None = None
    direction: Direction | None = None
    received_at: dt.datetime | None = None
    recent_identical: int = 0

    @property
    def sender_domain(self) -> str:
        return domain_of(self.sender)

    @property
    def recipient_domains(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(domain_of(r) for r in self.recipients if domain_of(r)))


def domain_of(address: str) -> str:
    """Lower-cased domain part of an address, ``""`` for a null or local-only address."""
    address = address.strip().strip("<>")
    _, at, domain = address.rpartition("@")
    return domain.lower().rstrip(".") if at else ""


@dataclass(frozen=True, slots=True)
class Finding:
    """One explainable observation made by a check.

    ``rule`` is a stable dotted id (``attachment.executable.pe``) used by the policy and in
    headers; ``category`` is the policy category it belongs to (``attachment.executable``);
    ``evidence`` is short and masked (never a whole sentence, never an unmasked slur);
    ``location`` names the part (``body``, ``subject``, ``quoted``, ``attachment:a.zip/b.exe``).
    """

    rule: str
    category: str
    score: float = 1.0
    evidence: str = ""
    location: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "category": self.category,
            "score": self.score,
            "evidence": self.evidence,
            "location": self.location,
        }


# --- Effects: what the adapter (or ``aupmilter check --emit``) does to the message -------------


@dataclass(frozen=True, slots=True)
class AddHeader:
    """Add a header; ``prepend`` puts it at the top (needed for DKIM-Signature)."""

    name: str
    value: str
    prepend: bool = False


@dataclass(frozen=True, slots=True)
class ChangeHeader:
    """Replace the ``index``-th (1-based, among same-named) header; ``value=None`` deletes it."""

    name: str
    value: str | None
    index: int = 1


@dataclass(frozen=True, slots=True)
class ReplaceBody:
    """Replace the whole body (everything after the header block) with these bytes."""

    body: bytes


Effect = AddHeader | ChangeHeader | ReplaceBody


@dataclass(frozen=True, slots=True)
class SmtpReply:
    """The SMTP reply for a rejected message."""

    code: str
    xcode: str
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.xcode} {self.text}"


@dataclass(frozen=True, slots=True)
class Decision:
    """The engine's verdict: the action, the findings behind it, why, and the effects to apply.

    ``reason`` names the policy entry that decided the action (e.g. ``policy: attachment.executable
    outbound -> block``) so an admin can trace a verdict back to the data that caused it.
    ``sealed`` records that the message is labelled Personal/Private and its content must not be
    shown without an audited unseal.
    """

    action: Action
    findings: tuple[Finding, ...] = ()
    reason: str = ""
    #: The policy words of the entry (tier and direction) that decided the action.
    clause: str = ""
    effects: tuple[Effect, ...] = ()
    smtp_reply: SmtpReply | None = None
    direction: Direction = Direction.INBOUND
    schools: tuple[str, ...] = ()
    sealed: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.rule for f in self.findings))
