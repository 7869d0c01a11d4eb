"""Through the real Postfix: outbound mail reaches the sink with the disclaimer once and a DKIM
signature that verifies; inbound mail is untouched."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable
from pathlib import Path

import dkim as dkimpy
import pytest

from tests.harness.gateway import DEFAULT_CONFIG, Gateway
from tests.test_e2e_postfix import mail

pytestmark = pytest.mark.postfix


def test_outbound_disclaimer_and_dkim_through_postfix(make_gateway: Callable[..., Gateway], tmp_path: Path) -> None:
    key = tmp_path / "oak.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    key.chmod(0o600)
    der = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)
    config = (
        DEFAULT_CONFIG
        + f"""
[checks.disclaimer]
scope = "external"
[dkim."oakfield.example"]
selector = "aup"
key_file = "{key}"
"""
    )
    gw = make_gateway(config)
    assert (
        gw.send(
            mail("Trip letter", "teacher@oakfield.example", "parent@home.test"),
            "teacher@oakfield.example",
            ["parent@home.test"],
            auth_user="teacher",
        )[0]
        == 250
    )
    assert (
        gw.send(
            mail("Question", "parent@home.test", "teacher@oakfield.example"),
            "parent@home.test",
            ["teacher@oakfield.example"],
        )[0]
        == 250
    )
    gw.wait_delivered(2)
    by_rcpt = {m.recipients[0]: m.data for m in gw.sink_messages}
    outbound = by_rcpt["parent@home.test"]
    assert outbound.count(b"Oakfield Primary School, part of") == 1
    assert b"X-AUP-Disclaimer: oakfield.example" in outbound
    assert dkimpy.verify(
        outbound,
        dnsfunc=lambda name, timeout=5: record if name == b"aup._domainkey.oakfield.example." else None,
    )
    inbound = by_rcpt["teacher@oakfield.example"]
    assert b"Oakfield Primary School, part of" not in inbound and b"DKIM-Signature" not in inbound
