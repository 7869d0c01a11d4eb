"""Personal use: the label, the school's personal-use mode, working hours, and a coaching hint.

What the policies say: personal e-mails must be labelled "personal" in the subject header (000
7.3, 001 6.2.2, 002 (b)); personal use must take place substantially out of normal working hours,
"during the member of staff's usual break time or shortly, before or after" (000, 001, 002, 004
4.2); one school forbids personal use entirely: "Staff are strictly prohibited from using the
School's email facility for personal emails at any time" (003).

This check reads only the subject and headers, which monitoring may look at (002: "will look at
the sender or recipient and the subject heading only"), so it is content-blind for sealing: it
runs on sealed mail, and its label finding is what seals a message.  It emits:

* ``personal.label`` — labelled Personal/Private (subject forms below, or Outlook's
  ``Sensitivity: Personal|Private`` header).
* ``personal.prohibited`` — a labelled message sent by staff of a school whose mode is
  ``prohibited``.
* ``personal.working_hours`` — in ``allowed_with_label`` mode (``allowed`` sets no conditions),
  a labelled message sent by staff inside the school's working hours (its days, hours, breaks,
  holidays and time zone; Europe/London by default, so the clock changes are handled by
  zoneinfo, not by us).
* ``personal.unlabelled`` — optional coaching (``coach_unlabelled = true``): outbound mail to
  consumer webmail only, with no school-business cue in the subject, and no label.

Recognised labels: ``[Personal]``, ``(Personal)``, ``Personal:``, ``PERSONAL -``,
``Personal –``, ``Personal/…``, ``Private`` in the same forms, after reply/forward prefixes
(``Re: [Personal] …``), any case, after RFC 2047 decoding.  The word inside a sentence ("your
personal statement", "private school fees") is not a label.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar
from zoneinfo import ZoneInfo

import regex

from aupmilter import schema
from aupmilter.checks import CheckSettings, CheckSpec
from aupmilter.config import School, WorkingHours
from aupmilter.message import MessageView
from aupmilter.model import Direction, Envelope, Finding, domain_of
from aupmilter.schema import setting
from aupmilter.webmail import load_webmail_domains

_PREFIXES = r"(?:(?:re|fw|fwd|aw|wg|sv|vs|tr)\s*(?:\[\d+\])?\s*:\s*)*"
_WORD = r"(?P<label>personal|private)"
_LABEL = regex.compile(
    rf"""^\s*{_PREFIXES}(?:
        [\[\(\{{<]\s*{_WORD}\s*[\]\)\}}>]        # [Personal] (Private) {{Personal}} <Personal>
      | {_WORD}\s*(?::|-|–|—|/|\||>)            # Personal: / PERSONAL - / Personal – / Personal|
      | {_WORD}\s*$                             # a subject that is just "Personal"
    )""",
    regex.IGNORECASE | regex.VERBOSE | regex.V1,
)
_SENSITIVITY = {"personal": "personal", "private": "private"}
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def label_of(message: MessageView) -> tuple[str, str] | None:
    """(label, where) if the message is labelled Personal/Private, else ``None``."""
    m = _LABEL.search(message.subject)
    if m:
        label = next(g for g in m.captures("label") if g)
        return (label.lower(), "subject")
    sensitivity = (message.header("Sensitivity") or "").strip().lower()
    if sensitivity in _SENSITIVITY:
        return (_SENSITIVITY[sensitivity], "header:Sensitivity")
    return None


def in_working_hours(hours: WorkingHours, when: dt.datetime) -> bool:
    """Is ``when`` (aware) inside the school's working time, in the school's own time zone?"""
    local = when.astimezone(ZoneInfo(hours.timezone))
    if local.weekday() not in hours.weekdays or local.date().isoformat() in hours.holidays:
        return False
    hhmm = local.strftime("%H:%M")
    if not (hours.opens <= hhmm < hours.closes):
        return False
    return not any(b_start <= hhmm < b_end for b_start, b_end in hours.break_spans)


@dataclass(frozen=True)
class PersonalOptions:
    coach_unlabelled: bool = setting(
        False, doc="Tag outbound mail to personal webmail that looks personal but is unlabelled."
    )


@dataclass(frozen=True)
class PersonalRules:
    """``rules/personal.toml``."""

    business_cues: tuple[str, ...] = setting(
        (), doc="Words that make unlabelled mail to personal webmail look like school business (no coaching)."
    )


class PersonalCheck:
    name: ClassVar[str] = "personal"
    #: The finding that seals a message (:mod:`aupmilter.sealing`): labelled Personal/Private.
    #: The engine learns it from here, and leaves this check's findings unredacted on sealed mail
    #: (their evidence is the label and the sending time, which is what sealed it).
    seals: ClassVar[frozenset[str]] = frozenset({"personal.label"})

    def __init__(self, settings: CheckSettings) -> None:
        options: PersonalOptions = settings.parsed or PersonalOptions()
        self.coach_unlabelled = options.coach_unlabelled
        self.config = settings.config
        rules = schema.read_file(PersonalRules, settings.rules_dir / "personal.toml")
        self.webmail_domains = load_webmail_domains(settings.rules_dir)
        cues = [regex.escape(c) for c in rules.business_cues]
        self.business_cues = regex.compile(r"\b(?:" + "|".join(cues) + r")\b", regex.IGNORECASE) if cues else None

    def _sender_school(self, envelope: Envelope) -> School | None:
        return self.config.school_for_domain(envelope.sender_domain)

    def run(self, envelope: Envelope, message: MessageView) -> Iterable[Finding]:
        found = label_of(message)
        from_staff = envelope.direction in (Direction.OUTBOUND, Direction.INTERNAL)
        school = self._sender_school(envelope) if from_staff else None
        if found is None:
            return self._coaching(envelope, message)
        label, where = found
        findings = [Finding("personal.label", "personal.label", 1.0, f"{label} label", where)]
        if school is None:
            return findings
        if school.personal_use == "prohibited":
            findings.append(
                Finding(
                    "personal.prohibited",
                    "personal.prohibited",
                    1.0,
                    f"{school.name} does not permit personal use of school e-mail",
                    where,
                )
            )
        elif (
            school.personal_use == "allowed_with_label"
            and envelope.received_at is not None
            and in_working_hours(school.working_hours, envelope.received_at)
        ):
            local = envelope.received_at.astimezone(ZoneInfo(school.working_hours.timezone))
            hours = school.working_hours
            findings.append(
                Finding(
                    "personal.working_hours",
                    "personal.working_hours",
                    1.0,
                    f"sent {_DAY_NAMES[local.weekday()]} {local:%H:%M}, working hours {hours.start}-{hours.end}",
                    "envelope",
                )
            )
        return findings

    def _coaching(self, envelope: Envelope, message: MessageView) -> list[Finding]:
        if not self.coach_unlabelled or envelope.direction is not Direction.OUTBOUND:
            return []
        domains = {domain_of(r) for r in envelope.recipients}
        if not domains or not domains <= self.webmail_domains:
            return []
        if self.business_cues is not None and self.business_cues.search(message.subject):
            return []
        return [
            Finding(
                "personal.unlabelled",
                "personal.unlabelled",
                0.5,
                "to personal webmail only, no label, no school-business cue in subject",
                "envelope",
            )
        ]


SPEC = CheckSpec(
    summary="The Personal/Private label, personal use by school, working hours, unlabelled personal mail.",
    factory=PersonalCheck,
    reads_content=False,
    order=10,
    options=PersonalOptions,
    rules_files=("personal.toml", "webmail.toml"),
    emits={
        "personal.label": "The message is labelled Personal or Private (seals it where the school says so).",
        "personal.prohibited": "Labelled personal mail from a school that does not allow personal use.",
        "personal.working_hours": "Labelled personal mail sent inside the school's working hours.",
        "personal.unlabelled": "Outbound mail to personal webmail that looks personal but carries no label.",
    },
)
