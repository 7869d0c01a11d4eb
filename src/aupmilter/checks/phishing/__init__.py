"""Inbound phishing cues: see :mod:`.check` (the check and what the policy says), :mod:`.links`
(every link in a message), :mod:`.domains` (hosts as people see them, look-alikes),
:mod:`.features` (the learned model's language-independent tells) and :mod:`.rules`
(``rules/phishing.toml`` and the site's options)."""

from aupmilter.checks import CheckSpec
from aupmilter.checks.phishing.check import CATEGORY, PhishingCheck
from aupmilter.checks.phishing.domains import host_of, lookalike_reason, one_edit, skeleton
from aupmilter.checks.phishing.links import Link, extract_links
from aupmilter.checks.phishing.rules import (
    Domains,
    PhishingOptions,
    PhishingRules,
    PhishingSettings,
    load_rules,
    parse_options,
    resolve_options,
)

__all__ = [
    "CATEGORY",
    "Domains",
    "Link",
    "PhishingCheck",
    "PhishingOptions",
    "PhishingRules",
    "extract_links",
    "host_of",
    "load_rules",
    "lookalike_reason",
    "one_edit",
    "parse_options",
    "resolve_options",
    "skeleton",
]

SPEC = CheckSpec(
    summary="Phishing: link mismatches, look-alike domains, credential harvesting, learned suspicion.",
    factory=PhishingCheck,
    reads_content=True,
    order=70,
    options=PhishingSettings,
    rules_files=("phishing.toml",),
    transforms=("aupmilter.banner:build",),
    emits={
        "phishing.link_mismatch": "A link whose text names another site than it goes to.",
        "phishing.lookalike_domain": "A sender or link domain resembling a school's or a brand's.",
        "phishing.credential_harvest": "Cues asking for passwords or account details.",
        "phishing.suspicious": "DNS-free tells weighed by the learned model.",
    },
)
