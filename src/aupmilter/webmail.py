"""The consumer webmail list (``rules/webmail.toml``), read in one place.

Personal-use coaching, identity claims and confidential-data destinations all ask the same
question of a domain; they used to keep two different lists (and one check re-read the other's
file leniently).  One file, read strictly: an admin adds a provider once.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from aupmilter.errors import ConfigError

FILE = "webmail.toml"


def load_webmail_domains(rules_dir: Path) -> frozenset[str]:
    """Lower-case domains from ``rules_dir/webmail.toml``; ``ConfigError`` naming file and key."""
    path = rules_dir / FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(str(path), "", f"cannot load: {exc}") from None
    unknown = sorted(set(data) - {"domains"})
    if unknown:
        raise ConfigError(str(path), unknown[0], "unknown key")
    domains = data.get("domains", [])
    if not isinstance(domains, list) or not all(isinstance(d, str) and d.strip() for d in domains):
        raise ConfigError(str(path), "domains", "expected a list of domain names")
    return frozenset(d.strip().lower().rstrip(".") for d in domains)
