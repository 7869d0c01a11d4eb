"""Sender identity: see :mod:`.check` (the check and what the policies say), :mod:`.logins` (what a
login may send as), :mod:`.names` (what a display name claims), :mod:`.data` (the types) and
:mod:`.rules` (``rules/identity.toml`` and the site's options)."""

from aupmilter.checks.identity.check import IdentityCheck
from aupmilter.checks.identity.rules import Canonicaliser, IdentityRules, load_rules, name_tokens

__all__ = ["Canonicaliser", "IdentityCheck", "IdentityRules", "load_rules", "name_tokens"]
