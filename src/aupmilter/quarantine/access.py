"""Who may do what with quarantined mail (policies 002/004: monitoring data is seen only by
authorised staff; personal mail is opened only exceptionally, for a recorded reason).

* ``auditor``: metadata only (sender, recipients, date, findings) — never content.
* ``reviewer``: content of items that are not sealed; release and delete.
* ``dpo``: everything a reviewer may do, plus unsealing Personal/Private items (with a written
  reason) and reading the audit log.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    AUDITOR = "auditor"
    REVIEWER = "reviewer"
    DPO = "dpo"


PERMISSIONS: dict[str, frozenset[Role]] = {
    "metadata": frozenset(Role),
    "content": frozenset({Role.REVIEWER, Role.DPO}),
    "release": frozenset({Role.REVIEWER, Role.DPO}),
    "delete": frozenset({Role.REVIEWER, Role.DPO}),
    "unseal": frozenset({Role.DPO}),
    "audit": frozenset({Role.DPO}),
}


class AccessDenied(PermissionError):
    """The role may not do this."""


def allowed(role: Role, permission: str) -> bool:
    return role in PERMISSIONS[permission]


def require(role: Role, permission: str) -> None:
    if not allowed(role, permission):
        raise AccessDenied(f"role {role.value!r} may not {permission}")
