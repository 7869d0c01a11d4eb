"""Sealing: Personal/Private-labelled mail is closed to *people*, never to the gateway's checks.

The seeds' privacy clause (002: "avoid opening emails marked Private or Personal"; 004 §5.4) is
about staff opening personal mail.  A label that switched the automated checks off would be a
way round the whole policy: ``Sensitivity: Personal`` on a list of pupil UPNs sent to webmail
was delivered (issue 17).  So every check runs on sealed mail and the policy decides as for any
other mail; what sealing changes is what a human can see afterwards:

* findings keep their rule, category and score (the policy and the reports need them) but their
  evidence is reduced to type and count — no words, no file names, no excerpts — and their
  location to its kind (``attachment``, not ``attachment:payslip.pdf``);
* the quarantine hides the subject and the content (a DPO unseals with a written reason).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Collection, Sequence

from aupmilter.config import School
from aupmilter.model import Finding


def is_sealed(findings: Sequence[Finding], schools: Sequence[School], seal_rules: Collection[str]) -> bool:
    """Labelled Personal/Private, and a school involved protects labelled mail.

    ``seal_rules`` are the rule ids that mean "labelled": declared by the check that finds the
    label (its ``seals`` attribute, the personal check's ``personal.label``), so this module
    names no check."""
    labelled = any(f.rule in seal_rules for f in findings)
    return labelled and any(s.seal_personal for s in schools)


def redact(findings: Sequence[Finding], by_sealer: Sequence[bool]) -> list[Finding]:
    """The findings of a sealed message with nothing derived from its content left in them.

    ``by_sealer[i]`` says that finding ``i`` was made by a check that declares a seal (the
    personal check): those stay as they are, since their evidence is the label itself and the
    sending time ("personal label", "inside working hours"), which is what sealed the message."""
    counts = Counter(f.rule for f in findings)
    return [
        f
        if kept
        else dataclasses.replace(
            f,
            evidence=f"sealed: {counts[f.rule]} × {f.category}",
            location=_kind(f.location),
        )
        for f, kept in zip(findings, by_sealer, strict=True)
    ]


def _kind(location: str) -> str:
    """``attachment:payslip.pdf`` -> ``attachment``; a header *name* is not content and stays."""
    kind, _, detail = location.partition(":")
    return location if kind == "header" and detail.replace("-", "").isalnum() else kind
