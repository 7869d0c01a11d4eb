"""Deployment artefacts: systemd units verify, snippets are the ones under test, the config
reference is current, `aupmilter init` writes a valid config, the wheel ships the rules."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from aupmilter.configref import render, rows

REPO = Path(__file__).resolve().parents[1]
UNITS = sorted((REPO / "deploy/systemd").glob("*.service")) + sorted((REPO / "deploy/systemd").glob("*.timer"))


def test_systemd_units_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze missing: `make test` installs Debian systemd")
    venv_bin = Path(sys.executable).parent
    for unit in UNITS:
        # Point ExecStart at this checkout's venv so verify can check the binaries exist.
        text = unit.read_text().replace("/opt/aupmilter/venv/bin/aupmilter", str(venv_bin / "aupmilter"))
        (tmp_path / unit.name).write_text(text)
    result = subprocess.run(
        [analyze, "verify", *[str(tmp_path / u.name) for u in UNITS]],
        capture_output=True,
        text=True,
        env={"SYSTEMD_LOG_LEVEL": "warning", "PATH": "/usr/bin:/bin"},
    )
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if ("aupmilter" in line and "not found" not in line.lower()) or "Unknown" in line
    ]
    assert result.returncode == 0 and problems == [], result.stdout + result.stderr
    milter = (REPO / "deploy/systemd/aupmilter.service").read_text()
    for hardening in (
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=",
        "SystemCallFilter=@system-service",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "User=aupmilter",
    ):
        assert hardening in milter


def test_config_reference_is_current_and_complete() -> None:
    assert (REPO / "docs/config-reference.md").read_text() == render(), (
        "run: python -m aupmilter.configref > docs/config-reference.md"
    )
    undocumented = [f"{section}.{key}" for section, key, _, _, text in rows() if not text.strip()]
    assert undocumented == []


def test_init_writes_a_config_that_lints(tmp_path: Path) -> None:
    out = tmp_path / "site.toml"
    cli = [sys.executable, "-m", "aupmilter.cli"]
    made = subprocess.run(
        [
            *cli,
            "init",
            "--org",
            "Riverside Trust",
            "--domain",
            "riverside.sch.uk:Riverside Primary",
            "--domain",
            "hill.sch.uk",
            "--network",
            "10.20.0.0/16",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    lint = subprocess.run([*cli, "rules", "lint", "--config", str(out)], capture_output=True, text=True)
    assert lint.returncode == 0 and "2 schools" in lint.stdout
    again = subprocess.run(
        [*cli, "init", "--org", "X", "--domain", "x.example", "--out", str(out)], capture_output=True, text=True
    )
    assert again.returncode == 1 and "exists" in again.stderr


def test_wheel_ships_rules_templates_and_defaults(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
    )
    [wheel] = list(tmp_path.glob("aupmilter-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "aupmilter/rules/policy.toml",
        "aupmilter/rules/policy.d/attachments.toml",
        "aupmilter/rules/lexicon/lexicon.toml",
        "aupmilter/rules/lexicon/allowlist.txt",
        "aupmilter/rules/chain_letter.toml",
        "aupmilter/models/chain_letter.json",
        "aupmilter/models/phishing.json",
        "aupmilter/rules/disclaimers/default.html",
        "aupmilter/defaults/aupmilter.toml",
        "aupmilter/web/templates/item.html",
        "aupmilter/web/static/app.css",
    ):
        assert required in names, required


def test_postfix_snippets_are_what_the_harness_uses() -> None:
    harness = (REPO / "tests/harness/gateway.py").read_text()
    assert "deploy/postfix/main.cf.snippet" in harness and "deploy/postfix/master.cf.snippet" in harness
    main_cf = (REPO / "deploy/postfix/main.cf.snippet").read_text()
    for key in (
        "smtpd_milters",
        "non_smtpd_milters",
        "milter_default_action = tempfail",
        "milter_protocol = 6",
        "{auth_authen}",
    ):
        assert key in main_cf
