"""Who is running the quarantine CLI, and as which role: from the kernel, not from the caller.

Why: the CLI used to take its role from ``--role`` and its actor from ``$SUDO_USER``, so
``SUDO_USER=headteacher aupmilter quarantine unseal ID --role dpo`` unsealed a Personal item and
wrote the headteacher's name into the audit log.  Now

* the actor is the name of the process's *real* uid (``cli:<name>``);
* the role is the highest one whose OS groups (``[review.os_roles]`` in the config, e.g.
  ``dpo = ["aup-dpo"]``) include one of the process's real groups (``getgid`` and
  ``getgroups``: what the kernel granted at login, which no flag or variable can add to);
* a user in none of the mapped groups has no role and may only run the commands that need
  none (``purge``, run by the service's timer).

Under ``sudo`` the real uid is root's, so root's own groups decide (map a group root belongs
to, or run the CLI under your own account with the store's group).  This is deliberate:
``$SUDO_USER`` is an ordinary environment variable.
"""

from __future__ import annotations

import grp
import os
import pwd
from dataclasses import dataclass

from aupmilter.config import Config
from aupmilter.quarantine import Role

#: Lowest to highest: a user in several mapped groups gets the highest role.
ORDER = (Role.AUDITOR, Role.REVIEWER, Role.DPO)


@dataclass(frozen=True)
class CliIdentity:
    actor: str
    role: Role | None
    groups: tuple[str, ...]


def _group_names() -> tuple[str, ...]:
    names = []
    for gid in dict.fromkeys([os.getgid(), *os.getgroups()]):
        try:
            names.append(grp.getgrgid(gid).gr_name)
        except KeyError:
            names.append(str(gid))
    return tuple(names)


def current(config: Config) -> CliIdentity:
    uid = os.getuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = f"uid{uid}"
    groups = _group_names()
    role: Role | None = None
    for candidate in ORDER:
        if set(config.review.os_roles.get(candidate.value, ())) & set(groups):
            role = candidate
    return CliIdentity(f"cli:{name}", role, groups)
