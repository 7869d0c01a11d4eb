"""The bounds of one attachment walk: the limits, and the expansion budget one message shares.

Used by :mod:`aupmilter.archives` (containers) and :mod:`aupmilter.documents` (documents, whose
parts archives hand over): a module of its own so that neither imports the other for them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_depth: int = 8
    max_members: int = 1000
    max_member_bytes: int = 25 << 20
    max_total_bytes: int = 100 << 20
    max_ratio: int = 200
    sniff_bytes: int = 1 << 20


@dataclass
class Budget:
    """Bytes expanded so far for one message; shared by every container in it."""

    limits: Limits
    expanded: int = 0

    def take(self, n: int) -> bool:
        self.expanded += n
        return self.expanded <= self.limits.max_total_bytes
