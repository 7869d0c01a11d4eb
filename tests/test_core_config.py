"""Config and policy-as-data validation: every error names the file and the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from aupmilter.config import load_config, parse_config
from aupmilter.errors import ConfigError
from aupmilter.model import Action, Direction, Finding
from aupmilter.policy import decide
from aupmilter.ruleset import build_ruleset

BASE = """
[organisation]
name = "T"
[[schools]]
domain = "a.example"
name = "A School"
[[schools]]
domain = "b.example"
name = "B School"
personal_use = "prohibited"
"""


def parse(text: str) -> object:
    import tomllib

    return parse_config(tomllib.loads(text), "site.toml")


def test_shipped_default_config_loads() -> None:
    config = load_config(None)
    assert {s.domain for s in config.schools} == {"oakfield.example", "birchwood.example"}
    assert config.milter.failure_action == "tempfail"


@pytest.mark.parametrize(
    ("snippet", "key"),
    [
        ("[milter]\nsocket_path = 'x'\n", "milter.socket_path"),
        ("[milter]\nfailure_action = 'maybe'\n", "milter.failure_action"),
        ("[milter]\ntime_budget_seconds = 'ten'\n", "milter.time_budget_seconds"),
        ("[[action]]\nmatch = 'x'\noutbound = 'delete'\n", "action[0].outbound"),
        ("[[action]]\nmatch = 'x'\nsideways = 'tag'\n", "action[0].sideways"),
        ("[checks.nonexistent]\nenabled = true\n", "checks.nonexistent"),
        ("[quarantine]\nmode = 'shred'\n", "quarantine.mode"),
        ("colour = 'blue'\n", "colour"),
    ],
)
def test_invalid_keys_are_errors_naming_the_key(snippet: str, key: str) -> None:
    # Check names are validated where checks are discovered and built (rules lint, the milter).
    with pytest.raises(ConfigError) as exc:
        build_ruleset(parse(snippet + BASE))
    assert exc.value.key == key
    assert "site.toml" in str(exc.value)


def test_school_errors_name_the_school_key() -> None:
    with pytest.raises(ConfigError) as exc:
        parse(BASE + "[[schools]]\ndomain = 'c.example'\npersonal_use = 'sometimes'\n")
    assert exc.value.key == "schools[2].personal_use"
    with pytest.raises(ConfigError) as exc:
        parse(BASE + "[[schools]]\ndomain = 'c.example'\n[schools.working_hours]\nstart = '25:00'\n")
    assert exc.value.key == "schools[2].working_hours.start"


def test_duplicate_school_domain_is_an_error() -> None:
    with pytest.raises(ConfigError, match="configured twice"):
        parse(BASE + "[[schools]]\ndomain = 'a.example'\n")


def test_policy_overlay_school_beats_site_beats_shipped() -> None:
    config = parse(
        BASE
        + """
[[action]]
match = "personal.label"
outbound = "quarantine"
[[schools.action]]
match = "personal.label"
outbound = "block"
clause = "B forbids personal use"
"""
    )
    assert isinstance(config, type(load_config(None)))
    finding = Finding("personal.label", "personal.label")
    a, b = config.schools
    assert decide([finding], Direction.OUTBOUND, config, a).action is Action.QUARANTINE
    verdict_b = decide([finding], Direction.OUTBOUND, config, b)
    assert verdict_b.action is Action.BLOCK
    assert verdict_b.entry is not None and verdict_b.entry.clause == "B forbids personal use"
    # Directions the overlay does not name keep the shipped action.
    assert decide([finding], Direction.INBOUND, config, b).action is Action.TAG


def test_min_score_tiers_and_most_specific_match() -> None:
    config = parse(
        BASE
        + """
[[action]]
match = "lang"
all = "tag"
[[action]]
match = "lang"
min_score = 5
outbound = "block"
[[action]]
match = "lang.mild"
all = "accept"
"""
    )
    school = config.schools[0]
    weak = [Finding("lang.strong", "lang", 2.0)]
    strong = [Finding("lang.strong", "lang", 3.0), Finding("lang.strong", "lang", 3.0)]
    assert decide(weak, Direction.OUTBOUND, config, school).action is Action.TAG
    assert decide(strong, Direction.OUTBOUND, config, school).action is Action.BLOCK
    assert decide(strong, Direction.INBOUND, config, school).action is Action.TAG
    mild = [Finding("lang.mild.x", "lang.mild", 9.0)]
    assert decide(mild, Direction.OUTBOUND, config, school).action is Action.ACCEPT


def test_rules_lint_cli(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(BASE)
    bad = tmp_path / "bad.toml"
    bad.write_text(BASE + "[milter]\nsockett = 'unix:/x'\n")
    ok = subprocess.run(
        [sys.executable, "-m", "aupmilter.cli", "rules", "lint", "--config", str(good)],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert "2 schools" in ok.stdout
    fail = subprocess.run(
        [sys.executable, "-m", "aupmilter.cli", "rules", "lint", "--config", str(bad)],
        capture_output=True,
        text=True,
    )
    assert fail.returncode == 2
    assert "bad.toml: milter.sockett: unknown key" in fail.stderr
