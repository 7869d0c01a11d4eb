"""Issue 17: which config a command uses — --config, $AUPMILTER_CONFIG, /etc/aupmilter/aupmilter.toml
when it exists, else the demo — and never the demo silently when state is touched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aupmilter import config as config_mod
from aupmilter.config import ENV_VAR, resolve_config_path, shipped_default_config


def test_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    system = tmp_path / "etc" / "aupmilter.toml"
    monkeypatch.setattr(config_mod, "SYSTEM_CONFIG", system)
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_config_path(None) == shipped_default_config()
    system.parent.mkdir()
    system.write_text("")
    assert resolve_config_path(None) == system
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env.toml"))
    assert resolve_config_path(None) == tmp_path / "env.toml"
    assert resolve_config_path(str(tmp_path / "cli.toml")) == tmp_path / "cli.toml"


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    return subprocess.run(
        [sys.executable, "-m", "aupmilter.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**base, **(env or {})},
    )


@pytest.mark.skipif(config_mod.SYSTEM_CONFIG.exists(), reason="this box has a real /etc/aupmilter config")
def test_state_commands_say_when_they_use_the_demo_config(tmp_path: Path) -> None:
    for args in (("user", "list"), ("quarantine", "list"), ("report", "--since", "1d")):
        out = cli(*args, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        assert "using the built-in demo configuration" in out.stderr, args
        assert str(tmp_path / "var" / "quarantine") in out.stderr  # where the state is going
    eml = tmp_path / "m.eml"
    eml.write_bytes(b"From: a@outside.test\r\nTo: t@oakfield.example\r\nSubject: hi\r\n\r\nhello\r\n")
    offline = cli("check", str(eml), cwd=tmp_path)
    assert offline.returncode == 0 and "demo configuration" not in offline.stderr  # no state touched
    site = tmp_path / "site.toml"
    site.write_text(shipped_default_config().read_text())
    named = cli("user", "list", cwd=tmp_path, env={ENV_VAR: str(site)})
    assert named.returncode == 0 and "demo configuration" not in named.stderr
