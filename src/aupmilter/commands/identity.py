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

Under ``sudo`` the real uid is root's (or the service user's with ``sudo -u``), so those
groups decide the role (``sudo -u aupmilter -g aup-dpo`` gives the dpo role, and sudoers says
who may ask for which group).  The person is still named: the kernel's audit login uid
(``/proc/self/loginuid``, set once at login by pam_loginuid and kept across sudo; an
unprivileged process cannot change it) makes the actor ``cli:<login> (as <real user>)``.
``$SUDO_USER`` is an ordinary environment variable and is never read.
"""

from __future__ import annotations

import grp
import os
import pwd
from dataclasses import dataclass
from pathlib import Path

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


def _name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid{uid}"


def login_uid() -> int | None:
    """The kernel's audit login uid, or None when unset (daemons, timers, containers)."""
    try:
        value = int(Path("/proc/self/loginuid").read_text().strip())
    except (OSError, ValueError):
        return None
    return None if value in (-1, 0xFFFFFFFF) else value


def current(config: Config) -> CliIdentity:
    uid = os.getuid()
    name = _name(uid)
    login = login_uid()
    if login is not None and login != uid:
        name = f"{_name(login)} (as {name})"
    groups = _group_names()
    role: Role | None = None
    for candidate in ORDER:
        if set(config.review.os_roles.get(candidate.value, ())) & set(groups):
            role = candidate
    return CliIdentity(f"cli:{name}", role, groups)
