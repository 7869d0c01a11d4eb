"""Sender identity: see :mod:`.check` (the check and what the policies say), :mod:`.logins` (what a
login may send as), :mod:`.names` (what a display name claims), :mod:`.data` (the types) and
:mod:`.rules` (``rules/identity.toml`` and the site's options)."""

from aupmilter.checks import CheckSpec
from aupmilter.checks.identity.check import IdentityCheck
from aupmilter.checks.identity.rules import Canonicaliser, IdentityOptions, IdentityRules, load_rules, name_tokens

__all__ = ["Canonicaliser", "IdentityCheck", "IdentityRules", "load_rules", "name_tokens"]

SPEC = CheckSpec(
    summary="Sender identity: SMTP login against envelope and From, assumed names, impersonation of staff.",
    factory=IdentityCheck,
    reads_content=False,
    order=90,
    options=IdentityOptions,
    rules_files=("identity.toml", "webmail.toml"),
    emits={
        "identity.envelope_mismatch": "The SMTP login sent with another envelope sender.",
        "identity.from_mismatch": "The From address is not the login's (nor delegated to it).",
        "identity.sender_mismatch": "The Sender header contradicts the login.",
        "identity.assumed_name": "A display name that is not the sender's own.",
        "identity.impersonation.*": "Outside mail claiming a staff member, a role or a school address.",
        "identity.unauthenticated": "Mail from inside with no SMTP login (report_unauthenticated).",
    },
)
