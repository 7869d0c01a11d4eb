"""Per-sender exceptions: strict validation, narrow scope, expiry; and the clause of the tier
that decided (the selection the review UI asks the policy for)."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest

from aupmilter import sender_exceptions
from aupmilter.config import parse_config
from aupmilter.errors import ConfigError
from aupmilter.model import Action, Direction, Finding
from aupmilter.policy import decide_for, explain
from aupmilter.sender_exceptions import SenderException

SITE = """
[organisation]
name = "T"

[[schools]]
domain = "oak.example"
name = "Oak School"

[[schools]]
domain = "birch.example"
name = "Birch Academy"
"""
EXE = Finding("attachment.executable.windows", "attachment.executable", 1.0, "setup.exe", "attachment:setup.exe")
ROW = """
[[exception]]
sender = "Reports@Lab.test"
check = "attachment"
school = "oak.example"
expires = 2027-01-31
added_by = "rita"
added_at = 2026-12-02T09:00:00Z
reason = "lab software"
"""
WHEN = dt.datetime(2027, 1, 15, 12, tzinfo=dt.UTC)


def config(tmp_path: Path, rows: str) -> object:
    (tmp_path / "sender-exceptions.toml").write_text(rows)
    text = SITE + f'\n[quarantine]\npath = "{tmp_path}"\n'
    return parse_config(tomllib.loads(text), "site.toml")


def verdict(cfg: object, sender: str, school: str, at: dt.datetime = WHEN) -> Action:
    schools = [s for s in cfg.schools if s.domain == school]  # type: ignore[attr-defined]
    return decide_for([EXE], Direction.INBOUND, cfg, schools, sender=sender, at=at).action  # type: ignore[arg-type]


def test_an_exception_covers_one_sender_one_check_one_school_until_it_expires(tmp_path: Path) -> None:
    cfg = config(tmp_path, ROW)
    assert verdict(cfg, "reports@lab.test", "oak.example") is Action.ACCEPT
    assert verdict(cfg, "<REPORTS@lab.test>", "oak.example") is Action.ACCEPT
    assert verdict(cfg, "other@lab.test", "oak.example") is Action.QUARANTINE
    assert verdict(cfg, "reports@lab.test", "birch.example") is Action.QUARANTINE
    assert verdict(cfg, "reports@lab.test", "oak.example", WHEN + dt.timedelta(days=17)) is Action.QUARANTINE
    # Another check's finding from the same sender still counts.
    offensive = Finding("offensive.profanity", "offensive", 12.0, "f**k", "body")
    schools = [s for s in cfg.schools if s.domain == "oak.example"]  # type: ignore[attr-defined]
    v = decide_for([EXE, offensive], Direction.INBOUND, cfg, schools, sender="reports@lab.test", at=WHEN)  # type: ignore[arg-type]
    assert v.action is Action.QUARANTINE and v.finding == offensive and v.excepted == (EXE,)


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (('check = "attachment"', 'check = "*"'), "exception[0].check"),
        (('school = "oak.example"', 'school = "elm.example"'), "exception[0].school"),
        (('sender = "Reports@Lab.test"', 'sender = "everyone"'), "exception[0].sender"),
        (("expires = 2027-01-31", 'expires = "soon"'), "exception[0].expires"),
        (("expires = 2027-01-31", "expires = 2028-06-01"), "exception[0].expires"),
        (('reason = "lab software"', 'reason = "x"\ncolour = "red"'), "exception[0].colour"),
    ],
)
def test_bad_rows_are_config_errors_naming_the_key(tmp_path: Path, edit: tuple[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        config(tmp_path, ROW.replace(*edit))
    assert err.value.key == key and err.value.source.endswith("sender-exceptions.toml")


def test_append_validates_and_replaces_the_file_atomically(tmp_path: Path) -> None:
    path = tmp_path / "sender-exceptions.toml"
    domains = {"oak.example", "birch.example"}
    row = SenderException(
        "a@b.test",
        "confidential",
        "oak.example",
        dt.date(2027, 1, 1),
        "rita",
        "2026-12-02T09:00:00+00:00",
        'he said "ok"\n',
    )
    sender_exceptions.append(path, row, domains)
    sender_exceptions.append(path, row, domains)
    loaded = sender_exceptions.load(path, domains)
    assert len(loaded) == 2 and loaded[0].reason == 'he said "ok"\n' and loaded[0].check == "confidential"
    bad = SenderException("a@b.test", "confidential", "elm.example", dt.date(2027, 1, 1))
    before = path.read_text()
    with pytest.raises(ConfigError):
        sender_exceptions.append(path, bad, domains)
    assert path.read_text() == before


def test_explain_quotes_the_tier_that_decided(tmp_path: Path) -> None:
    cfg = config(tmp_path, "")
    bulk = Finding("confidential.pupil_data.bulk", "confidential.pupil_data", 6.0, "UPN x30", "body")
    schools = [s for s in cfg.schools if s.domain == "oak.example"]  # type: ignore[attr-defined]
    v, per_rule = explain([bulk], Direction.OUTBOUND, cfg, schools)  # type: ignore[arg-type]
    assert v.action is Action.QUARANTINE
    assert "held for the data protection officer" in v.clause
    assert per_rule[bulk.rule].clause == v.clause
    v_in, _ = explain([bulk], Direction.INTERNAL, cfg, schools)  # type: ignore[arg-type]
    assert v_in.action is Action.TAG
