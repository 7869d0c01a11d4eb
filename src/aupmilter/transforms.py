"""Rewrites applied to mail that is let through: the per-school disclaimer, then DKIM signing.

Built once per configuration load.  Order matters: any change to the body or signed headers must
happen before the signature, so signing is always the last transform.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aupmilter.config import Config
    from aupmilter.engine import Transform


def build(config: Config) -> list[Transform]:
    """Transforms enabled by ``config`` (none until the disclaimer/DKIM modules are configured)."""
    return []
