"""Mass mailing and congestion: recipient counts, visible recipient lists, restricted lists, repeats.

What the policies say: do not "contribute to system congestion by sending trivial messages or
unnecessarily copying or forwarding e-mails to others who do not have a real need to receive
them" (001 4.4.3, 002, 003), nor "broadcast messages about lost property, sponsorship or
charitable appeals" (002, 003).  A gateway cannot judge need, but it can see scale, so this
check reports facts and the policy (``rules/policy.d/mass_mailing.toml``) decides.  It emits:

* ``mass_mailing.recipients`` — mail from inside to many distinct recipients (the envelope, or
  To/Cc when those list more: a client may split one message over several SMTP transactions).
  The *score is the count*, so the policy's ``min_score`` rows are the tiers (> 50 tag, > 200
  quarantine outbound) and a school moves them with its own ``[[schools.action]]`` rows.
* ``mass_mailing.exposed_recipients`` — outbound mail with many outside addresses *visible* in
  To/Cc: parents' addresses shared with each other because the list was not undisclosed (Bcc).
  Score = how many.
* ``mass_mailing.restricted_list`` — mail to a configured all-staff / all-parents list address
  from a sender not on that list's authorised senders.  Any direction: a list reachable from
  outside is exactly what must not be open.  The envelope sender only authorises mail that
  originated inside (authenticated or from an internal network), since anyone can write any
  MAIL FROM; ``require_auth = true`` accepts only the SMTP-authenticated login.
* ``mass_mailing.repeated`` — the Nth message with an identical body from one sender within the
  repeat window.  The count is a fact the milter adapter supplies (:data:`RECENT_IDENTICAL`,
  declared here and counted by :mod:`aupmilter.ratewindow`): the engine is pure and keeps no
  state.  Score = the count
  including this message.

It reads only the envelope, the To/Cc headers and that adapter fact — never body or subject — so
it is content-blind for sealing and runs on Personal-labelled mail too.  Evidence names counts
and list *names*, never an address.

Thresholds and lists live in ``rules/mass_mailing.toml``; a site overrides them in
``[checks.mass_mailing]`` (``recipients_report_at``, ``exposed_report_at``, ``repeat_report_at``,
``repeat_window_seconds``, ``[[checks.mass_mailing.restricted_lists]]``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from aupmilter import schema
from aupmilter.checks import CheckSettings, CheckSpec
from aupmilter.config import Config
from aupmilter.message import MessageView
from aupmilter.model import Direction, Envelope, Fact, Finding, domain_of
from aupmilter.schema import Invalid, setting

#: How many *earlier* messages from the same sender with the same normalised body the milter
#: process saw inside the repeat window: state the pure engine cannot keep, supplied by the
#: adapter (:func:`aupmilter.ratewindow.annotate`, ``aupmilter check --recent-identical``).  It
#: is 0 where nothing counts (tests, inbound mail, the check turned off).
RECENT_IDENTICAL: Fact[int] = Fact("mass_mailing.recent_identical", 0)
#: The highest ``repeat_report_at`` accepted: the adapter's counter keeps this many timestamps
#: per key, so a count saturates there and a higher threshold could never be reached.
REPEAT_COUNT_MAX = 100


@dataclass(frozen=True)
class RestrictedList:
    """A list address (all staff, all parents) and who may send to it."""

    address: str
    name: str
    senders: frozenset[str]
    require_auth: bool = False

    def authorises(self, envelope: Envelope) -> bool:
        if envelope.auth_user and envelope.auth_user.strip().lower() in self.senders:
            return True
        if self.require_auth:
            return False
        inside = envelope.direction in (Direction.OUTBOUND, Direction.INTERNAL)
        return inside and envelope.sender.strip().lower() in self.senders


@dataclass(frozen=True)
class RestrictedListRule:
    """``[[restricted_lists]]`` as written (rules file or ``[[checks.mass_mailing.restricted_lists]]``)."""

    address: str = setting(doc="The list's address, e.g. allstaff@school.example.")
    name: str = setting("", doc='A short name such as "all staff" (default: the local part).')
    senders: tuple[str, ...] = setting((), doc="Logins or addresses allowed to send to the list.")
    require_auth: bool = setting(False, doc="Only an SMTP login among senders counts (not the envelope sender).")

    def validate(self) -> None:
        if "@" not in self.address:
            raise Invalid("address", "expected the list's e-mail address")
        if not all(s.strip() for s in self.senders):
            raise Invalid("senders", "expected a list of addresses or login names")

    def built(self) -> RestrictedList:
        address = self.address.strip().strip("<>").lower()
        name = self.name.strip() or address.partition("@")[0]
        return RestrictedList(address, name, frozenset(s.strip().lower() for s in self.senders), self.require_auth)


_COUNT = 1_000_000


@dataclass(frozen=True)
class ReportAt:
    report_at: int = setting(doc="Count at which the message is recorded.", minimum=2, maximum=_COUNT)


@dataclass(frozen=True)
class RepeatRule:
    report_at: int = setting(5, minimum=2, maximum=REPEAT_COUNT_MAX, doc="Nth identical message that is recorded.")
    window_seconds: int = setting(600, minimum=1, maximum=86_400, doc="Sliding window the repeats are counted in.")


@dataclass(frozen=True)
class MassMailingRules:
    """``rules/mass_mailing.toml``."""

    recipients: ReportAt = setting(ReportAt(51), doc="Distinct recipients of one message from inside.")
    exposed: ReportAt = setting(ReportAt(20), doc="Outside addresses shown in To/Cc of outbound mail.")
    repeat: RepeatRule = setting(RepeatRule(), doc="Identical messages from one sender.")
    restricted_lists: tuple[RestrictedListRule, ...] = setting((), doc="Lists only some may send to.")


@dataclass(frozen=True)
class MassMailingOptions:
    """``[checks.mass_mailing]``: each threshold overrides the rules file's when set."""

    recipients_report_at: int | None = setting(
        None,
        minimum=2,
        maximum=_COUNT,
        doc="Record mail from inside to this many distinct recipients or more (rules file: 51).",
    )
    exposed_report_at: int | None = setting(
        None,
        minimum=2,
        maximum=_COUNT,
        doc="Record outbound mail showing this many outside addresses in To/Cc (rules file: 20).",
    )
    repeat_report_at: int | None = setting(
        None,
        minimum=2,
        maximum=REPEAT_COUNT_MAX,
        doc="Record the Nth identical message from one sender in the window"
        f" (rules file: 5; at most {REPEAT_COUNT_MAX}).",
    )
    repeat_window_seconds: int | None = setting(
        None,
        minimum=1,
        maximum=86_400,
        doc="Sliding window the milter counts repeats in, per process, in memory (rules file: 600).",
    )
    restricted_lists: tuple[RestrictedListRule, ...] = setting(
        (), doc="[[...]] rows: address, name, senders (logins or addresses), require_auth: who may mail a list."
    )


