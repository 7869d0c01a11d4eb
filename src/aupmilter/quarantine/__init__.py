"""Quarantine: a durable store of held messages, with audited, role-checked access."""

from __future__ import annotations

from aupmilter.config import QuarantineSettings
from aupmilter.quarantine.access import AccessDenied, Role
from aupmilter.quarantine.accounts import Account, AccountError, Accounts, Session, User
from aupmilter.quarantine.audit import AuditKeyError, AuditRecord, Verification
from aupmilter.quarantine.record import QuarantineRecord
from aupmilter.quarantine.store import (
    Item,
    QuarantineStore,
    ReleaseResult,
    SealedError,
    StoreError,
)

__all__ = [
    "AccessDenied",
    "Account",
    "AccountError",
    "Accounts",
    "AuditKeyError",
    "AuditRecord",
    "Item",
    "QuarantineRecord",
    "QuarantineStore",
    "ReleaseResult",
    "Role",
    "SealedError",
    "Session",
    "StoreError",
    "User",
    "Verification",
    "open_store",
]


def open_store(settings: QuarantineSettings) -> QuarantineStore:
    """Open (creating and migrating if needed) the store the settings name."""
    return QuarantineStore(settings)
