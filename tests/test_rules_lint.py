"""``aupmilter rules lint`` on broken rules files: exit 2, naming the file and the key.

The three cases a design review reproduced as tracebacks (issue 18), plus the schema's own
promises: unknown keys, wrong types, bad encodings, and policy rows that no check can match.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aupmilter.config import shipped_rules_dir


def _site(tmp_path: Path, edit: str, old: str | bytes, new: str | bytes) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(shipped_rules_dir(), rules)
    target = rules / edit
    data = target.read_bytes()
    old_b = old.encode() if isinstance(old, str) else old
    new_b = new.encode() if isinstance(new, str) else new
    assert old_b in data, f"{old!r} not in {edit}"
    target.write_bytes(data.replace(old_b, new_b, 1))
    site = tmp_path / "site.toml"
    site.write_text(f'[organisation]\nrules_dir = "{rules}"\n[[schools]]\ndomain = "oakfield.example"\n')
    return site


def _lint(site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aupmilter.cli", "rules", "lint", "--config", str(site)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("rules_file", "old", "new", "key", "problem"),
    [
        ("chain_letter.toml", "threshold = 0.5", 'threshold = "high"', "model.threshold", "expected number"),
        (
            "attachments.toml",
            'extensions = ["exe"',
            'extensions = "exe"\nmagic_unused = ["exe"',
            "type[0].extensions",
            "expected list of strings",
        ),
        ("identity.toml", b"\n[", b"\n# caf\xe9\n[", "line", "not UTF-8"),
        ("mass_mailing.toml", "report_at = 51", "report_at = true", "recipients.report_at", "expected integer"),
        ("mass_mailing.toml", "report_at = 51", "report_at = 1", "recipients.report_at", "must be at least 2"),
        ("personal.toml", "business_cues", "business_cuse", "business_cuse", "unknown key"),
        ("webmail.toml", "\ndomains", "\ndomain", "domain", "unknown key"),
        (
            "notifications.toml",
            'directions = ["outbound", "internal", "inbound"]',
            'directions = ["outbound", "sideways"]',
            "notify[0].directions[1]",
            "must be one of inbound, outbound, internal",
        ),
    ],
)
def test_broken_rules_file_exits_2_naming_file_and_key(
    tmp_path: Path, rules_file: str, old: str | bytes, new: str | bytes, key: str, problem: str
) -> None:
    site = _site(tmp_path, rules_file, old, new)
    out = _lint(site)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert f"{tmp_path / 'rules' / rules_file}: {key}" in out.stderr, out.stderr
    assert problem in out.stderr


def test_policy_row_no_check_raises_is_refused(tmp_path: Path) -> None:
    site = _site(tmp_path, "policy.d/offensive.toml", 'match = "offensive"', 'match = "ofensive"')
    out = _lint(site)
    assert out.returncode == 2
    assert "'ofensive' is no rule id or category any check raises" in out.stderr


def test_shipped_rules_lint_clean(tmp_path: Path) -> None:
    site = _site(tmp_path, "webmail.toml", "domains", "domains")
    out = _lint(site)
    assert out.returncode == 0, out.stderr
