"""Sender identity: another person's address, an assumed name, and outside impersonation of staff.

What the policies say: staff must not "send messages from another person's e-mail address (unless
authorised) or under an assumed name" (001 4.4.4, 002, 003, 004 #13).  The gateway can see two
halves of that:

* **Mail from inside, authenticated.**  Postfix passes the SMTP login (``{auth_authen}``).  The
  header ``From`` and ``Sender`` addresses, and the envelope sender, must be ones that login may
  use: its own mailbox or one *delegated* to it (a shared ``office@`` mailbox, the head's PA
  sending as the head, a system account sending as anyone at a domain).  Findings:
  ``identity.from_mismatch``, ``identity.sender_mismatch``, ``identity.envelope_mismatch``, and
  ``identity.assumed_name`` when the From display name is a *different* member of staff or a role
  that the From mailbox does not hold (needs the staff directory).
* **Mail from outside.**  Fraud poses as the head or the bursar with a consumer webmail address
  ("Headteacher <x@gmail.com>", "Mrs J Smith (Head)"), or puts a school address in the display
  name ("head@school.sch.uk <evil@x.com>").  Findings: ``identity.impersonation.address``,
  ``identity.impersonation.staff``, ``identity.impersonation.role``.

What counts as a login's own address is deliberately forgiving, because the cost of a wrong
mismatch is a tagged message from the office every day: a bare login (or one in a SASL realm that
is not a trust domain) may use that local part at every trust domain unless ``default_domain``
pins it; ``+tags`` are ignored; a school's alias domains are the same mailbox.  Mail from inside
with no login (printers and the MIS relaying by IP) is not an identity question the gateway can
answer: it is only reported, as the accept-by-default ``identity.unauthenticated``, when a site
asks for it.

Outside, a role word alone from a company domain is a job title, not a claim ("Head of Sales",
another school's head): a claim needs a consumer webmail domain, or a staff name, or a trust
address in the display name.  Messages that say they are sent *for* someone ("via ParentMail",
"on behalf of") and the notification services in ``relay_services`` are honest labels.

The check reads headers only (``reads_content = False``), so it also runs on sealed personal mail:
who sent a message is not its content.  Evidence never contains an address beyond its domain, nor
a staff member's name: it says *which kind* of claim was made and from what kind of domain.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.utils import getaddresses
from pathlib import Path
from typing import Any, ClassVar

import regex

from aupmilter.checks import CheckSettings
from aupmilter.config import Config
from aupmilter.errors import ConfigError
from aupmilter.message import MessageView
from aupmilter.model import Direction, Envelope, Finding, domain_of
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

#: Where a display name splits into segments: "Mrs J Smith (Head)" is ["Mrs J Smith", "Head"].
_SEGMENT_SPLIT = regex.compile(r"[()\[\],;:|/<>\"{}\-–—•·]+")
_WORD = regex.compile(r"[\p{L}\p{N}@$]+")
_ADDRESS_IN_TEXT = regex.compile(r"[\p{L}\p{N}._%+'-]+@((?:[\p{L}\p{N}-]+\.)+[\p{L}\p{N}-]+)")
#: Generic words in school names that do not identify a school ("Oakfield Primary School").
_GENERIC_NAME_WORDS = frozenset(
    {
        "the",
        "of",
        "and",
        "st",
        "saint",
        "primary",
        "secondary",
        "junior",
        "infant",
        "infants",
        "nursery",
        "school",
        "schools",
        "academy",
        "academies",
        "trust",
        "learning",
        "multi",
        "church",
        "england",
        "ce",
        "rc",
        "catholic",
        "high",
        "college",
        "community",
        "federation",
        "foundation",
        "upper",
        "lower",
        "middle",
        "grammar",
        "free",
        "studio",
        "demo",
    }
)


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


# --- the check ----------------------------------------------------------------------------------


def _decoded_raw_header(message: MessageView, name: str) -> str | None:
    """The raw header, unfolded and RFC 2047 decoded, *with* comments: the parsed header drops
    ``(Head)`` from ``Mrs J Smith (Head) <x@gmail.com>``, which is exactly the claim we look for."""
    value = message.raw_header(name)
    if value is None:
        return None
    text = " ".join(value.split())
    if not text.isascii():  # raw 8-bit (RFC 6532) header: the parser kept bytes as surrogates
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    try:
        return str(make_header(decode_header(text)))
    except Exception:
        return text


def _addresses(value: str) -> list[str]:
    try:
        pairs = getaddresses([value])
    except Exception:
        return []
    return [a for _, a in pairs if _address_like(a)]


def _display_text(value: str, addresses: Iterable[str]) -> str:
    """The header minus its address specs: the display name and any comments."""
    text = value
    for address in addresses:
        escaped = regex.escape(address)
        text, angled = regex.subn(rf"<\s*{escaped}\s*>", " ", text, flags=regex.IGNORECASE)
        if not angled and "<" not in text:  # bare form: "x@gmail.com (Headteacher)"
            text = regex.sub(escaped, " ", text, count=1, flags=regex.IGNORECASE)
    return text


class IdentityCheck:
    name: ClassVar[str] = "identity"
    reads_content: ClassVar[bool] = False

    def __init__(self, settings: CheckSettings) -> None:
        self.config = settings.config
        self.rules = load_rules(settings)
        self.canonical = Canonicaliser(self.config, self.rules.recipient_delimiter)
        self.org_domains = frozenset(self.config.org_domains)
        school_words = set()
        for school in self.config.schools:
            for domain in school.domains:
                school_words.add(fold(domain.split(".", 1)[0]))
            school_words.update(name_tokens(school.name))
        school_words.update(name_tokens(self.config.org_name))
        self.org_cues = frozenset(w for w in school_words if w not in _GENERIC_NAME_WORDS and len(w) > 2) | (
            self.rules.org_cue_words
        )
        self.role_by_name = {r.name: r for r in self.rules.roles}
        # Surnames of staff holding each role: a standalone role word followed by one of them is a
        # title ("Principal Okafor"), not a job noun ("Principal Consultant").
        self.role_surnames = {
            r.name: frozenset(n[-1] for m in self.rules.staff if r.name in m.roles for n in m.names if n)
            for r in self.rules.roles
        }

    # --- who is who ---------------------------------------------------------------------------

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

    # --- display names ------------------------------------------------------------------------

    def display_name(self, text: str) -> DisplayName:
        rules = self.rules
        shown = []
        for m in _ADDRESS_IN_TEXT.finditer(text):
            domain = m.group(1).lower().rstrip(".")
            if self.config.is_org_domain(domain):
                shown.append(domain)
        lowered = text.lower()
        for domain in self.org_domains:
            if regex.search(rf"(?<![\w.-]){regex.escape(domain)}(?![\w-])", lowered):
                shown.append(domain)
        segments = [
            tuple(t for t in (fold(w) for w in _WORD.findall(prepare(seg))) if t) for seg in _SEGMENT_SPLIT.split(text)
        ]
        segments = [s for s in segments if s]
        flat = tuple(t for s in segments for t in s)
        on_behalf = any(_contains(flat, p) for p in rules.on_behalf_phrases)
        roles: list[str] = []
        cued = any(t in self.org_cues for t in flat)
        for seg in segments:
            for claim in self._role_claims(seg, cued):
                if claim.role not in roles:
                    roles.append(claim.role)
        return DisplayName(flat, tuple(roles), on_behalf, tuple(dict.fromkeys(shown)))

    def _role_claims(self, seg: tuple[str, ...], cued: bool) -> list[RoleClaim]:
        """Longest role phrase at each position, kept when it is a claim (see module docstring)."""
        claims: list[RoleClaim] = []
        i = 0
        while i < len(seg):
            best: tuple[int, Role, bool] | None = None
            for role in self.rules.roles:
                for phrase, standalone in [(p, False) for p in role.phrases] + [(p, True) for p in role.standalone]:
                    n = len(phrase)
                    if seg[i : i + n] == phrase and (best is None or n > best[0]):
                        best = (n, role, standalone)
            if best is None:
                i += 1
                continue
            n, role, standalone = best
            if self._is_claim(seg, i, i + n, role, standalone, cued):
                claims.append(RoleClaim(role.name, i, i + n))
            i += n
        return claims

    def _is_claim(self, seg: tuple[str, ...], start: int, end: int, role: Role, standalone: bool, cued: bool) -> bool:
        """``cued``: the display name as a whole names a school or the trust ("CEO, Demo Trust")."""
        before = [t for t in seg[max(0, start - 2) : start] if t != "the"]
        if before and before[-1] in self.rules.subordinate_words:
            return False  # "PA to the Headteacher", "Office of the Bursar"
        after = seg[end:]
        if after and after[0] in ("of", "at"):
            rest = [t for t in after[1:] if t != "the"]
            if not rest or rest[0] not in self.org_cues:
                return False  # "Head of Sales", "Deputy Head of Year 9": somebody else's remit
        elif standalone and after and after[0] not in self.org_cues:
            if after[0] in self.role_surnames.get(role.name, frozenset()):
                return not role.needs_org_cue or cued  # "Principal Okafor": a title before the holder's name
            return False  # "Principal Consultant", "Head Girl"
        return not role.needs_org_cue or cued

    def staff_matches(self, name: DisplayName) -> tuple[list[StaffMember], list[StaffMember]]:
        """(full-name matches, weak matches: initial or title + surname) in the directory."""
        tokens = tuple(t for t in name.tokens if t not in self.rules.honorifics)
        full: list[StaffMember] = []
        weak: list[StaffMember] = []
        titled = any(t in self.rules.honorifics for t in name.tokens)
        for member in self.rules.staff:
            if any(_name_in(tokens, n) for n in member.names):
                full.append(member)
            elif any(_weak_name_in(tokens, n, titled) for n in member.names):
                weak.append(member)
        return full, weak

    # --- run ------------------------------------------------------------------------------------

    def run(self, envelope: Envelope, message: MessageView) -> Iterable[Finding]:
        if envelope.direction is Direction.INBOUND:
            return self._inbound(message)
        if envelope.direction in (Direction.OUTBOUND, Direction.INTERNAL):
            return self._from_inside(envelope, message)
        return []

    def _from_inside(self, envelope: Envelope, message: MessageView) -> list[Finding]:
        if not envelope.auth_user:
            if self.rules.report_unauthenticated and envelope.client_addr is not None:
                return [
                    Finding(
                        "identity.unauthenticated",
                        "identity.unauthenticated",
                        0.1,
                        "sent from inside without an SMTP login (relayed by network address)",
                        "envelope",
                    )
                ]
            return []
        login = self.login(envelope.auth_user)
        findings: list[Finding] = []
        from_value = _decoded_raw_header(message, "From") or ""
        from_addrs = [self.canonical(a) for a in _addresses(from_value)]
        for address in from_addrs:
            if not self.may_use(login, address):
                findings.append(
                    Finding(
                        "identity.from_mismatch",
                        "identity.from_mismatch",
                        1.0,
                        f"From is {self._describe(address)}, not the login's own and not delegated to it",
                        "header:From",
                    )
                )
                break
        sender_value = _decoded_raw_header(message, "Sender")
        if sender_value is not None:
            for address in (self.canonical(a) for a in _addresses(sender_value)):
                if not self.may_use(login, address):
                    findings.append(
                        Finding(
                            "identity.sender_mismatch",
                            "identity.sender_mismatch",
                            1.0,
                            f"Sender is {self._describe(address)}, not the login's own and not delegated to it",
                            "header:Sender",
                        )
                    )
                    break
        if envelope.sender and _address_like(envelope.sender):
            env = self.canonical(envelope.sender)
            if from_addrs and env not in from_addrs and not self.may_use(login, env):
                findings.append(
                    Finding(
                        "identity.envelope_mismatch",
                        "identity.envelope_mismatch",
                        1.0,
                        f"envelope sender is {self._describe(env)}, differs from From, not the login's own",
                        "envelope",
                    )
                )
        if from_addrs and self.rules.staff:
            assumed = self._assumed_name(from_value, from_addrs[0])
            if assumed:
                findings.append(Finding("identity.assumed_name", "identity.assumed_name", 1.0, assumed, "header:From"))
        return findings

    def _describe(self, address: str) -> str:
        domain = domain_of(address)
        if self.config.is_org_domain(domain):
            return f"another trust mailbox ({domain})"
        return f"outside the trust ({domain or 'no domain'})"

    def _assumed_name(self, from_value: str, address: str) -> str | None:
        name = self.display_name(_display_text(from_value, _addresses(from_value)))
        if not name.tokens or name.on_behalf:
            return None
        full, _ = self.staff_matches(name)
        if full and not any(address in m.addresses for m in full):
            return "From display name is another member of staff in the directory, not the From mailbox's holder"
        holders = {r: [m for m in self.rules.staff if r in m.roles] for r in name.roles}
        for role, members in holders.items():
            if members and not any(address in m.addresses for m in members):
                return f"From display name claims role '{role}', which the From mailbox does not hold"
        return None

    def _inbound(self, message: MessageView) -> list[Finding]:
        from_value = _decoded_raw_header(message, "From")
        if not from_value:
            return []
        addresses = _addresses(from_value)
        if not addresses:
            return []
        domain = domain_of(addresses[0])
        if not domain or self.config.is_org_domain(domain):
            return []  # a trust address itself: spoofing the domain is SPF/DMARC's question
        freemail = domain in self.rules.freemail_domains
        relay = any(domain == d or domain.endswith("." + d) for d in self.rules.relay_services)
        name = self.display_name(_display_text(from_value, addresses))
        if (name.on_behalf or relay) and not freemail:
            return []
        kind = "external webmail domain" if freemail else "external domain"
        where = f"sent from {kind} {domain}"
        if name.shown_domains:
            return [
                Finding(
                    "identity.impersonation.address",
                    "identity.impersonation",
                    1.0,
                    f"display name shows a trust address ({name.shown_domains[0]}), {where}",
                    "header:From",
                )
            ]
        full, weak = self.staff_matches(name)
        if (full or (weak and name.roles)) and (freemail or name.roles):
            held = sorted({r for m in (full or weak) for r in m.roles} | set(name.roles))
            role_text = f" (role {', '.join(held)})" if held else ""
            return [
                Finding(
                    "identity.impersonation.staff",
                    "identity.impersonation",
                    1.0,
                    f"display name matches a staff member in the directory{role_text}, {where}",
                    "header:From",
                )
            ]
        if name.roles and freemail:
            return [
                Finding(
                    "identity.impersonation.role",
                    "identity.impersonation",
                    1.0,
                    f"display name claims role '{name.roles[0]}', {where}",
                    "header:From",
                )
            ]
        return []


def _contains(tokens: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tokens[i : i + n] == phrase for i in range(len(tokens) - n + 1))


def _name_in(tokens: tuple[str, ...], name: tuple[str, ...]) -> bool:
    """Full name: all its words in order (one middle initial allowed), or "Surname, First"."""
    if len(name) == 1:
        return _contains(tokens, name)
    first, last = name[0], name[-1]
    if _contains(tokens, name) or _contains(tokens, (last, first)):
        return True
    for i, t in enumerate(tokens):
        if t == first and i + 2 < len(tokens) and len(tokens[i + 1]) == 1 and tokens[i + 2] == last:
            return True
    return False


def _weak_name_in(tokens: tuple[str, ...], name: tuple[str, ...], titled: bool) -> bool:
    """Initial + surname ("J Smith"), or a title + surname ("Mrs Smith"): only counts with a role."""
    if len(name) < 2:
        return False
    first, last = name[0], name[-1]
    if _contains(tokens, (first[0], last)):
        return True
    return titled and last in tokens
