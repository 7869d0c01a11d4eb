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

from collections.abc import Iterable
from email.header import decode_header, make_header
from email.utils import getaddresses
from typing import ClassVar

import regex

from aupmilter.checks import CheckSettings
from aupmilter.checks.identity.data import DisplayName, Login, Role, RoleClaim, StaffMember
from aupmilter.checks.identity.rules import _WORD, Canonicaliser, _address_like, load_rules, name_tokens
from aupmilter.message import MessageView
from aupmilter.model import Direction, Envelope, Finding, domain_of
from aupmilter.normalise import fold, prepare

#: Where a display name splits into segments: "Mrs J Smith (Head)" is ["Mrs J Smith", "Head"].
_SEGMENT_SPLIT = regex.compile(r"[()\[\],;:|/<>\"{}\-–—•·]+")
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
