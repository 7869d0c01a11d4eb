"""Quarantine CLI end to end: quarantined through the real Postfix, listed, shown, released
through Postfix's milter-free listener, arriving once; sealed content never printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.harness.gateway import DEFAULT_CONFIG, Gateway
from tests.test_e2e_postfix import mail

pytestmark = pytest.mark.postfix

#: Roles come from OS groups.  The tests run as root; a gid with no group name matches by its
#: number, so the test can hand the CLI process a group without adding one to the system.
DPO_GID = 64901
AUDITOR_GID = 64902
QUARANTINE_PERSONAL = (
    DEFAULT_CONFIG
    + f"""
[[action]]
match = "personal.label"
inbound = "quarantine"

[review.os_roles]
reviewer = ["root"]
dpo = ["{DPO_GID}"]
auditor = ["{AUDITOR_GID}"]
"""
)


def cli(
    gw: Gateway,
    *args: str,
    extra_groups: list[int] | None = None,
    group: int | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The CLI as a separate process, optionally with other real groups (as a login gives)."""
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
        extra_groups=extra_groups,
        group=group,
        env=dict(os.environ, **(env or {})),
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
    unsealed = cli(gw, "unseal", item["id"], "--reason", "staff member asked for release", extra_groups=[DPO_GID])
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

    audit = cli(gw, "audit", extra_groups=[DPO_GID])
    actions = [line.split()[4] for line in audit.stdout.splitlines()]
    assert actions == ["quarantine", "show", "show", "unseal", "release"]
    assert cli(gw, "audit-verify").returncode == 0
    verified = cli(gw, "audit", "verify")
    assert verified.returncode == 0 and "5 audit records verified" in verified.stdout


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


# --- issue 23 -----------------------------------------------------------------------------------


def test_role_and_actor_come_from_the_real_uid_and_groups(make_gateway: Callable[..., Gateway]) -> None:
    """The reproduced attack: ``SUDO_USER=headteacher ... unseal ID --role dpo``."""
    gw = make_gateway(QUARANTINE_PERSONAL)
    assert (
        gw.send(mail("[Personal] x", "a@outside.test", "t@oakfield.example"), "a@outside.test", ["t@oakfield.example"])[
            0
        ]
        == 250
    )
    [item] = [json.loads(line) for line in cli(gw, "list", "--json").stdout.splitlines()]
    spoofed = cli(
        gw,
        "unseal",
        item["id"],
        "--role",
        "dpo",
        "--reason",
        "HR ref 114 requested",
        env={"SUDO_USER": "headteacher", "USER": "headteacher", "LOGNAME": "headteacher"},
    )
    assert spoofed.returncode == 2 and "--role" in spoofed.stderr  # no such flag any more
    denied = cli(gw, "unseal", item["id"], "--reason", "HR ref 114 requested", env={"SUDO_USER": "headteacher"})
    assert denied.returncode == 1 and "may not unseal" in denied.stderr
    ok = cli(
        gw,
        "unseal",
        item["id"],
        "--reason",
        "HR ref 114 requested",
        extra_groups=[DPO_GID],
        env={"SUDO_USER": "headteacher"},
    )
    assert ok.returncode == 0, ok.stderr
    log = [json.loads(x) for x in cli(gw, "audit", "--json", extra_groups=[DPO_GID]).stdout.splitlines()]
    assert [(r["action"], r["actor"], r["role"]) for r in log if r["action"] == "unseal"] == [
        ("unseal", "cli:root", "dpo")
    ]
    assert all("headteacher" not in r["actor"] for r in log)

    # Under sudo the kernel's login uid (set at login, kept across sudo) names the person.
    def logged_in_as_nobody() -> None:
        Path("/proc/self/loginuid").write_text("65534")

    sudoed = subprocess.run(
        [sys.executable, "-m", "aupmilter.cli", "quarantine", "show", item["id"], "--config", str(gw.config_path)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=logged_in_as_nobody,
        env=dict(os.environ, SUDO_USER="headteacher"),
    )
    assert sudoed.returncode == 0, sudoed.stderr
    log = [json.loads(x) for x in cli(gw, "audit", "--json", extra_groups=[DPO_GID]).stdout.splitlines()]
    assert log[-1]["action"] == "show" and log[-1]["actor"] == "cli:nobody (as root)"
    # Only the auditor group (no root group): metadata, no content, no release.
    auditor = cli(gw, "show", item["id"], "--content", group=AUDITOR_GID, extra_groups=[])
    assert auditor.returncode == 1 and "may not content" in auditor.stderr
    nobody = cli(gw, "list", group=64999, extra_groups=[])
    assert nobody.returncode == 1 and "none of the groups" in nobody.stderr


def test_cli_output_escapes_control_characters_and_newlines(make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway(QUARANTINE_PERSONAL)
    # An RFC 2047 subject that decodes to a terminal title change and a screen clear.
    subject = "=?utf-8?q?Invoice=1B]0;owned=07=1B[2J=1B[31m?="
    from tests.attachment_builders import message_with, pe_bytes

    raw = message_with([("a.exe", pe_bytes(), "application/octet-stream")], subject="PLACEHOLDER")
    raw = raw.replace(b"Subject: PLACEHOLDER", b"Subject: " + subject.encode())
    assert gw.send(raw, "a@outside.test", ["t@oakfield.example"])[0] == 250
    items = [json.loads(line) for line in cli(gw, "list", "--json").stdout.splitlines()]
    quarantined = next(i for i in items if "\x1b" in (i["subject"] or ""))
    listed = cli(gw, "list")
    assert listed.returncode == 0
    assert "\x1b" not in listed.stdout and "\x07" not in listed.stdout
    assert "\\x1b]0;owned" in listed.stdout  # shown, escaped
    assert "\x1b" not in cli(gw, "list", "--json").stdout
    shown = cli(gw, "show", quarantined["id"])
    assert "\x1b" not in shown.stdout
    forged = "spam\n    99 2026-01-01T00:00:00+00:00 cli:head (dpo) unseal - nothing to see"
    assert cli(gw, "delete", quarantined["id"], "--reason", forged).returncode == 0
    audit = cli(gw, "audit", extra_groups=[DPO_GID])
    lines = audit.stdout.splitlines()
    assert len(lines) == len(cli(gw, "audit", "--json", extra_groups=[DPO_GID]).stdout.splitlines())
    assert not any(line.lstrip().startswith("99 ") for line in lines)
    assert any("spam\\n    99" in line for line in lines)
