"""``rules/identity.toml`` and the site's ``[checks.identity]`` options, merged into :class:`IdentityRules`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import regex

from aupmilter import schema
from aupmilter.checks.identity.data import Delegation, Role, StaffMember
from aupmilter.config import Config
from aupmilter.errors import ConfigError
from aupmilter.normalise import fold, prepare
from aupmilter.schema import ONE_OR_MANY, Invalid, setting
from aupmilter.webmail import load_webmail_domains

NAME_WORD = regex.compile(r"[\p{L}\p{N}@$]+")

#: A list of strings where one string is also accepted (``senders = "jsmith"``).
Strings = Annotated[tuple[str, ...], ONE_OR_MANY]


def address_like(text: str) -> bool:
    local, at, domain = text.rpartition("@")
    return bool(at and local and "." in domain and " " not in text)


def _nonempty(key: str, values: Iterable[str]) -> None:
    if not all(v.strip() for v in values):
        raise Invalid(key, "expected a list of non-empty strings")


def name_tokens(text: str, honorifics: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """Folded word tokens of a name: case, accents, look-alike letters and leetspeak seen through."""
    return tuple(t for t in (fold(w) for w in NAME_WORD.findall(prepare(text))) if t and t not in honorifics)


@dataclass(frozen=True)
class DelegationRule:
    mailbox: str = setting(doc="The mailbox sent as: an address, '*@domain' or '*'.")
    senders: Strings = setting((), doc="Logins or addresses allowed to send as it.")
    note: str = setting("", doc="Why (for the reviewer).")

    def validate(self) -> None:
        mailbox = self.mailbox.strip().lower()
        if not (mailbox == "*" or (mailbox.startswith("*@") and "." in mailbox[2:]) or address_like(mailbox)):
            raise Invalid("mailbox", f"expected an address, '*@domain' or '*', got {self.mailbox!r}")
        _nonempty("senders", self.senders)
        if not self.senders:
            raise Invalid("senders", "names nobody (list logins or addresses)")


@dataclass(frozen=True)
class StaffRule:
    name: Strings = setting((), doc="The person's name (as in display names).")
    names: Strings = setting((), doc="Other names they go by.")
    address: Strings = setting((), doc="Their address.")
    addresses: Strings = setting((), doc="Their other addresses.")
    roles: Strings = setting((), doc="Roles from the rules file's [roles] they hold.")

    def validate(self) -> None:
        for key in ("name", "names", "address", "addresses", "roles"):
            _nonempty(key, getattr(self, key))
        if not (self.name or self.names):
            raise Invalid("name", "is required")
        for a in (*self.address, *self.addresses):
            if not address_like(a.strip()):
                raise Invalid("addresses", f"not an address: {a!r}")


@dataclass(frozen=True)
class RoleRule:
    phrases: Strings = setting((), doc="Phrases naming the role in a display name.")
    standalone: Strings = setting((), doc="Phrases that name the role on their own.")
    needs_org_cue: bool = setting(False, doc="Only with a word naming the school or trust nearby.")

    def validate(self) -> None:
        _nonempty("phrases", (*self.phrases, *self.standalone))
        if not self.phrases and not self.standalone:
            raise Invalid("phrases", "a role needs at least one phrase or standalone phrase")


@dataclass(frozen=True)
class IdentityOptions:
    """``[checks.identity]``: the site's directory; lists add to the rules file's."""

    default_domain: str | None = setting(
        None, doc="Domain a bare SMTP login belongs to; empty: its local part at every trust domain."
    )
    realms: dict[str, str] = setting({}, doc="Table SASL realm = mail domain: login jsmith@realm is jsmith@domain.")
    logins: dict[str, str] = setting({}, doc="Table login = address, for logins that are not the mailbox name.")
    delegations: tuple[DelegationRule, ...] = setting(
        (), doc="[[...]] rows: mailbox (address, *@domain or *), senders (logins or addresses), note: send-as rights."
    )
    staff: tuple[StaffRule, ...] = setting(
        (),
        doc="[[...]] rows: name/names, address/addresses, roles: the directory outside display names are"
        " compared with.",
    )
    report_unauthenticated: bool | None = setting(
        None, doc="Record mail from inside with no SMTP login (relayed by address) as identity.unauthenticated."
    )
    recipient_delimiter: str | None = setting(
        None, doc="Local-part tag separator ignored when comparing addresses (rules file: +)."
    )
    freemail_domains: Strings = setting((), doc="Extra consumer webmail domains (added to the rules file's list).")
    relay_services: Strings = setting(
        (), doc="Extra services allowed to send in a staff member's name (added to the rules file's list)."
    )

    def validate(self) -> None:
        for name, address in self.logins.items():
            if not address_like(address.strip().lower()):
                raise Invalid(f"logins.{name}", f"expected an address, got {address!r}")
        if self.recipient_delimiter is not None and len(self.recipient_delimiter) > 1:
            raise Invalid("recipient_delimiter", "expected one character or empty")
        _nonempty("freemail_domains", self.freemail_domains)
        _nonempty("relay_services", self.relay_services)


@dataclass(frozen=True)
class IdentityFile(IdentityOptions):
    """``rules/identity.toml``: the site keys, plus the vocabulary only the rules file carries (a site
    that wants other roles ships its own rules_dir)."""

    honorifics: Strings = setting((), doc="Titles ignored in names (Mr, Mrs, Dr...).")
    subordinate_words: Strings = setting((), doc="Words that make a role subordinate (assistant to the head).")
    on_behalf_phrases: Strings = setting((), doc="Phrases saying the sender writes for someone else.")
    org_cue_words: Strings = setting((), doc="Words naming the organisation (school, academy, trust).")
    roles: dict[str, RoleRule] = setting({}, doc="Roles claimed in display names ([roles.<name>]).")


@dataclass(frozen=True)
class IdentityRules:
    """Everything the check knows, merged from the rules file and the site's options."""

    default_domain: str
    realms: Mapping[str, str]
    logins: Mapping[str, str]
    delegations: tuple[Delegation, ...]
    staff: tuple[StaffMember, ...]
    report_unauthenticated: bool
    recipient_delimiter: str
    honorifics: frozenset[str]
    subordinate_words: frozenset[str]
    on_behalf_phrases: tuple[tuple[str, ...], ...]
    org_cue_words: frozenset[str]
    roles: tuple[Role, ...]
    freemail_domains: frozenset[str]
    relay_services: frozenset[str]


