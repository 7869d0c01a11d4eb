"""Inbound phishing cues (see :mod:`.check`): the check, its rules file, links and domains."""

from aupmilter.checks.phishing.check import (
    CATEGORY,
    Link,
    PhishingCheck,
    extract_links,
    host_of,
    lookalike_reason,
    one_edit,
    skeleton,
)
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
