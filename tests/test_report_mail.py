"""Issue 17: the weekly report arrives as a well-formed message (it had no Subject and no To).

The unit's own pipeline — ``aupmilter report --mail-to … | sendmail -t -i`` — is run against the
real private Postfix (its ``sendmail -C``), and what reaches the sink is parsed with the stdlib."""

from __future__ import annotations

import email
import email.policy
import email.utils
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.harness.gateway import Gateway

REPO = Path(__file__).resolve().parents[1]


def unit_exec_start() -> str:
    text = (REPO / "deploy/systemd/aupmilter-report.service").read_text()
    line = next(x for x in text.splitlines() if x.startswith("ExecStart="))
    m = re.fullmatch(r"ExecStart=/bin/sh -c '(.*)'", line)
    assert m, line
    return m.group(1)


@pytest.mark.postfix
def test_report_unit_pipeline_delivers_a_parseable_message(make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway()
    pipeline = (
        unit_exec_start()
        .replace("/opt/aupmilter/venv/bin/aupmilter", f"{sys.executable} -m aupmilter.cli")
        .replace("report ", f"report --config {gw.config_path} ", 1)
        .replace("/usr/sbin/sendmail", f"/usr/sbin/sendmail -C {gw.conf_dir}")
    )
    done = subprocess.run(
        ["/bin/sh", "-c", pipeline],
        env={"PATH": "/usr/bin:/bin", "REPORT_TO": "head@oakfield.example"},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=gw.root,
    )
    assert done.returncode == 0, done.stderr
    gw.flush()
    [raw] = gw.wait_delivered(1, timeout=60)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["To"] == "head@oakfield.example"
    assert msg["Subject"].startswith("E-mail acceptable use report ")
    assert email.utils.parsedate_to_datetime(msg["Date"]) is not None
    assert msg["Message-ID"] and msg["From"] == "aupmilter-noreply@oakfield.example"
    assert msg.get_content_type() == "multipart/alternative"
    assert "Messages with findings: 0" in msg.get_body(("plain",)).get_content()
    assert [m.recipients for m in gw.sink_messages] == [["head@oakfield.example"]]  # sendmail -t read To


def test_bad_report_address_is_a_usage_error(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "aupmilter.cli", "report", "--mail-to", "head@x.example\nBcc: all@x.example"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 2 and "--mail-to" in out.stderr
