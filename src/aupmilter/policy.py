"""Map findings to an action: the policy is data (``rules/policy.toml`` + site/school overlays).

Overlay, like ``email.policy``: the shipped table, then the site's ``[[action]]`` entries, then
the school's; an entry with the same ``match`` and ``min_score`` in a later layer replaces the
earlier one.  For each finding the *most specific* matching entry family (longest ``match``)
applies; within it the entry with the highest ``min_score`` not above the family's summed score
wins.  The message gets the strictest action over all findings, and the reason names the entry
so an admin can trace any verdict back to one line of data.

Selection lives here and only here: the engine asks :func:`decide_for` for the verdict, and the
review UI asks the same function (with the stored findings) for the clause of the tier that
decided, so the words a reviewer reads are the words of the entry that acted.

Sender exceptions (:mod:`aupmilter.sender_exceptions`, written by "Release and allow sender") are
honoured here too: a finding a live exception covers (same sender, same school, the check's
category, not expired) takes no part in the decision.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aupmilter.config import Config, PolicyEntry, School
from aupmilter.model import Action, Direction, Finding


@dataclass(frozen=True)
class Verdict:
    action: Action
    entry: PolicyEntry | None
    finding: Finding | None
    school: School | None
    #: Findings left out of the decision by a live sender exception.
    excepted: tuple[Finding, ...] = ()

    @property
    def clause(self) -> str:
        """The words of the entry that decided (its tier, its direction), or ``""``."""
        return self.entry.clause if self.entry else ""


def effective_entries(config: Config, school: School | None) -> list[PolicyEntry]:
    layers: Iterable[PolicyEntry] = config.policy + (school.actions if school else ())
    merged: dict[tuple[str, float], PolicyEntry] = {}
    for entry in layers:
        key = (entry.match, entry.min_score)
        if key in merged:
            # A later layer overrides only the directions it names.
            old = merged[key]
            actions = {**old.actions, **entry.actions}
            entry = PolicyEntry(entry.match, actions, entry.min_score, entry.clause or old.clause, entry.source)
        merged[key] = entry
    return list(merged.values())


def _specificity(entry: PolicyEntry) -> int:
    return len(entry.match) if entry.match != "*" else 0


def entry_for(
    finding: Finding, findings: Sequence[Finding], direction: Direction, entries: Sequence[PolicyEntry]
) -> PolicyEntry | None:
    """The entry that decides ``finding``: most specific family, highest tier its score reaches."""
    candidates = [e for e in entries if e.matches(finding.rule, finding.category)]
    if not candidates:
        return None
    longest = max(_specificity(e) for e in candidates)
    family = [e for e in candidates if _specificity(e) == longest]
    match = family[0].match
    total = sum(
        f.score
        for f in findings
        if any(n == match or n.startswith(match + ".") for n in (f.rule, f.category)) or match == "*"
    )
    eligible = [e for e in family if e.min_score <= total and direction in e.actions]
    if not eligible:
        return None
    return max(eligible, key=lambda e: e.min_score)


def excepted(
    findings: Sequence[Finding], config: Config, school: School | None, sender: str, at: dt.datetime | None
) -> tuple[Finding, ...]:
    """Findings covered by a live sender exception for this sender and school."""
    if not sender or school is None or not config.sender_exceptions:
        return ()
    live = [x for x in config.sender_exceptions if x.applies(sender, school.domain, at)]
    return tuple(f for f in findings if any(x.covers(f) for x in live))


def decide(
    findings: Sequence[Finding],
    direction: Direction,
    config: Config,
    school: School | None,
    *,
    sender: str = "",
    at: dt.datetime | None = None,
) -> Verdict:
    """The strictest action any finding earns under ``school``'s effective policy."""
    entries = effective_entries(config, school)
    skip = excepted(findings, config, school, sender, at)
    counted = [f for f in findings if f not in skip]
    best = Verdict(Action.ACCEPT, None, None, school, skip)
    for finding in counted:
        entry = entry_for(finding, counted, direction, entries)
        if entry is None:
            continue
        action = entry.actions[direction]
        if action > best.action:
            best = Verdict(action, entry, finding, school, skip)
    return best


def decide_for(
    findings: Sequence[Finding],
    direction: Direction,
    config: Config,
    schools: Sequence[School],
    *,
    sender: str = "",
    at: dt.datetime | None = None,
) -> Verdict:
    """The verdict over every school involved (the strictest wins; trust-wide if none)."""
    verdicts = [decide(findings, direction, config, s, sender=sender, at=at) for s in schools] or [
        decide(findings, direction, config, None, sender=sender, at=at)
    ]
    return max(verdicts, key=lambda v: v.action)


def explain(
    findings: Sequence[Finding],
    direction: Direction,
    config: Config,
    schools: Sequence[School],
    *,
    sender: str = "",
    at: dt.datetime | None = None,
) -> tuple[Verdict, dict[str, PolicyEntry]]:
    """The deciding verdict and, per finding rule, the entry (tier) that applies to it.

    For the review UI: it must show the clause of the tier that acted, never a lower tier's.
    """
    verdict = decide_for(findings, direction, config, schools, sender=sender, at=at)
    entries = effective_entries(config, verdict.school)
    per_rule: dict[str, PolicyEntry] = {}
    for f in findings:
        entry = entry_for(f, findings, direction, entries)
        if entry is not None and f.rule not in per_rule:
            per_rule[f.rule] = entry
    return verdict, per_rule
