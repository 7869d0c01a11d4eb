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

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from aupmilter.checks import CheckSettings
from aupmilter.config import Config
from aupmilter.errors import ConfigError
from aupmilter.message import MessageView
from aupmilter.model import Direction, Envelope, Fact, Finding, domain_of

#: How many *earlier* messages from the same sender with the same normalised body the milter
#: process saw inside the repeat window: state the pure engine cannot keep, supplied by the
#: adapter (:func:`aupmilter.ratewindow.annotate`, ``aupmilter check --recent-identical``).  It
#: is 0 where nothing counts (tests, inbound mail, the check turned off).
RECENT_IDENTICAL: Fact[int] = Fact("mass_mailing.recent_identical", 0)
#: The highest ``repeat_report_at`` accepted: the adapter's counter keeps this many timestamps
#: per key, so a count saturates there and a higher threshold could never be reached.
REPEAT_COUNT_MAX = 100

_LIST_KEYS = frozenset({"address", "name", "senders", "require_auth"})
_OPTION_KEYS = (
    "recipients_report_at",
    "exposed_report_at",
    "repeat_report_at",
    "repeat_window_seconds",
    "restricted_lists",
)


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


def _positive_int(value: Any, source: str, key: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(source, key, f"expected a whole number from {low} to {high}, got {value!r}")
    return value


def _table(value: Any, source: str, key: str, allowed: Iterable[str]) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(source, key, "must be a table")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ConfigError(source, f"{key}.{unknown[0]}", "unknown key")
    return value


def _restricted_lists(value: Any, source: str, key: str) -> list[RestrictedList]:
    if not isinstance(value, list):
        raise ConfigError(source, key, "expected an array of tables ([[restricted_lists]])")
    lists = []
    for i, item in enumerate(value):
        where = f"{key}[{i}]"
        table = _table(item, source, where, _LIST_KEYS)
        address = table.get("address")
        if not isinstance(address, str) or "@" not in address:
            raise ConfigError(source, f"{where}.address", "expected the list's e-mail address")
        senders = table.get("senders", [])
        if not isinstance(senders, list) or not all(isinstance(s, str) and s.strip() for s in senders):
            raise ConfigError(source, f"{where}.senders", "expected a list of addresses or login names")
        name = table.get("name", address.partition("@")[0])
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(source, f"{where}.name", 'expected a short name such as "all staff"')
        require_auth = table.get("require_auth", False)
        if not isinstance(require_auth, bool):
            raise ConfigError(source, f"{where}.require_auth", "expected true or false")
        lists.append(
            RestrictedList(
                address.strip().strip("<>").lower(),
                name.strip(),
                frozenset(s.strip().lower() for s in senders),
                require_auth,
            )
        )
    return lists


class MassMailingCheck:
    name: ClassVar[str] = "mass_mailing"
    reads_content: ClassVar[bool] = False

    def __init__(self, settings: CheckSettings) -> None:
        settings.reject_unknown(_OPTION_KEYS)
        self.config: Config = settings.config
        path = settings.rules_dir / "mass_mailing.toml"
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(str(path), "", f"cannot load: {exc}") from None
        src = str(path)
        _table(data, src, "", ("recipients", "exposed", "repeat", "restricted_lists"))
        recipients = _table(data.get("recipients", {}), src, "recipients", ("report_at",))
        exposed = _table(data.get("exposed", {}), src, "exposed", ("report_at",))
        repeat = _table(data.get("repeat", {}), src, "repeat", ("report_at", "window_seconds"))
        lists = _restricted_lists(data.get("restricted_lists", []), src, "restricted_lists")

        def pick(option: str, table: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
            """The site option if set, else the rules file's value, each validated where it is written."""
            if option in settings.options:
                return _positive_int(settings.options[option], settings.source, option, low, high)
            return _positive_int(table.get(key, default), src, f"{option.split('_')[0]}.{key}", low, high)

        self.recipients_report_at = pick("recipients_report_at", recipients, "report_at", 51, 2, 1_000_000)
        self.exposed_report_at = pick("exposed_report_at", exposed, "report_at", 20, 2, 1_000_000)
        self.repeat_report_at = pick("repeat_report_at", repeat, "report_at", 5, 2, REPEAT_COUNT_MAX)
        #: Read by the milter adapter (aupmilter.ratewindow) to size its sliding window.
        self.repeat_window_seconds = pick("repeat_window_seconds", repeat, "window_seconds", 600, 1, 86_400)
        lists += _restricted_lists(settings.option("restricted_lists", []), settings.source, "restricted_lists")
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
