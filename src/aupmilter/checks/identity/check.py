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
from typing import ClassVar

import regex

from aupmilter.checks import CheckSettings
from aupmilter.checks.identity.logins import Logins
from aupmilter.checks.identity.names import NameReader
from aupmilter.checks.identity.rules import Canonicaliser, address_like, load_rules
from aupmilter.message import MessageView, parse_addresses
from aupmilter.model import Direction, Envelope, Finding, domain_of

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
    return [a for _, a in parse_addresses(value) if address_like(a)]


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
        self.rules = load_rules(settings.rules_dir, settings.config, settings.parsed)
        self.canonical = Canonicaliser(self.config, self.rules.recipient_delimiter)
        self.logins = Logins(self.config, self.rules, self.canonical)
        self.names = NameReader(self.config, self.rules)

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
        login = self.logins.login(envelope.auth_user)
        findings: list[Finding] = []
        from_value = _decoded_raw_header(message, "From") or ""
        from_addrs = [self.canonical(a) for a in _addresses(from_value)]
        for address in from_addrs:
            if not self.logins.may_use(login, address):
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
                if not self.logins.may_use(login, address):
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
        if envelope.sender and address_like(envelope.sender):
            env = self.canonical(envelope.sender)
            if from_addrs and env not in from_addrs and not self.logins.may_use(login, env):
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
        name = self.names.display_name(_display_text(from_value, _addresses(from_value)))
        if not name.tokens or name.on_behalf:
            return None
        full, _ = self.names.staff_matches(name)
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
        name = self.names.display_name(_display_text(from_value, addresses))
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
        full, weak = self.names.staff_matches(name)
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
