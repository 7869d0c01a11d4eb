"""Confidential data leaving: see :mod:`.check` (the check and what the policies say),
:mod:`.identifiers` (issuers' validation rules, masking), :mod:`.scanner` (finding and counting
identifiers in text) and :mod:`.rules` (``rules/confidential.toml``).  Attachment text comes from
:mod:`aupmilter.extraction`."""

from aupmilter.checks import CheckSpec
from aupmilter.checks.confidential.check import ConfidentialCheck
from aupmilter.checks.confidential.identifiers import (
    is_valid_nhs,
    is_valid_ni,
    is_valid_upn,
    luhn_valid,
    nhs_check_digit,
    upn_check_letter,
)
from aupmilter.checks.confidential.rules import CATEGORY, KINDS, Limits, Rules, load_rules

__all__ = [
    "CATEGORY",
    "KINDS",
    "ConfidentialCheck",
    "Limits",
    "Rules",
    "is_valid_nhs",
    "is_valid_ni",
    "is_valid_upn",
    "load_rules",
    "luhn_valid",
    "nhs_check_digit",
    "upn_check_letter",
]

SPEC = CheckSpec(
    summary="Confidential pupil and staff data leaving: UPNs, NI and NHS numbers, card and bank details.",
    factory=ConfidentialCheck,
    reads_content=True,
    order=80,
    rules_files=("confidential.toml", "webmail.toml"),
    emits={
        f"confidential.{suffix}.*": f"{label}s in the message or its attachments; the last part is the volume."
        for suffix, label in CATEGORY.values()
    },
)
