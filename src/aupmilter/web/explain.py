"""Why an item was held, in one plain-English line, and its findings without repeats.

The words come from the policy entry that *decided* (its tier and direction), which
:func:`aupmilter.policy.explain` selects: the UI never picks an entry itself, so it can never
quote a lower tier's words for a message the top tier held.  File paths of rule files stay out
of the page: a reviewer needs the clause and the rule id, not where an admin keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass

from aupmilter.config import Config, PolicyEntry, School
from aupmilter.model import Direction, Finding
from aupmilter.policy import explain
from aupmilter.quarantine import Item

_ACTION_WORDS = {
    "quarantine": "Held",
    "block": "Refused",
    "tag": "Tagged",
    "accept": "Accepted",
}


@dataclass(frozen=True)
class FindingRow:
    """One line of the findings table: repeats of the same rule and evidence folded together."""

    rule: str
    evidence: str
    locations: tuple[str, ...]
    clause: str
    deciding: bool


@dataclass(frozen=True)
class Explanation:
    line: str
    clause: str
    rule: str
    evidence: str
    findings: tuple[FindingRow, ...]


def schools_of(config: Config, item: Item) -> list[School]:
    out: list[School] = []
    for domain in item.record.schools:
        school = config.school_for_domain(domain)
        if school is not None and school not in out:
            out.append(school)
    return out


def explain_item(config: Config, item: Item) -> Explanation:
    record = item.record
    try:
        direction = Direction(record.direction)
    except ValueError:
        direction = Direction.INBOUND
    verdict, per_rule = explain(
        record.findings,
        direction,
        config,
        schools_of(config, item),
        sender=record.sender,
        at=record.received_at,
    )
    deciding = verdict.finding or (record.findings[0] if record.findings else None)
    clause = verdict.clause or (per_rule[deciding.rule].clause if deciding and deciding.rule in per_rule else "")
    verb = _ACTION_WORDS.get(record.action, record.action.capitalize())
    school = verdict.school.name if verdict.school else "the trust"
    if deciding is None:
        line = f"{verb} ({record.direction}): no finding recorded."
    else:
        evidence = f" Found: {deciding.evidence}." if deciding.evidence else ""
        words = clause or "the acceptable use policy"
        line = f"{verb} ({record.direction}, {school}) because {words}.{evidence} Rule: {deciding.rule}."
    return Explanation(
        line=" ".join(line.split()),
        clause=clause,
        rule=deciding.rule if deciding else "",
        evidence=deciding.evidence if deciding else "",
        findings=_rows(record.findings, per_rule, deciding),
    )


def _rows(
    findings: tuple[Finding, ...], per_rule: dict[str, PolicyEntry], deciding: Finding | None
) -> tuple[FindingRow, ...]:
    grouped: dict[tuple[str, str], list[str]] = {}
    for f in findings:
        locations = grouped.setdefault((f.rule, f.evidence), [])
        if f.location and f.location not in locations:
            locations.append(f.location)
    rows = []
    for (rule, evidence), locations in grouped.items():
        entry = per_rule.get(rule)
        rows.append(
            FindingRow(
                rule=rule,
                evidence=evidence,
                locations=tuple(locations),
                clause=entry.clause if entry else "",
                deciding=deciding is not None and rule == deciding.rule and evidence == deciding.evidence,
            )
        )
    rows.sort(key=lambda r: not r.deciding)
    return tuple(rows)
