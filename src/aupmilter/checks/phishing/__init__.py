"""Inbound phishing cues: see :mod:`.check` (the check and what the policy says), :mod:`.links`
(every link in a message), :mod:`.domains` (hosts as people see them, look-alikes),
:mod:`.features` (the learned model's language-independent tells) and :mod:`.rules`
(``rules/phishing.toml`` and the site's options)."""

from aupmilter.checks.phishing.check import CATEGORY, PhishingCheck
from aupmilter.checks.phishing.domains import host_of, lookalike_reason, one_edit, skeleton
from aupmilter.checks.phishing.links import Link, extract_links
from aupmilter.checks.phishing.rules import Domains, PhishingOptions, PhishingRules, load_rules, parse_options

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
    "skeleton",
]
