"""Metrics, notifications and the digest report, through the real Postfix."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]

from aupmilter import metrics
from aupmilter.config import load_config
from aupmilter.quarantine import open_store
from tests.harness.gateway import Gateway, wait_for
from tests.test_e2e_postfix import mail

REPO = Path(__file__).resolve().parents[1]
CONFIG = """
[organisation]
name = "Test Trust"
internal_networks = ["10.0.0.0/8"]

[[schools]]
domain = "oakfield.example"
name = "Oakfield Primary School"
[schools.contacts]
it = "it@oakfield.example"
headteacher = "head@oakfield.example"
dsl = "dsl@oakfield.example"
"""


def scrape(gw: Gateway) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{gw.metrics_port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


@pytest.mark.postfix
def test_metrics_move_notifications_sent_and_report_matches(
    make_gateway: Callable[..., Gateway],
) -> None:
    gw = make_gateway(CONFIG)
    before = scrape(gw)
    # Outbound offensive mail: blocked, reported to head + IT.
    code, _ = gw.send(
        mail(
            "hello",
            "teacher@oakfield.example",
            "parent@home.test",
            body="You are a f*cking idiot.\n",
        ),
        "teacher@oakfield.example",
        ["parent@home.test"],
        auth_user="teacher",
    )
    assert code == 550
    # Inbound offensive mail: tagged, not reported to anyone.
    assert (
        gw.send(
            mail("hello", "angry@home.test", "teacher@oakfield.example", body="This is shit.\n"),
            "angry@home.test",
            ["teacher@oakfield.example"],
        )[0]
        == 250
    )
    # Inbound executable: quarantined, IT told with a link.
    from tests.attachment_builders import message_with, pe_bytes

    assert (
        gw.send(
            message_with([("setup.exe", pe_bytes(), "application/octet-stream")]),
            "x@outside.test",
            ["t@oakfield.example"],
        )[0]
        == 250
    )
    wait_for(
        lambda: sum(1 for m in gw.sink_messages if b"X-AUP-Notification: 1" in m.data) >= 2,
        30,
        "notifications",
    )
    notes = [m for m in gw.sink_messages if b"X-AUP-Notification: 1" in m.data]
    offensive = next(m for m in notes if b"offensive.profanity" in m.data)
    assert sorted(offensive.recipients) == ["head@oakfield.example", "it@oakfield.example"]
    assert b"idiot" not in offensive.data and b"f*cking" not in offensive.data.lower()
    exe = next(m for m in notes if b"attachment.executable" in m.data)
    assert exe.recipients == ["it@oakfield.example"] and b"/item/" in exe.data
    assert len(notes) == 2  # nothing for the inbound offensive mail

    after = scrape(gw)

    def delta(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    assert delta('aupmilter_messages_total{action="block",direction="outbound",school="oakfield.example"}') == 1
    assert delta('aupmilter_messages_total{action="tag",direction="inbound",school="oakfield.example"}') == 1
    assert delta('aupmilter_messages_total{action="quarantine",direction="inbound",school="oakfield.example"}') == 1
    assert delta('aupmilter_findings_total{category="offensive.profanity",rule="offensive.profanity.strong"}') >= 1
    assert delta("aupmilter_processing_seconds_count") >= 3
    assert after['aupmilter_quarantine_held_items{age="lt_1d",category="attachment"}'] == 1
    assert after['aupmilter_notifications_total{outcome="sent"}'] >= 2
    for name in after:  # no addresses or subjects in any label
        assert "@" not in name and "hello" not in name

    config = load_config(str(gw.config_path))
    store = open_store(config.quarantine)
    wait_for(
        lambda: (
            len(
                store.events(
                    dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
                    dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1),
                )
            )
            >= 3
        ),
        20,
        "events",
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "aupmilter.cli",
            "report",
            "--since",
            "1d",
            "--format",
            "json",
            "--config",
            str(gw.config_path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(out.stdout)
    assert report["messages_with_findings"] == 3
    assert report["by_action"] == {"block": 1, "tag": 1, "quarantine": 1}
    assert report["quarantine_still_held"] == len(store.list()) == 1
    assert report["by_category"]["attachment.executable"]["count"] == 1


def _metric_names() -> set[str]:
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "info": ("_info",),
    }
    names = set()
    for family in metrics.REGISTRY.collect():
        names.add(family.name)
        names |= {family.name + s for s in suffixes.get(family.type, ())}
    names |= {"aupmilter_quarantine_held_items", "up"}
    return names


def test_dashboard_queries_name_existing_metrics() -> None:
    dashboard = json.loads((REPO / "deploy/grafana/aupmilter.json").read_text())
    known = _metric_names()
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 8
    for expr in exprs:
        used = set(re.findall(r"\b(aupmilter_[a-z_]+|up)\b", expr))
        assert used and used <= known, (expr, used - known)


def test_alert_rules_pass_promtool_and_unit_tests() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool missing: `make test` installs the Debian prometheus package")
    rules = REPO / "deploy/prometheus/aupmilter-rules.yml"
    subprocess.run([promtool, "check", "rules", str(rules)], check=True, capture_output=True)
    result = subprocess.run(
        [promtool, "test", "rules", str(REPO / "deploy/prometheus/aupmilter-rules.test.yml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    known = _metric_names()
    for group in yaml.safe_load(rules.read_text())["groups"]:
        for rule in group["rules"]:
            used = set(re.findall(r"\b(aupmilter_[a-z_]+)\b", rule["expr"]))
            assert used <= known | {
                r.get("record") for g in yaml.safe_load(rules.read_text())["groups"] for r in g["rules"]
            }, used


@pytest.mark.postfix
def test_notifications_carry_no_text_the_sender_chose(make_gateway: Callable[..., Gateway]) -> None:
    """Issue 23: an attachment named like a link was quoted verbatim in the gateway's own mail
    to IT; a notification now says what happened (rule, category, counts, link) and nothing the
    sender wrote: no file name, no subject, no address."""
    from tests.attachment_builders import message_with, pe_bytes

    gw = make_gateway(CONFIG)
    lure = "https://pay-now.evil.test/login?acct=1 URGENT.exe"
    raw = message_with(
        [(lure, pe_bytes(), "application/octet-stream")],
        subject="Visit https://evil.test/now",
        sender="ceo.office@evil.test",
    )
    assert gw.send(raw, "ceo.office@evil.test", ["t@oakfield.example"])[0] == 250
    wait_for(lambda: any(b"X-AUP-Notification: 1" in m.data for m in gw.sink_messages), 30, "notification")
    [note] = [m for m in gw.sink_messages if b"X-AUP-Notification: 1" in m.data]
    import email
    import email.policy

    parsed = email.message_from_bytes(note.data, policy=email.policy.default)
    text = str(parsed["Subject"]) + "\n" + parsed.get_content()  # type: ignore[attr-defined]
    assert "attachment.executable" in text and "/item/" in text
    assert "evil.test" not in text and "pay-now" not in text and "URGENT" not in text
    assert "ceo.office" not in text and "Visit" not in text
