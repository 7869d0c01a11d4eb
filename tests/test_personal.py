"""Personal use per school: modes, working-hours edges (incl. clock changes), coaching."""

from __future__ import annotations

import datetime as dt
import tomllib
from typing import Any

import pytest

from aupmilter.config import parse_config
from aupmilter.engine import Ruleset, evaluate
from aupmilter.message import MessageView
from aupmilter.model import Action, Envelope
from aupmilter.ruleset import build_ruleset

SITE = """
[organisation]
name = "T"
internal_networks = ["10.0.0.0/8"]

[[schools]]
domain = "oak.example"
name = "Oak School"
personal_use = "allowed_with_label"
[schools.working_hours]
days = ["mon", "tue", "wed", "thu", "fri"]
start = "08:00"
end = "17:00"
breaks = ["12:00-13:00"]
holidays = ["2026-12-25", "2026-05-04"]

[[schools]]
domain = "birch.example"
name = "Birch Academy"
personal_use = "prohibited"

[[schools]]
domain = "elm.example"
name = "Elm School"
personal_use = "allowed"
"""


def ruleset(extra: str = "", checks: dict[str, Any] | None = None) -> Ruleset:
    data = tomllib.loads(SITE + extra)
    if checks:
        data["checks"] = checks
    return build_ruleset(parse_config(data, "site.toml"))


RS = ruleset()


def decide(
    subject: str,
    sender: str,
    rcpt: str,
    when: dt.datetime | None,
    rs: Ruleset = RS,
    client: str = "10.1.1.1",
):  # type: ignore[no-untyped-def]
    raw = f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n\r\nHello\r\n".encode()
    env = Envelope(sender, (rcpt,), client_addr=client, received_at=when)
    return evaluate(env, MessageView(raw), rs)


def london(y: int, mo: int, d: int, h: int, mi: int) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime(y, mo, d, h, mi, tzinfo=ZoneInfo("Europe/London"))


def rules(decision) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.rule for f in decision.findings]


@pytest.mark.parametrize(
    ("when", "inside"),
    [
        (london(2026, 11, 20, 16, 59), True),  # Friday 16:59
        (london(2026, 11, 20, 17, 1), False),  # Friday 17:01
        (london(2026, 11, 20, 7, 59), False),  # before work
        (london(2026, 11, 20, 12, 30), False),  # lunch break (000: "usual break time")
        (london(2026, 11, 20, 13, 0), True),
        (london(2026, 11, 21, 10, 0), False),  # Saturday
        (london(2026, 12, 25, 10, 0), False),  # holiday (Christmas Day, a Friday)
        (london(2026, 5, 4, 10, 0), False),  # early May bank holiday
        # Clock-change days: 29 March 2026 (BST starts) and 25 October 2026 (GMT returns) are
        # Sundays; the Mondays after are the days a fixed UTC offset would get wrong.
        (dt.datetime(2026, 3, 30, 7, 30, tzinfo=dt.UTC), True),  # 08:30 BST, inside
        (dt.datetime(2026, 3, 30, 16, 30, tzinfo=dt.UTC), False),  # 17:30 BST, outside
        (dt.datetime(2026, 10, 26, 7, 30, tzinfo=dt.UTC), False),  # 07:30 GMT, outside
        (dt.datetime(2026, 10, 26, 16, 30, tzinfo=dt.UTC), True),  # 16:30 GMT, inside
    ],
)
def test_working_hours_edges(when: dt.datetime, inside: bool) -> None:
    d = decide("[Personal] tea", "t@oak.example", "f@gmail.com", when)
    assert ("personal.working_hours" in rules(d)) is inside
    assert d.action is Action.TAG  # a finding to report, never a block (issue 7)


def test_prohibited_school_blocks_labelled_outbound_with_its_rule() -> None:
    d = decide("Personal: weekend", "t@birch.example", "f@gmail.com", london(2026, 11, 21, 10, 0))
    assert d.action is Action.BLOCK
    assert "personal.prohibited" in rules(d)
    assert d.smtp_reply is not None
    reply = str(d.smtp_reply)
    assert reply.startswith("550 5.7.1") and "Birch Academy" in reply
    assert "strictly prohibited from using the school's e-mail facility for personal" in reply


def test_prohibited_school_receiving_personal_mail_is_not_blocked() -> None:
    d = decide("Personal: hi", "f@gmail.com", "t@birch.example", None, client="198.51.100.1")
    assert d.action is Action.TAG
    assert "personal.prohibited" not in rules(d)


def test_allowed_mode_has_no_working_hours_finding_only_the_label() -> None:
    d = decide("[Personal] x", "t@elm.example", "f@gmail.com", london(2026, 11, 20, 10, 0))
    assert rules(d) == ["personal.label"]


def test_inbound_personal_mail_never_gets_working_hours_finding() -> None:
    d = decide(
        "[Personal] x",
        "f@gmail.com",
        "t@oak.example",
        london(2026, 11, 20, 10, 0),
        client="198.51.100.1",
    )
    assert rules(d) == ["personal.label"]


def test_coaching_is_off_by_default_and_tags_when_on() -> None:
    when = london(2026, 11, 21, 10, 0)
    assert rules(decide("Sunday lunch?", "t@oak.example", "f@gmail.com", when)) == []
    rs = ruleset(checks={"personal": {"coach_unlabelled": True}})
    d = decide("Sunday lunch?", "t@oak.example", "f@gmail.com", when, rs)
    assert rules(d) == ["personal.unlabelled"] and d.action is Action.TAG
    # School business to a parent's webmail address is not coached.
    assert rules(decide("Year 5 trip consent", "t@oak.example", "f@gmail.com", when, rs)) == []
    # Recipients at a school or business domain are not coached.
    assert rules(decide("Sunday lunch?", "t@oak.example", "f@council.gov.uk", when, rs)) == []


def test_unknown_personal_option_is_a_config_error() -> None:
    from aupmilter.errors import ConfigError

    with pytest.raises(ConfigError, match="coach_unlabeled"):
        ruleset(checks={"personal": {"coach_unlabeled": True}})


def test_sealed_message_still_goes_through_content_checks() -> None:
    """A labelled message is sealed from people, not from checks that read content (issue 17)."""
    from collections.abc import Iterable
    from typing import ClassVar

    from aupmilter.model import Finding

    calls: list[str] = []

    class ReadsBody:
        name: ClassVar[str] = "probe"
        reads_content: ClassVar[bool] = True

        def run(self, envelope: Envelope, message: MessageView) -> Iterable[Finding]:
            calls.append(message.subject)
            return []

    rs = ruleset()
    rs.checks.append(ReadsBody())
    d = decide("[Private] medical", "t@oak.example", "f@gmail.com", None, rs)
    assert d.sealed and calls == ["[Private] medical"]
    decide("Staff meeting", "t@oak.example", "f@gmail.com", None, rs)
    assert calls == ["[Private] medical", "Staff meeting"]
