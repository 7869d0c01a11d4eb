"""``rules/identity.toml`` and the site's ``[checks.identity]`` options, merged into :class:`IdentityRules`."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import regex

from aupmilter.checks import CheckSettings
from aupmilter.checks.identity.data import Delegation, Role, StaffMember
from aupmilter.config import Config
from aupmilter.errors import ConfigError
from aupmilter.normalise import fold, prepare
from aupmilter.webmail import load_webmail_domains

#: Keys a site may set in [checks.identity] (added to, or replacing, the rules file's).
SITE_KEYS = (
    "default_domain",
    "realms",
    "logins",
    "delegations",
    "staff",
    "report_unauthenticated",
    "recipient_delimiter",
    "freemail_domains",
    "relay_services",
)
#: Vocabulary only the rules file carries (a site that wants other roles ships its own rules_dir).
VOCAB_KEYS = ("honorifics", "subordinate_words", "on_behalf_phrases", "org_cue_words", "roles")
_ROLE_KEYS = ("phrases", "standalone", "needs_org_cue")
_DELEGATION_KEYS = ("mailbox", "senders", "note")
_STAFF_KEYS = ("name", "names", "address", "addresses", "roles")

_WORD = regex.compile(r"[\p{L}\p{N}@$]+")


# --- parsing the rules file and the site options ---------------------------------------------


class _Reader:
    """Typed access to one TOML table with errors naming the file and the key."""

    def __init__(self, data: Mapping[str, Any], source: str, prefix: str = "") -> None:
        self.data = data
        self.source = source
        self.prefix = prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def error(self, name: str, problem: str) -> ConfigError:
        return ConfigError(self.source, self.key(name), problem)

    def reject_unknown(self, allowed: Iterable[str]) -> None:
        unknown = sorted(set(self.data) - set(allowed))
        if unknown:
            raise self.error(unknown[0], "unknown key")

    def text(self, name: str, default: str) -> str:
        value = self.data.get(name, default)
        if not isinstance(value, str):
            raise self.error(name, f"expected a string, got {value!r}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            raise self.error(name, "expected true or false")
        return value

    def strings(self, name: str) -> list[str]:
        value = self.data.get(name, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.error(name, "expected a list of non-empty strings")
        return [v.strip() for v in value]

    def mapping(self, name: str) -> dict[str, str]:
        value = self.data.get(name, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self.error(name, 'expected a table of name = "value"')
        return {str(k).strip().lower(): v.strip().lower() for k, v in value.items()}

    def tables(self, name: str) -> list[_Reader]:
        value = self.data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error(name, f"expected an array of tables ([[{name}]])")
        return [_Reader(v, self.source, f"{self.key(name)}[{i}].") for i, v in enumerate(value)]


def _address_like(text: str) -> bool:
    local, at, domain = text.rpartition("@")
    return bool(at and local and "." in domain and " " not in text)


def name_tokens(text: str, honorifics: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """Folded word tokens of a name: case, accents, look-alike letters and leetspeak seen through."""
    return tuple(t for t in (fold(w) for w in _WORD.findall(prepare(text))) if t and t not in honorifics)


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


def _parse_roles(reader: _Reader) -> tuple[Role, ...]:
    table = reader.data.get("roles", {})
    if not isinstance(table, dict):
        raise reader.error("roles", "expected tables [roles.<name>]")
    roles = []
    for name, body in table.items():
        if not isinstance(body, dict):
            raise reader.error(f"roles.{name}", "expected a table")
        r = _Reader(body, reader.source, f"roles.{name}.")
        r.reject_unknown(_ROLE_KEYS)
        phrases = tuple(name_tokens(p) for p in r.strings("phrases"))
        standalone = tuple(name_tokens(p) for p in r.strings("standalone"))
        if not phrases and not standalone:
            raise r.error("phrases", "a role needs at least one phrase or standalone phrase")
        roles.append(Role(str(name), phrases, standalone, r.flag("needs_org_cue", False)))
    return tuple(roles)


def _check_mailbox(reader: _Reader, text: str) -> str:
    mailbox = text.strip().lower()
    if mailbox == "*" or (mailbox.startswith("*@") and "." in mailbox[2:]) or _address_like(mailbox):
        return mailbox
    raise reader.error("mailbox", f"expected an address, '*@domain' or '*', got {text!r}")


class _Builder:
    """Merges layers (rules file, then site options) into one :class:`IdentityRules`."""

    def __init__(self) -> None:
        self.default_domain = ""
        self.realms: dict[str, str] = {}
        self.logins: dict[str, str] = {}
        self.delegations: list[tuple[_Reader, str, list[str]]] = []
        self.staff: list[tuple[_Reader, list[str], list[str], list[str]]] = []
        self.report_unauthenticated = False
        self.recipient_delimiter = "+"
        self.honorifics: list[str] = []
        self.subordinate_words: list[str] = []
        self.on_behalf: list[str] = []
        self.org_cue_words: list[str] = []
        self.roles: tuple[Role, ...] = ()
        self.freemail: list[str] = []
        self.relay: list[str] = []

    def layer(self, reader: _Reader, vocabulary: bool) -> None:
        reader.reject_unknown(SITE_KEYS + (VOCAB_KEYS if vocabulary else ()))
        if "default_domain" in reader.data:
            self.default_domain = reader.text("default_domain", "").strip().lower()
        self.realms.update(reader.mapping("realms"))
        self.logins.update(reader.mapping("logins"))
        for name, address in reader.mapping("logins").items():
            if not _address_like(address):
                raise reader.error(f"logins.{name}", f"expected an address, got {address!r}")
        for d in reader.tables("delegations"):
            d.reject_unknown(_DELEGATION_KEYS)
            if "mailbox" not in d.data:
                raise d.error("mailbox", "is required")
            senders = d.strings("senders")
            if not senders:
                raise d.error("senders", "names nobody (list logins or addresses)")
            d.text("note", "")
            self.delegations.append((d, d.text("mailbox", ""), senders))
        for s in reader.tables("staff"):
            s.reject_unknown(_STAFF_KEYS)
            names = s.strings("name") + s.strings("names")
            addresses = s.strings("address") + s.strings("addresses")
            if not names:
                raise s.error("name", "is required")
            for a in addresses:
                if not _address_like(a):
                    raise s.error("addresses", f"not an address: {a!r}")
            self.staff.append((s, names, addresses, s.strings("roles")))
        if "report_unauthenticated" in reader.data:
            self.report_unauthenticated = reader.flag("report_unauthenticated", False)
        if "recipient_delimiter" in reader.data:
            delimiter = reader.text("recipient_delimiter", "+")
            if len(delimiter) > 1:
                raise reader.error("recipient_delimiter", "expected one character or empty")
            self.recipient_delimiter = delimiter
        self.freemail += [d.lower() for d in reader.strings("freemail_domains")]
        self.relay += [d.lower() for d in reader.strings("relay_services")]
        if vocabulary:
            self.honorifics += reader.strings("honorifics")
            self.subordinate_words += reader.strings("subordinate_words")
            self.on_behalf += reader.strings("on_behalf_phrases")
            self.org_cue_words += reader.strings("org_cue_words")
            self.roles = _parse_roles(reader)

    def build(self, canonical: Canonicaliser) -> IdentityRules:
        honorifics = frozenset(name_tokens(" ".join(self.honorifics)))
        role_names = {r.name for r in self.roles}
        staff = []
        for reader, names, addresses, roles in self.staff:
            unknown = sorted(set(roles) - role_names)
            if unknown:
                raise reader.error("roles", f"unknown role {unknown[0]!r} (known: {', '.join(sorted(role_names))})")
            folded = tuple(t for t in (name_tokens(n, honorifics) for n in names) if t)
            if not folded:
                raise reader.error("name", "has no letters once titles are removed")
            staff.append(StaffMember(folded, frozenset(canonical(a) for a in addresses), frozenset(roles)))
        delegations = tuple(
            Delegation(canonical(m) if _address_like(m) else m, tuple(s.lower() for s in senders))
            for m, senders in ((_check_mailbox(r, mailbox), senders) for r, mailbox, senders in self.delegations)
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
            subordinate_words=frozenset(name_tokens(" ".join(self.subordinate_words))),
            on_behalf_phrases=tuple(t for t in (name_tokens(p) for p in self.on_behalf) if t),
            org_cue_words=frozenset(name_tokens(" ".join(self.org_cue_words))),
            roles=self.roles,
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


def load_rules(settings: CheckSettings) -> IdentityRules:
    """The rules file, then the site's ``[checks.identity]`` options on top (lists add up)."""
    path: Path = settings.rules_dir / "identity.toml"
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(str(path), "", f"cannot load: {exc}") from None
    builder = _Builder()
    builder.freemail += sorted(load_webmail_domains(settings.rules_dir))
    builder.layer(_Reader(data, str(path)), vocabulary=True)
    options = {k: v for k, v in settings.options.items() if k != "enabled"}
    settings.reject_unknown(SITE_KEYS)
    builder.layer(_Reader(options, settings.source, ""), vocabulary=False)
    return builder.build(Canonicaliser(settings.config, builder.recipient_delimiter))