class _Builder:
    """Merges layers (rules file, then site options) into one :class:`IdentityRules`."""

    def __init__(self) -> None:
        self.default_domain = ""
        self.realms: dict[str, str] = {}
        self.logins: dict[str, str] = {}
        self.delegations: list[DelegationRule] = []
        #: each staff row with where it was written (file, key of the row), for errors at build time
        self.staff: list[tuple[str, str, StaffRule]] = []
        self.report_unauthenticated = False
        self.recipient_delimiter = "+"
        self.freemail: list[str] = []
        self.relay: list[str] = []

    def layer(self, options: IdentityOptions, source: str, path: str) -> None:
        if options.default_domain is not None:
            self.default_domain = options.default_domain.strip().lower()
        self.realms.update({k.strip().lower(): v.strip().lower() for k, v in options.realms.items()})
        self.logins.update({k.strip().lower(): v.strip().lower() for k, v in options.logins.items()})
        self.delegations += options.delegations
        self.staff += [(source, f"{path}staff[{i}]", staff) for i, staff in enumerate(options.staff)]
        if options.report_unauthenticated is not None:
            self.report_unauthenticated = options.report_unauthenticated
        if options.recipient_delimiter is not None:
            self.recipient_delimiter = options.recipient_delimiter
        self.freemail += [d.strip().lower() for d in options.freemail_domains]
        self.relay += [d.strip().lower() for d in options.relay_services]

    def build(self, canonical: Canonicaliser, vocabulary: IdentityFile) -> IdentityRules:
        honorifics = frozenset(name_tokens(" ".join(vocabulary.honorifics)))
        roles = tuple(
            Role(
                name,
                tuple(name_tokens(p) for p in r.phrases),
                tuple(name_tokens(p) for p in r.standalone),
                r.needs_org_cue,
            )
            for name, r in vocabulary.roles.items()
        )
        role_names = {r.name for r in roles}
        staff = []
        for source, row, rule in self.staff:
            unknown = sorted(set(rule.roles) - role_names)
            if unknown:
                known = ", ".join(sorted(role_names))
                raise ConfigError(source, f"{row}.roles", f"unknown role {unknown[0]!r} (known: {known})")
            folded = tuple(t for t in (name_tokens(n, honorifics) for n in (*rule.name, *rule.names)) if t)
            if not folded:
                raise ConfigError(source, f"{row}.name", "has no letters once titles are removed")
            addresses = (a.strip() for a in (*rule.address, *rule.addresses))
            staff.append(StaffMember(folded, frozenset(canonical(a) for a in addresses), frozenset(rule.roles)))
        delegations = tuple(
            Delegation(canonical(m) if address_like(m) else m, tuple(s.strip().lower() for s in d.senders))
            for d in self.delegations
            for m in (d.mailbox.strip().lower(),)
        )
        return IdentityRules(
            default_domain=self.default_domain,
            realms=dict(self.realms),
            logins={k: canonical(v) for k, v in self.logins.items()},
            delegations=delegations,
            staff=tuple(staff),
            report_unauthenticated=self.report_unauthenticated,
            recipient_delimiter=self.recipient_delimiter,
            honorifics=honorifics,
            subordinate_words=frozenset(name_tokens(" ".join(vocabulary.subordinate_words))),
            on_behalf_phrases=tuple(t for t in (name_tokens(p) for p in vocabulary.on_behalf_phrases) if t),
            org_cue_words=frozenset(name_tokens(" ".join(vocabulary.org_cue_words))),
            roles=roles,
            freemail_domains=frozenset(self.freemail),
            relay_services=frozenset(self.relay),
        )


class Canonicaliser:
    """Addresses compared as mailboxes: lower case, ``+tag`` dropped, a school alias domain as the
    school's main domain (``j@oak-alias.example`` is ``j@oak.example``)."""

    def __init__(self, config: Config, delimiter: str) -> None:
        self.config = config
        self.delimiter = delimiter
        self.alias_to_main = {a: s.domain for s in config.schools for a in s.aliases}

    def __call__(self, address: str) -> str:
        address = address.strip().strip("<>").lower()
        local, at, domain = address.rpartition("@")
        if not at:
            return address
        if self.delimiter and self.delimiter in local:
            local = local.split(self.delimiter, 1)[0]
        domain = self.alias_to_main.get(domain.rstrip("."), domain.rstrip("."))
        return f"{local}@{domain}"


def load_rules(rules_dir: Path, config: Config, site: IdentityOptions | None = None) -> IdentityRules:
    """The rules file, then the site's ``[checks.identity]`` options on top (lists add up)."""
    path = rules_dir / "identity.toml"
    rules_file = schema.read_file(IdentityFile, path)
    builder = _Builder()
    builder.freemail += sorted(load_webmail_domains(rules_dir))
    builder.layer(rules_file, str(path), "")
    builder.layer(site or IdentityOptions(), config.source, "checks.identity.")
    return builder.build(Canonicaliser(config, builder.recipient_delimiter), rules_file)
