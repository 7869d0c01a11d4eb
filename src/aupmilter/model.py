"""Value types shared by the engine, the checks, the policy and the adapters.

Everything here is immutable so that a decision can be logged, stored in quarantine metadata and
compared in tests without defensive copies.  Nothing here imports the milter library: the engine
must be usable from the CLI and tests with no MTA in sight.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")


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
class Fact(Generic[T]):
    """The key of a fact about a message that only the adapter can know, declared by the check
    that reads it (e.g. the mass-mailing check's count of recent identical messages).

    The engine is pure and keeps no state, so state a check needs (counts across messages,
    anything with a clock) is computed by the adapter and handed in on the :class:`Envelope`.
    Core types name no check: the envelope carries facts by name, and the check's own ``Fact``
    gives the name, the type and the value when no adapter supplied it (``aupmilter check``,
    tests, mail the fact does not apply to).
    """

    name: str
    default: T


@dataclass(frozen=True, slots=True)
class Envelope:
    """SMTP envelope and connection facts, as the MTA saw them.

    ``direction`` is filled by :mod:`aupmilter.direction` before checks run; adapters may leave it
    ``None`` and let the engine classify.  ``received_at`` (UTC) is when the gateway received the
    message; it is an input, not read from a clock inside the engine, so evaluation stays pure.
    ``facts`` holds what the adapter knows and the pure engine cannot (see :class:`Fact`), by
    fact name; a check reads one with :meth:`fact`, an adapter adds one with :meth:`with_fact`.
    """

    sender: str
    recipients: tuple[str, ...]
    auth_user: str | None = None
    client_addr: str | None = None
    queue_id: str | None = None
    direction: Direction | None = None
    received_at: dt.datetime | None = None
    facts: Mapping[str, object] = field(default_factory=dict, hash=False)

    def fact(self, key: Fact[T]) -> T:
        """The value the adapter supplied for ``key``, else the fact's default."""
        return cast(T, self.facts.get(key.name, key.default))

    def with_fact(self, key: Fact[T], value: T) -> Envelope:
        """This envelope with ``key`` set to ``value`` (envelopes are immutable)."""
        return dataclasses.replace(self, facts={**self.facts, key.name: value})

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
    """Replace the whole body (everything after the header block) with these bytes.

    ``opaque``: spans of ``body`` that are attachment bodies copied through unchanged, base64
    lines and nothing else (:data:`aupmilter.elision.Opaque`), so that what reads the new body
    afterwards (the marker's MAC, DKIM's body hash) need not search megabytes for whitespace.
    A hint about the bytes, not part of the effect: it takes no part in equality."""

    body: bytes
    opaque: tuple[tuple[int, int], ...] = field(default=(), compare=False, repr=False)


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
    #: The finding that entry matched (``None`` when no entry decided): what the action is for,
    #: so an adapter never has to guess it from the order of ``findings``.
    deciding: Finding | None = None
    effects: tuple[Effect, ...] = ()
    smtp_reply: SmtpReply | None = None
    direction: Direction = Direction.INBOUND
    schools: tuple[str, ...] = ()
    sealed: bool = False

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.rule for f in self.findings))
