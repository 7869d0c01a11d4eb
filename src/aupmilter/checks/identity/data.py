"""What the identity check knows and finds: logins, delegations, staff, roles, display-name claims."""

from __future__ import annotations

from dataclasses import dataclass

from aupmilter.model import domain_of

# --- data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Login:
    """Who an SMTP login (or a delegation's sender entry) is, as addresses it owns.

    ``local`` set means "this local part at every trust domain" (a bare login with no
    ``default_domain``); ``addresses`` are exact canonical addresses.
    """

    addresses: frozenset[str]
    local: str | None
    raw: str


@dataclass(frozen=True)
class Delegation:
    mailbox: str  # canonical address, "*@domain" or "*"
    senders: tuple[str, ...]

    def covers(self, address: str, org_domain: bool) -> bool:
        if self.mailbox == "*":
            return org_domain
        if self.mailbox.startswith("*@"):
            domain = domain_of(address)
            suffix = self.mailbox[2:]
            return domain == suffix or domain.endswith("." + suffix)
        return address == self.mailbox


@dataclass(frozen=True)
class StaffMember:
    names: tuple[tuple[str, ...], ...]  # folded tokens, honorifics removed
    addresses: frozenset[str]
    roles: frozenset[str]


@dataclass(frozen=True)
class Role:
    name: str
    phrases: tuple[tuple[str, ...], ...]
    standalone: tuple[tuple[str, ...], ...]
    needs_org_cue: bool


@dataclass(frozen=True)
class RoleClaim:
    role: str
    start: int
    end: int


@dataclass(frozen=True)
class DisplayName:
    """A From display name, folded into tokens, with the claims it makes."""

    tokens: tuple[str, ...]
    roles: tuple[str, ...]
    on_behalf: bool
    shown_domains: tuple[str, ...]  # trust domains shown as addresses or bare in the text