class MassMailingCheck:
    name: ClassVar[str] = "mass_mailing"

    def __init__(self, settings: CheckSettings) -> None:
        options: MassMailingOptions = settings.parsed or MassMailingOptions()
        self.config: Config = settings.config
        rules = schema.read_file(MassMailingRules, settings.rules_dir / "mass_mailing.toml")
        self.recipients_report_at = options.recipients_report_at or rules.recipients.report_at
        self.exposed_report_at = options.exposed_report_at or rules.exposed.report_at
        self.repeat_report_at = options.repeat_report_at or rules.repeat.report_at
        #: Read by the milter adapter (aupmilter.ratewindow) to size its sliding window.
        self.repeat_window_seconds = options.repeat_window_seconds or rules.repeat.window_seconds
        lists = [row.built() for row in (*rules.restricted_lists, *options.restricted_lists)]
        self.restricted_lists: dict[str, RestrictedList] = {rl.address: rl for rl in lists}

    def run(self, envelope: Envelope, message: MessageView) -> Iterable[Finding]:
        findings = self._restricted(envelope)
        if envelope.direction not in (Direction.OUTBOUND, Direction.INTERNAL):
            return findings  # inbound volume is not staff use of the school's e-mail
        visible = _header_addresses(message)
        envelope_count = len({r.strip().strip("<>").lower() for r in envelope.recipients if r.strip()})
        count = max(envelope_count, len(visible))
        if count >= self.recipients_report_at:
            findings.append(
                Finding(
                    "mass_mailing.recipients",
                    "mass_mailing.recipients",
                    float(count),
                    f"{count} recipients (envelope {envelope_count}, To/Cc {len(visible)})",
                    "envelope",
                )
            )
        if envelope.direction is Direction.OUTBOUND:
            outside = [a for a in visible if not self.config.is_org_domain(domain_of(a))]
            if len(outside) >= self.exposed_report_at:
                findings.append(
                    Finding(
                        "mass_mailing.exposed_recipients",
                        "mass_mailing.exposed_recipients",
                        float(len(outside)),
                        f"{len(outside)} outside addresses visible to each other in To/Cc (not Bcc)",
                        "header:To/Cc",
                    )
                )
        earlier = envelope.fact(RECENT_IDENTICAL)
        total = earlier + 1
        if earlier > 0 and total >= self.repeat_report_at:
            findings.append(
                Finding(
                    "mass_mailing.repeated",
                    "mass_mailing.repeated",
                    float(total),
                    f"{total} identical messages from this sender within {self.repeat_window_seconds}s",
                    "envelope",
                )
            )
        return findings

    def _restricted(self, envelope: Envelope) -> list[Finding]:
        if not self.restricted_lists:
            return []
        hit = {r.strip().strip("<>").lower() for r in envelope.recipients} & self.restricted_lists.keys()
        findings = []
        for address in sorted(hit):
            rl = self.restricted_lists[address]
            if not rl.authorises(envelope):
                findings.append(
                    Finding(
                        "mass_mailing.restricted_list",
                        "mass_mailing.restricted_list",
                        1.0,
                        f'restricted list "{rl.name}": sender not authorised',
                        "envelope",
                    )
                )
        return findings


def _header_addresses(message: MessageView) -> set[str]:
    """Distinct addresses in To and Cc (group syntax such as ``undisclosed-recipients:;`` adds none)."""
    return {addr.strip().lower() for _, addr in message.addresses("To", "Cc") if "@" in addr}


SPEC = CheckSpec(
    summary="Mass mailing: many recipients, exposed outside addresses, repeats, restricted lists.",
    factory=MassMailingCheck,
    reads_content=False,
    order=60,
    options=MassMailingOptions,
    rules_files=("mass_mailing.toml",),
    facts=(RECENT_IDENTICAL,),
    emits={
        "mass_mailing.recipients": "Mail from inside to many distinct recipients.",
        "mass_mailing.exposed_recipients": "Outbound mail showing many outside addresses in To/Cc.",
        "mass_mailing.repeated": "The Nth identical message from one sender in the window.",
        "mass_mailing.restricted_list": "Mail to a restricted list from someone not allowed to send to it.",
    },
)
