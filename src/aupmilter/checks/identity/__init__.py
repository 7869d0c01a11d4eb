"""Sender identity (see :mod:`.check`): the check, its rules file and the data it reasons with."""

from aupmilter.checks.identity.check import IdentityCheck
from aupmilter.checks.identity.rules import Canonicaliser, IdentityRules, load_rules, name_tokens

__all__ = ["Canonicaliser", "IdentityCheck", "IdentityRules", "load_rules", "name_tokens"]
