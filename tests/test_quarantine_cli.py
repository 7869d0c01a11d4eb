"""Quarantine CLI end to end: quarantined through the real Postfix, listed, shown, released
through Postfix's milter-free listener, arriving once; sealed content never printed."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import pytest

from tests.harness.gateway import DEFAULT_CONFIG, Gateway
from tests.test_e2e_postfix import mail

pytestmark = pytest.mark.postfix

QUARANTINE_PERSONAL = (
    DEFAULT_CONFIG
    + """
[[action]]
match = "personal.label"
inbound = "quarantine"
"""
)


def cli(gw: Gateway, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "aupmilter.cli",
            "quarantine",
            *args,
            "--config",
            str(gw.config_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_list_show_release_via_cli(make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway(QUARANTINE_PERSONAL)
    raw = mail(
        "Personal: medical appointment",
        "gp@surgery.test",
        "t@oakfield.example",
        body="Your test results are ready.\n",
    )
    assert gw.send(raw, "gp@surgery.test", ["t@oakfield.example", "u@oakfield.example"])[0] == 250
    listed = cli(gw, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [item] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert item["sealed"] is True and item["subject"] is None
    assert item["recipients"] == ["t@oakfield.example", "u@oakfield.example"]
    text = cli(gw, "list").stdout
    assert "(sealed)" in text and "medical" not in text

    shown = cli(gw, "show", item["id"])
    assert shown.returncode == 0 and "personal.label" in shown.stdout and "medical" not in shown.stdout
    denied = cli(gw, "show", item["id"], "--content")
    assert denied.returncode == 1 and "unseal" in denied.stderr
    assert "test results" not in denied.stdout

    unseal_denied = cli(gw, "unseal", item["id"], "--reason", "curious")
    assert unseal_denied.returncode == 1 and "may not unseal" in unseal_denied.stderr
    unsealed = cli(gw, "unseal", item["id"], "--role", "dpo", "--reason", "staff member asked for release")
    assert unsealed.returncode == 0 and "test results" in unsealed.stdout

    released = cli(gw, "release", item["id"], "--to", "t@oakfield.example")
    assert released.returncode == 0, released.stderr
    [delivered] = gw.wait_delivered(1)
    assert b"Your test results are ready." in delivered and b"X-AUP-Released" in delivered
    assert gw.sink_messages[0].recipients == ["t@oakfield.example"]
    # Not quarantined again, not delivered twice, and the other recipient is still held.
    assert cli(gw, "release", item["id"], "--to", "t@oakfield.example").returncode == 1
    assert [json.loads(x)["released_to"] for x in cli(gw, "list", "--json").stdout.splitlines()] == [
        ["t@oakfield.example"]
    ]

    audit = cli(gw, "audit", "--role", "dpo")
    actions = [line.split()[4] for line in audit.stdout.splitlines()]
    assert actions == ["quarantine", "show", "show", "unseal", "release"]
    assert cli(gw, "audit-verify").returncode == 0


def test_release_when_mta_refuses_reports_failure_and_keeps_item(
    make_gateway: Callable[..., Gateway],
) -> None:
    gw = make_gateway(QUARANTINE_PERSONAL)
    assert (
        gw.send(
            mail("[Personal] x", "a@outside.test", "t@oakfield.example"),
            "a@outside.test",
            ["t@oakfield.example"],
        )[0]
        == 250
    )
    [item] = [json.loads(line) for line in cli(gw, "list", "--json").stdout.splitlines()]
    subprocess.run(["/usr/sbin/postfix", "-c", str(gw.conf_dir), "stop"], check=True, capture_output=True)
    failed = cli(gw, "release", item["id"])
    assert failed.returncode == 1 and "NOT released" in failed.stderr
    assert [json.loads(x)["status"] for x in cli(gw, "list", "--json").stdout.splitlines()] == ["held"]
