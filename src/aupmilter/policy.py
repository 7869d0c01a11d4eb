"""Map findings to an action: the policy is data (``rules/policy.toml`` + site/school overlays).

Overlay, like ``email.policy``: the shipped table, then the site's ``[[action]]`` entries, then
the school's; an entry with the same ``match`` and ``min_score`` in a later layer replaces the
earlier one.  For each finding the *most specific* matching entry family (longest ``match``)
applies; within it the entry with the highest ``min_score`` not above the family's summed score
wins.  The message gets the strictest action over all findings, and the reason names the entry
so an admin can trace any verdict back to one line of data.
"""

from __future__ import annotations

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


def decide(
    findings: Sequence[Finding],
    direction: Direction,
    config: Config,
    school: School | None,
) -> Verdict:
    """The strictest action any finding earns under ``school``'s effective policy."""
    entries = effective_entries(config, school)
    best = Verdict(Action.ACCEPT, None, None, school)
    for finding in findings:
        candidates = [e for e in entries if e.matches(finding.rule, finding.category)]
        if not candidates:
            continue
        longest = max(len(e.match) if e.match != "*" else 0 for e in candidates)
        family = [e for e in candidates if (len(e.match) if e.match != "*" else 0) == longest]
        match = family[0].match
        total = sum(
            f.score
            for f in findings
            if any(n == match or n.startswith(match + ".") for n in (f.rule, f.category)) or match == "*"
        )
        eligible = [e for e in family if e.min_score <= total and direction in e.actions]
        if not eligible:
            continue
        entry = max(eligible, key=lambda e: e.min_score)
        action = entry.actions[direction]
        if action > best.action:
            best = Verdict(action, entry, finding, school)
    return best
