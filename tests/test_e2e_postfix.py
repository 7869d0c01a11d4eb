"""End to end through a real private Postfix: accept+tag, block, quarantine, milter crash."""

from __future__ import annotations

import json
from collections.abc import Callable
from email.message import EmailMessage

import pytest

from tests.harness.gateway import DEFAULT_CONFIG, Gateway

pytestmark = pytest.mark.postfix

BLOCK_PERSONAL_OUTBOUND = (
    DEFAULT_CONFIG
    + """
[[action]]
match = "personal.label"
outbound = "block"
inbound = "quarantine"
clause = "test clause: personal mail may not be sent"
"""
)


def mail(subject: str, sender: str, to: str, body: str = "Hello,\nsee you at the meeting.\n") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{abs(hash((subject, sender, to)))}@test>"
    msg.set_content(body)
    return msg.as_bytes()


def test_clean_mail_is_delivered_with_verdict_header(make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway()
    code, _ = gw.send(
        mail("Trip to the museum", "parent@home.test", "office@oakfield.example"),
        "parent@home.test",
        ["office@oakfield.example"],
    )
    assert code == 250
    [delivered] = gw.wait_delivered(1)
    assert b"X-AUP-Verdict: accept" in delivered
    assert b"Trip to the museum" in delivered


def test_blocked_mail_gets_550_and_never_reaches_sink(make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway(BLOCK_PERSONAL_OUTBOUND)
    code, text = gw.send(
        mail("[Personal] weekend plans", "teacher@oakfield.example", "friend@gmail.test"),
        "teacher@oakfield.example",
        ["friend@gmail.test"],
        auth_user="teacher",
    )
    assert code == 550
    assert "5.7.1" in text and "test clause" in text and "personal.label" in text
    # A clean message sent afterwards arrives: proves the sink was reachable all along.
    assert (
        gw.send(
            mail("Minutes", "teacher@oakfield.example", "gov@council.test"),
            "teacher@oakfield.example",
            ["gov@council.test"],
            auth_user="teacher",
        )[0]
        == 250
    )
    delivered = gw.wait_delivered(1)
    assert len(delivered) == 1 and b"Minutes" in delivered[0]


def test_quarantined_mail_is_stored_not_delivered(make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway(BLOCK_PERSONAL_OUTBOUND)
    raw = mail("Personal: hello", "someone@outside.test", "teacher@oakfield.example")
    code, _ = gw.send(raw, "someone@outside.test", ["teacher@oakfield.example"])
    assert code == 250  # accepted, then discarded from the flow by the milter
    gw.send(
        mail("Marker", "a@outside.test", "teacher@oakfield.example"),
        "a@outside.test",
        ["teacher@oakfield.example"],
    )
    delivered = gw.wait_delivered(1)
    assert len(delivered) == 1 and b"Marker" in delivered[0]

    from aupmilter.config import load_config
    from aupmilter.quarantine import open_store

    store = open_store(load_config(str(gw.config_path)).quarantine)
    items = store.list()
    assert len(items) == 1
    item = items[0]
    assert item.record.recipients == ("teacher@oakfield.example",)
    assert item.record.direction == "inbound"
    assert [f.rule for f in item.record.findings] == ["personal.label"]
    assert item.record.sealed is True


def test_milter_down_tempfails_then_delivers_after_recovery(
    make_gateway: Callable[..., Gateway],
) -> None:
    gw = make_gateway()
    gw.kill_milter()
    raw = mail("Sent while the milter was down", "parent@home.test", "office@oakfield.example")
    code, text = gw.send(raw, "parent@home.test", ["office@oakfield.example"])
    assert 400 <= code < 500, (code, text)
    assert gw.sink_messages == []
    # The client (here: us) retries later, as any MTA would after a 4xx.
    gw.start_milter()
    code, _ = gw.send(raw, "parent@home.test", ["office@oakfield.example"])
    assert code == 250
    [delivered] = gw.wait_delivered(1)
    assert b"X-AUP-Verdict: accept" in delivered


def test_milter_crash_after_accept_leaves_message_queued_then_delivered(
    make_gateway: Callable[..., Gateway],
) -> None:
    """Mail Postfix accepted before the crash is never lost: it is delivered (already checked)."""
    gw = make_gateway()
    for i in range(3):
        assert (
            gw.send(
                mail(f"n{i}", "p@home.test", "office@oakfield.example"),
                "p@home.test",
                ["office@oakfield.example"],
            )[0]
            == 250
        )
    gw.kill_milter()
    delivered = gw.wait_delivered(3)
    assert sorted(json.dumps(d.count(b"X-AUP-Verdict")) for d in delivered) == ["1", "1", "1"]


def test_personal_use_modes_per_school_through_postfix(make_gateway: Callable[..., Gateway]) -> None:
    """Birchwood (policy 003) forbids personal use: labelled outbound mail is refused with its
    rule; Oakfield allows it with the label: tagged, delivered.  Mail from staff goes out via
    SMTP AUTH, as it would from a laptop at home."""
    gw = make_gateway()
    code, text = gw.send(
        mail("[Personal] dinner", "t@birchwood.example", "friend@home.test"),
        "t@birchwood.example",
        ["friend@home.test"],
        auth_user="teacher",
    )
    assert code == 550 and "Birchwood Academy" in text and "personal.prohibited" in text
    code, _ = gw.send(
        mail("[Personal] dinner", "t@oakfield.example", "friend@home.test"),
        "t@oakfield.example",
        ["friend@home.test"],
        auth_user="teacher",
    )
    assert code == 250
    [delivered] = gw.wait_delivered(1)
    # Tagged, and the verdict stays inside the trust: no X-AUP-Verdict/Findings to outsiders.
    assert b"[Personal] dinner" in delivered and b"X-AUP-Disclaimer: oakfield.example; v=1; mac=" in delivered
    assert b"X-AUP-Verdict" not in delivered and b"X-AUP-Findings" not in delivered


def test_milter_socket_admits_only_postfix(make_gateway: Callable[..., Gateway]) -> None:
    import grp
    import stat

    gw = make_gateway()
    st = gw.milter_socket.stat()
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) & 0o007 == 0  # nothing for "other"
    assert grp.getgrgid(st.st_gid).gr_name == "postfix"
