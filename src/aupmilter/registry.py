"""The explicit registry of checks: each check's name and where its class lives, as data.

Apart from :mod:`aupmilter.checks` so that the configuration reader can refuse an unknown
``[checks.<name>]`` table without importing the checks, which import the configuration types
(``Config``, ``School``): the registry names modules as strings and imports nothing, so no import
cycle runs through it (``make lint`` checks that there is none).
"""

from __future__ import annotations

#: name -> "module:Class".  Order is the order checks run in; the personal-label check runs first
#: because its result decides whether content checks may read the message at all.
REGISTRY: dict[str, str] = {
    "personal": "aupmilter.checks.personal:PersonalCheck",
    "attachments": "aupmilter.checks.attachments:AttachmentCheck",
    "antivirus": "aupmilter.checks.antivirus:AntivirusCheck",
    "offensive": "aupmilter.checks.offensive:OffensiveCheck",
    "chain_letter": "aupmilter.checks.chain_letter:ChainLetterCheck",
    "mass_mailing": "aupmilter.checks.mass_mailing:MassMailingCheck",
    "phishing": "aupmilter.checks.phishing:PhishingCheck",
    "confidential": "aupmilter.checks.confidential:ConfidentialCheck",
    "identity": "aupmilter.checks.identity:IdentityCheck",
    "disclaimer": "aupmilter.checks.disclaimer:DisclaimerCheck",
}
