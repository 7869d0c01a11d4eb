"""The consumer webmail list (``rules/webmail.toml``), read in one place.

Personal-use coaching, identity claims and confidential-data destinations all ask the same
question of a domain; they used to keep two different lists (and one check re-read the other's
file leniently).  One file, read strictly: an admin adds a provider once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aupmilter import schema
from aupmilter.schema import Invalid, setting

FILE = "webmail.toml"


@dataclass(frozen=True)
class WebmailFile:
    domains: tuple[str, ...] = setting((), doc="Consumer webmail domains (gmail.com, outlook.com, ...).")

    def validate(self) -> None:
        if not all(d.strip() for d in self.domains):
            raise Invalid("domains", "expected a list of domain names")


def load_webmail_domains(rules_dir: Path) -> frozenset[str]:
    """Lower-case domains from ``rules_dir/webmail.toml``; ``ConfigError`` naming file and key."""
    listed = schema.read_file(WebmailFile, rules_dir / FILE)
    return frozenset(d.strip().lower().rstrip(".") for d in listed.domains)
