"""The engine: ``evaluate(envelope, message, ruleset) -> Decision``, a pure function.

No milter, no sockets, no clocks it does not take as an argument: the same inputs give the same
decision in the milter, in ``aupmilter check`` and in tests.  A :class:`Ruleset` is everything a
configuration load produced (validated config, built checks, transforms), assembled by
:mod:`aupmilter.ruleset`; a reload swaps one ruleset for another atomically.  The engine names
no check: it runs the checks and transforms a ruleset hands it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aupmilter.checks import Check
from aupmilter.config import Config, School
from aupmilter.direction import classify
from aupmilter.marker import MarkerKey
from aupmilter.message import MessageView
from aupmilter.model import (
    Action,
    AddHeader,
    ChangeHeader,
    Decision,
    Direction,
    Effect,
    Envelope,
    Finding,
    SmtpReply,
)
from aupmilter.policy import Verdict, decide_for
from aupmilter.render import raw_header_value
from aupmilter.sealing import is_sealed, redact

VERDICT_HEADER = "X-AUP-Verdict"
FINDINGS_HEADER = "X-AUP-Findings"
#: Headers we own: stripped from incoming mail so nobody outside can forge a verdict.
OWN_HEADERS = (VERDICT_HEADER, FINDINGS_HEADER)

#: Called after the action is decided, for accepted/tagged mail, to add rewrite effects
#: (disclaimer, then DKIM signing last).  Each gets the effects so far and returns more.
Transform = Callable[[Envelope, MessageView, Decision, Sequence[Effect]], Sequence[Effect]]

#: Observer for per-check timings (metrics); the engine stays free of prometheus imports.
CheckTimer = Callable[[str, float], None]


@dataclass
class Ruleset:
    config: Config
    checks: list[Check]
    transforms: list[Transform] = field(default_factory=list)
    generation: int = 0
    #: Site key of the authenticated disclaimer marker (None with the disclaimer off).
    marker_key: MarkerKey | None = None


#: Rule ids the engine raises itself (MIME it could not fully walk); see :func:`_defect_findings`.
ENGINE_EMITS = {
    "mime.malformed": "The message is not well-formed MIME (minor defects; the checks still read it).",
    "mime.limits": "Too many parts, too deep, or unparseable: structure the checks could not fully walk.",
}


def schools_involved(config: Config, envelope: Envelope, direction: Direction) -> list[School]:
    """Whose policy applies: the sender's school for mail from inside, recipients' for inbound."""
    domains = envelope.recipient_domains if direction is Direction.INBOUND else (envelope.sender_domain,)
    schools: list[School] = []
    for d in domains:
        school = config.school_for_domain(d)
        if school is not None and school not in schools:
            schools.append(school)
    return schools


def _defect_findings(message: MessageView) -> list[Finding]:
    defects = sorted(set(message.defects))
    if not defects:
        return []
    evidence = ", ".join(d.removeprefix("mime.") for d in defects[:5])
    # Structure we could not fully walk cannot be vouched for: that is a limit, not a nit.
    uninspectable = {"mime.too_many_parts", "mime.too_deep", "mime.unparseable"}
    rule = "mime.limits" if uninspectable & set(defects) else "mime.malformed"
    return [Finding(rule, rule, 1.0, evidence, "mime")]


def evaluate(
    envelope: Envelope,
    message: MessageView,
    ruleset: Ruleset,
    *,
    timer: CheckTimer | None = None,
) -> Decision:
    config = ruleset.config
    direction = envelope.direction or classify(config, envelope)
    if envelope.direction is None:
        envelope = dataclasses.replace(envelope, direction=direction)
    schools = schools_involved(config, envelope, direction)
    findings: list[Finding] = []
    # Every check runs on every message: a Personal label seals mail from people, not from the
    # gateway (aupmilter.sealing).  Sealed findings then lose their content-derived evidence,
    # except those of the check that declares the seal (its ``seals`` rule ids).
    seal_rules: set[str] = set()
    by_sealer: list[bool] = []
    for check in ruleset.checks:
        made = _run(check, envelope, message, timer)
        seals: frozenset[str] = getattr(check, "seals", frozenset())
        seal_rules |= seals
        findings.extend(made)
        by_sealer.extend([bool(seals)] * len(made))
    defects = _defect_findings(message)
    findings.extend(defects)
    by_sealer.extend([False] * len(defects))
    sealed = is_sealed(findings, schools, seal_rules)
    if sealed:
        findings = redact(findings, by_sealer)

    verdict = decide_for(findings, direction, config, schools, sender=envelope.sender, at=envelope.received_at)
    decision = Decision(
        action=verdict.action,
        findings=tuple(findings),
        reason=_reason(verdict, direction),
        clause=verdict.clause,
        deciding=verdict.finding,
        direction=direction,
        schools=tuple(s.domain for s in schools),
        sealed=sealed,
        smtp_reply=_reply(verdict) if verdict.action is Action.BLOCK else None,
    )
    if decision.action in (Action.ACCEPT, Action.TAG):
        effects = outgoing_effects(envelope, message, decision, config, ruleset.transforms)
        decision = dataclasses.replace(decision, effects=effects)
    return decision


def outgoing_effects(
    envelope: Envelope, message: MessageView, decision: Decision, config: Config, transforms: Sequence[Transform]
) -> tuple[Effect, ...]:
    """What mail that leaves gets: verdict headers and subject tag, then every transform in
    order (banner, disclaimer, DKIM signing last).  One function for mail let through by the
    milter and for mail released from the quarantine (:mod:`aupmilter.release`)."""
    effects = list(_tag_effects(message, decision, config))
    interim = dataclasses.replace(decision, effects=tuple(effects))
    for transform in transforms:
        effects.extend(transform(envelope, message, interim, tuple(effects)))
    return tuple(effects)


def _run(check: Check, envelope: Envelope, message: MessageView, timer: CheckTimer | None) -> list[Finding]:
    started = time.perf_counter()
    made = list(check.run(envelope, message))
    if timer is not None:
        timer(check.name, time.perf_counter() - started)
    return made


def _reason(verdict: Verdict, direction: Direction) -> str:
    if verdict.entry is None:
        return "no policy entry matched"
    return f"policy {verdict.entry.match} {direction} -> {verdict.action} ({verdict.entry.source})"


def _reply(verdict: Verdict) -> SmtpReply:
    school = verdict.school.name if verdict.school else "the trust's"
    clause = verdict.entry.clause if verdict.entry and verdict.entry.clause else "acceptable use policy"
    rule = verdict.finding.rule if verdict.finding else "policy"
    text = f"Message refused under {school} e-mail policy: {clause} [{rule}]"
    return SmtpReply("550", "5.7.1", " ".join(text.split()))


def _tag_effects(message: MessageView, decision: Decision, config: Config) -> list[Effect]:
    effects: list[Effect] = []
    for name in OWN_HEADERS:
        # Delete from the last occurrence backwards so indices stay valid.
        count = len(message.headers_all(name))
        effects.extend(ChangeHeader(name, None, i) for i in range(count, 0, -1))
    if decision.direction is Direction.OUTBOUND:
        # Verdicts and rule ids are internal: outside recipients get none (or, if the site
        # asks for it, one X-AUP-Verdict and never the findings).
        if config.outbound_verdict:
            effects.append(AddHeader(VERDICT_HEADER, str(decision.action)))
    else:
        effects.append(AddHeader(VERDICT_HEADER, str(decision.action)))
        if decision.findings:
            effects.append(AddHeader(FINDINGS_HEADER, ", ".join(decision.rule_ids)))
    if decision.action is Action.TAG and config.subject_prefix:
        original = raw_header_value(message.raw, "Subject")
        if original is None:
            effects.append(AddHeader("Subject", config.subject_prefix))
        elif not original.startswith(config.subject_prefix):
            effects.append(ChangeHeader("Subject", f"{config.subject_prefix} {original}", 1))
    return effects
