"""Quarantine: a durable store of held messages, with audited, role-checked access."""

from __future__ import annotations

from aupmilter.config import QuarantineSettings
from aupmilter.quarantine.access import AccessDenied, Role
from aupmilter.quarantine.record import QuarantineRecord
from aupmilter.quarantine.store import (
    Accounts,
    AuditRecord,
    Item,
    QuarantineStore,
    ReleaseResult,
    SealedError,
    StoreError,
    User,
)

__all__ = [
    "AccessDenied",
    "Accounts",
    "AuditRecord",
    "Item",
    "QuarantineRecord",
    "QuarantineStore",
    "ReleaseResult",
    "Role",
    "SealedError",
    "StoreError",
    "User",
    "open_store",
]


def open_store(settings: QuarantineSettings) -> QuarantineStore:
    """Open (creating and migrating if needed) the store the settings name."""
    return QuarantineStore(settings)
