"""Who an SMTP login is, and which addresses it may send as (its own, or delegated to it)."""

from __future__ import annotations

from aupmilter.checks.identity.data import Login
from aupmilter.checks.identity.rules import Canonicaliser, IdentityRules
from aupmilter.config import Config
from aupmilter.model import domain_of


class Logins:
    """Logins and delegations of one configuration: a login's addresses, and what it may use."""

    def __init__(self, config: Config, rules: IdentityRules, canonical: Canonicaliser) -> None:
        self.config = config
        self.rules = rules
        self.canonical = canonical

    def login(self, text: str) -> Login:
        raw = text.strip().lower()
        rules = self.rules
        local, at, domain = raw.rpartition("@")
        if not at:
            local, domain = raw, ""
        for key in (raw, local):
            if key in rules.logins:
                return Login(frozenset({rules.logins[key]}), None, raw)
        if domain and self.config.is_org_domain(domain):
            return Login(frozenset({self.canonical(raw)}), None, raw)
        if domain and domain in rules.realms:
            return Login(frozenset({self.canonical(f"{local}@{rules.realms[domain]}")}), None, raw)
        if rules.default_domain:
            return Login(frozenset({self.canonical(f"{local}@{rules.default_domain}")}), None, raw)
        local = self.canonical(f"{local}@x").rpartition("@")[0]
        return Login(frozenset(), local, raw)

    def _owns(self, login: Login, address: str) -> bool:
        if address in login.addresses:
            return True
        local, _, domain = address.rpartition("@")
        return login.local is not None and local == login.local and self.config.is_org_domain(domain)

    def _same_person(self, a: Login, b: Login) -> bool:
        if a.raw == b.raw or a.addresses & b.addresses:
            return True
        if a.local is not None and (a.local == b.local or any(self._owns(a, x) for x in b.addresses)):
            return True
        return b.local is not None and any(self._owns(b, x) for x in a.addresses)

    def may_use(self, login: Login, address: str) -> bool:
        """Is ``address`` (canonical) one this login owns or has been delegated?"""
        if self._owns(login, address):
            return True
        org = self.config.is_org_domain(domain_of(address))
        for delegation in self.rules.delegations:
            if delegation.covers(address, org) and any(
                self._same_person(self.login(s), login) for s in delegation.senders
            ):
                return True
        return False
