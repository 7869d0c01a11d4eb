"""One consumer-webmail list (rules/webmail.toml) for the personal, identity and confidential checks."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from aupmilter.config import parse_config, shipped_rules_dir
from aupmilter.errors import ConfigError
from aupmilter.ruleset import build_ruleset
from aupmilter.webmail import load_webmail_domains

SITE = """
[organisation]
name = "T"
rules_dir = "{rules}"

[[schools]]
domain = "oak.example"
name = "Oak School"
"""


def _rules_copy(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(shipped_rules_dir(), rules)
    return rules


def test_shipped_list_is_read_and_normalised() -> None:
    domains = load_webmail_domains(shipped_rules_dir())
    assert {"gmail.com", "hotmail.co.uk", "outlook.co.uk", "hey.com"} <= domains
    assert all(d == d.lower().rstrip(".") for d in domains)


def test_one_added_domain_reaches_all_three_checks(tmp_path: Path) -> None:
    rules = _rules_copy(tmp_path)
    path = rules / "webmail.toml"
    path.write_text(path.read_text().replace("domains = [", 'domains = [\n  "mail.newprovider.test",', 1))
    ruleset = build_ruleset(parse_config(tomllib.loads(SITE.format(rules=rules)), "site.toml"))
    checks = {c.name: c for c in ruleset.checks}
    assert "mail.newprovider.test" in checks["personal"].webmail_domains  # type: ignore[attr-defined]
    assert "mail.newprovider.test" in checks["identity"].rules.freemail_domains  # type: ignore[attr-defined]
    assert "mail.newprovider.test" in checks["confidential"].rules.webmail  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('domains = ["gmail.com"]\nextra = 1\n', "extra"),
        ('domains = "gmail.com"\n', "domains"),
        ('domains = ["gmail.com", ""]\n', "domains"),
    ],
)
def test_bad_list_is_a_config_error_naming_the_key(tmp_path: Path, text: str, key: str) -> None:
    (tmp_path / "webmail.toml").write_text(text)
    with pytest.raises(ConfigError) as err:
        load_webmail_domains(tmp_path)
    assert err.value.key == key and err.value.source.endswith("webmail.toml")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"webmail\.toml: file not found"):
        load_webmail_domains(tmp_path)
