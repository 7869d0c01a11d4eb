"""SIGHUP reload keeps the running policy when the new one is invalid; SIGTERM stops cleanly."""

from __future__ import annotations

import signal
import urllib.request
from collections.abc import Callable

import pytest

from tests.harness.gateway import Gateway, wait_for
from tests.test_e2e_postfix import mail

pytestmark = pytest.mark.postfix


def scrape(gw: Gateway) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{gw.metrics_port}/metrics", timeout=5) as resp:
        text: str = resp.read().decode()
        return text


def metric(gw: Gateway, name: str) -> float | None:
    for line in scrape(gw).splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def test_sighup_reload_keeps_old_policy_on_error_and_applies_valid_change(
    make_gateway: Callable[..., Gateway],
) -> None:
    gw = make_gateway()
    assert gw.milter is not None
    good = gw.config_path.read_text()
    assert metric(gw, "aupmilter_config_generation") == 1.0

    gw.config_path.write_text(good + "\n[milter]\nno_such_key = 1\n")
    gw.milter.send_signal(signal.SIGHUP)
    wait_for(lambda: metric(gw, "aupmilter_config_last_reload_successful") == 0.0, 20, "failed reload")
    assert metric(gw, "aupmilter_config_generation") == 1.0
    assert "reload failed, keeping policy generation 1" in gw.milter_log.read_text()
    assert (
        gw.send(
            mail("Still running", "p@home.test", "o@oakfield.example"),
            "p@home.test",
            ["o@oakfield.example"],
        )[0]
        == 250
    )
    gw.wait_delivered(1)

    gw.config_path.write_text(good + '\n[[action]]\nmatch = "personal.label"\ninbound = "block"\n')
    gw.milter.send_signal(signal.SIGHUP)
    wait_for(lambda: metric(gw, "aupmilter_config_generation") == 2.0, 20, "generation 2")
    assert metric(gw, "aupmilter_config_last_reload_successful") == 1.0
    code, _ = gw.send(
        mail("Personal: x", "p@home.test", "o@oakfield.example"),
        "p@home.test",
        ["o@oakfield.example"],
    )
    assert code == 550


def test_sigterm_exits_zero(make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway()
    assert gw.stop_milter() == 0


def test_refuses_to_start_on_invalid_config(make_gateway: Callable[..., Gateway]) -> None:
    import subprocess
    import sys

    gw = make_gateway()
    bad = gw.root / "bad.toml"
    bad.write_text("[milter]\nfailure_action = 'shrug'\n")
    result = subprocess.run(
        [sys.executable, "-m", "aupmilter.cli", "run", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "refusing to start" in result.stderr and "milter.failure_action" in result.stderr
