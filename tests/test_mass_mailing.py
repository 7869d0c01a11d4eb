"""Mass mailing / congestion: recipient tiers, visible lists, restricted lists, the repeat window.

Cheapest first: the check and policy through ``engine.evaluate``; the adapter-side rate window
with an injected clock; one labelled scenario set with measured precision; the CLI's offline
``--recent-identical``; and one end-to-end run through the real Postfix, where the third
identical message from one sender is refused while the first two pass.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest

from aupmilter.checks import discover
from aupmilter.checks.mass_mailing import RECENT_IDENTICAL
from aupmilter.checks.mass_mailing import SPEC as MASS_SPEC
from aupmilter.config import parse_config
from aupmilter.engine import Ruleset, evaluate
from aupmilter.errors import ConfigError
from aupmilter.message import MessageView
from aupmilter.model import Action, Decision, Envelope
from aupmilter.ratewindow import PER_KEY_CAP, RateWindow, annotate, body_digest, repeat_window_seconds
from aupmilter.ruleset import build_ruleset
from tests.harness.gateway import DEFAULT_CONFIG, Gateway

SITE = """
[organisation]
name = "T"
internal_networks = ["10.0.0.0/8"]

[[schools]]
domain = "oak.example"
name = "Oak School"

[[schools]]
domain = "birch.example"
name = "Birch Academy"
"""

LISTS: dict[str, Any] = {
    "restricted_lists": [
        {"address": "allstaff@oak.example", "name": "Oak all staff", "senders": ["head@oak.example", "office"]},
        {
            "address": "allparents@oak.example",
            "name": "Oak all parents",
            "senders": ["head@oak.example"],
            "require_auth": True,
        },
    ]
}


#: Other checks are off so these verdicts judge this check alone (the personal check stays: it
#: decides sealing, which this check must survive).
OTHERS_OFF = {name: {"enabled": False} for name in discover() if name not in ("mass_mailing", "personal")}


def ruleset(extra: str = "", options: dict[str, Any] | None = None) -> Ruleset:
    data = tomllib.loads(SITE + extra)
    data["checks"] = {**OTHERS_OFF, "mass_mailing": dict(LISTS if options is None else options)}
    return build_ruleset(parse_config(data, "site.toml"))


RS = ruleset()


def parents(n: int, domain: str = "home.test") -> list[str]:
    return [f"parent{i}@{domain}" for i in range(n)]


def raw(to: list[str] | None = None, cc: list[str] | None = None, body: str = "Reminder: trip on Friday.\n") -> bytes:
    msg = EmailMessage()
    msg["From"] = "teacher@oak.example"
    msg["To"] = ", ".join(to) if to else "undisclosed-recipients:;"
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = "Year 4 trip"
    msg["Message-ID"] = make_msgid(domain="oak.example")
    msg.set_content(body)
    return msg.as_bytes()


def decide(
    rcpts: list[str],
    *,
    message: bytes | None = None,
    sender: str = "teacher@oak.example",
    auth: str | None = "teacher",
    client: str | None = "203.0.113.9",
    recent: int = 0,
    rs: Ruleset = RS,
) -> Decision:
    env = Envelope(sender, tuple(rcpts), auth_user=auth, client_addr=client).with_fact(RECENT_IDENTICAL, recent)
    return evaluate(env, MessageView(message if message is not None else raw()), rs)


def rules(decision: Decision) -> list[str]:
    return [f.rule for f in decision.findings if f.rule.startswith("mass_mailing.")]


# --- recipient counts --------------------------------------------------------------------------


def test_teacher_bcc_to_a_class_of_30_parents_is_not_recorded() -> None:
    d = decide(parents(30))  # To: undisclosed-recipients:; envelope holds the class
    assert d.action is Action.ACCEPT and rules(d) == []


@pytest.mark.parametrize(
    ("count", "direction_domain", "action"),
    [
        (50, "home.test", Action.ACCEPT),  # "more than 50": 50 is fine
        (51, "home.test", Action.TAG),
        (200, "home.test", Action.TAG),
        (201, "home.test", Action.QUARANTINE),  # outbound tier
        (201, "birch.example", Action.TAG),  # internal: tag only
    ],
)
def test_recipient_tiers(count: int, direction_domain: str, action: Action) -> None:
    d = decide(parents(count, direction_domain))
    assert d.action is action
    if count > 50:
        [f] = [f for f in d.findings if f.rule == "mass_mailing.recipients"]
        assert f.score == count and str(count) in f.evidence
        assert "@" not in f.evidence
    else:
        assert rules(d) == []


def test_duplicate_and_case_variant_recipients_count_once() -> None:
    rcpts = parents(40) + [r.upper() for r in parents(40)] + [f"<{r}>" for r in parents(40)]
    assert rules(decide(rcpts)) == []


def test_header_count_used_when_the_envelope_is_split() -> None:
    # A client split one message over SMTP transactions: this one carries 2 envelope recipients,
    # but To/Cc lists 60 (all inside the trust, so nothing is "exposed").
    visible = parents(30, "oak.example") + parents(30, "birch.example")
    d = decide(visible[:2], message=raw(to=visible[:30], cc=visible[30:]))
    assert rules(d) == ["mass_mailing.recipients"] and d.action is Action.TAG


def test_inbound_volume_is_not_a_staff_matter() -> None:
    d = decide(parents(300, "oak.example"), sender="news@council.test", auth=None)
    assert rules(d) == [] and d.action is Action.ACCEPT


def test_visible_outside_list_is_recorded_outbound_only() -> None:
    shown = parents(25)
    d = decide(shown, message=raw(to=shown))
    assert rules(d) == ["mass_mailing.exposed_recipients"] and d.action is Action.TAG
    [f] = d.findings
    assert f.score == 25 and "@" not in f.evidence
    # Colleagues in To are not outside addresses; a few parents in To are normal.
    staff = parents(30, "oak.example") + parents(5)
    assert rules(decide(staff, message=raw(to=staff))) == []
    # Internal mail exposes no outside address at all.
    internal = parents(25, "birch.example")
    assert rules(decide(internal, message=raw(to=internal))) == []


# --- restricted lists ----------------------------------------------------------------------------


def test_head_may_send_to_the_all_staff_list() -> None:
    d = decide(["allstaff@oak.example"], sender="head@oak.example", auth="head@oak.example")
    assert rules(d) == [] and d.action is Action.ACCEPT


def test_office_login_and_head_address_from_inside_are_authorised() -> None:
    assert rules(decide(["allstaff@oak.example"], sender="office@oak.example", auth="Office")) == []
    # No login, but from an internal network: the envelope sender counts.
    d = decide(["allstaff@oak.example"], sender="head@oak.example", auth=None, client="10.2.3.4")
    assert rules(d) == []


def test_unauthorised_teacher_to_all_staff_is_blocked_naming_the_list_not_the_address() -> None:
    d = decide(["allstaff@oak.example", "colleague@oak.example"])
    assert rules(d) == ["mass_mailing.restricted_list"] and d.action is Action.BLOCK
    assert d.findings[0].evidence == 'restricted list "Oak all staff": sender not authorised'
    assert d.smtp_reply is not None and "authorised" in d.smtp_reply.text
    assert "allstaff@" not in str(d.smtp_reply)


def test_outsider_forging_the_heads_address_is_not_authorised() -> None:
    d = decide(["ALLSTAFF@oak.example"], sender="head@oak.example", auth=None, client="198.51.100.7")
    assert d.direction == "inbound"
    assert rules(d) == ["mass_mailing.restricted_list"] and d.action is Action.BLOCK


def test_require_auth_ignores_the_envelope_sender() -> None:
    d = decide(["allparents@oak.example"], sender="head@oak.example", auth=None, client="10.2.3.4")
    assert rules(d) == ["mass_mailing.restricted_list"]
    assert rules(decide(["allparents@oak.example"], sender="x@oak.example", auth="head@oak.example")) == []


def test_restricted_list_runs_on_sealed_personal_mail() -> None:
    msg = raw().replace(b"Subject: Year 4 trip", b"Subject: [Personal] party")
    d = decide(["allstaff@oak.example"], message=msg)
    assert d.sealed and "mass_mailing.restricted_list" in rules(d)


# --- repeats (the adapter's fact) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("earlier", "dest", "action", "found"),
    [
        (0, "p@home.test", Action.ACCEPT, False),
        (3, "p@home.test", Action.ACCEPT, False),  # 4th message: below the 5th
        (4, "p@home.test", Action.TAG, True),
        (19, "p@home.test", Action.QUARANTINE, True),  # 20th: outbound tier
        (19, "x@birch.example", Action.TAG, True),
    ],
)
def test_repeat_tiers(earlier: int, dest: str, action: Action, found: bool) -> None:
    d = decide([dest], recent=earlier)
    assert d.action is action
    assert rules(d) == (["mass_mailing.repeated"] if found else [])
    if found:
        assert d.findings[0].score == earlier + 1


def test_repeat_fact_ignored_on_inbound() -> None:
    assert rules(decide(["t@oak.example"], sender="x@out.test", auth=None, recent=50)) == []


# --- per school through the policy overlay -------------------------------------------------------

OAK_OFF = """
[[schools.action]]
match = "mass_mailing.recipients"
min_score = 0
all = "accept"
[[schools.action]]
match = "mass_mailing.recipients"
min_score = 201
all = "accept"
"""
OAK_TAG_ABOVE_100 = """
[[schools.action]]
match = "mass_mailing.recipients"
min_score = 0
all = "accept"
[[schools.action]]
match = "mass_mailing.recipients"
min_score = 101
outbound = "tag"
"""
OAK_BLOCK = """
[[schools.action]]
match = "mass_mailing.recipients"
min_score = 0
outbound = "block"
clause = "Oak: use the parent app for whole-school messages"
"""


def _school_rs(rows: str) -> Ruleset:
    # Rows go straight after the Oak [[schools]] table, before Birch's.
    site = SITE.replace('name = "Oak School"\n', 'name = "Oak School"\n' + rows)
    data = tomllib.loads(site)
    data["checks"] = {**OTHERS_OFF, "mass_mailing": LISTS}
    return build_ruleset(parse_config(data, "site.toml"))


def test_per_school_off_tag_block() -> None:
    off, tag100, block = _school_rs(OAK_OFF), _school_rs(OAK_TAG_ABOVE_100), _school_rs(OAK_BLOCK)
    assert decide(parents(250), rs=off).action is Action.ACCEPT
    assert "mass_mailing.recipients" in rules(decide(parents(250), rs=off))  # still recorded
    assert decide(parents(80), rs=tag100).action is Action.ACCEPT
    assert decide(parents(120), rs=tag100).action is Action.TAG
    assert decide(parents(250), rs=tag100).action is Action.QUARANTINE  # shipped upper tier kept
    d = decide(parents(60), rs=block)
    assert d.action is Action.BLOCK and d.smtp_reply is not None and "parent app" in d.smtp_reply.text
    # Birch keeps the shipped policy under every Oak overlay.
    for rs in (off, tag100, block):
        assert decide(parents(60), sender="t@birch.example", rs=rs).action is Action.TAG


def test_check_can_be_turned_off() -> None:
    data = tomllib.loads(SITE)
    data["checks"] = {"mass_mailing": {"enabled": False}}
    rs = build_ruleset(parse_config(data, "site.toml"))
    assert repeat_window_seconds(rs) is None
    assert rules(decide(parents(300), rs=rs, recent=50)) == []


# --- configuration is strict ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"recipient_limit": 10}, "recipient_limit"),
        ({"repeat_report_at": PER_KEY_CAP + 1}, "repeat_report_at"),
        ({"repeat_window_seconds": 0}, "repeat_window_seconds"),
        ({"recipients_report_at": True}, "recipients_report_at"),
        ({"restricted_lists": [{"address": "a@oak.example", "sender": ["x"]}]}, "restricted_lists[0].sender"),
        ({"restricted_lists": [{"address": "nobody"}]}, "restricted_lists[0].address"),
        ({"restricted_lists": {"address": "a@oak.example"}}, "restricted_lists"),
    ],
)
def test_bad_options_name_the_key(options: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        ruleset(options=options)
    assert key in str(err.value)


def test_rules_file_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    shutil.copytree(RS.config.rules_dir, tmp_path / "rules")
    path = tmp_path / "rules" / "mass_mailing.toml"
    path.write_text(path.read_text().replace("[repeat]\n", "[repeat]\nwindow_minutes = 5\n"))
    with pytest.raises(ConfigError) as err:
        MASS_SPEC.build(RS.config, {}, rules_dir=tmp_path / "rules")
    assert "mass_mailing.toml" in str(err.value) and "repeat.window_minutes" in str(err.value)


def test_options_override_rules_file() -> None:
    rs = ruleset(options={"recipients_report_at": 25, "repeat_report_at": 3, "repeat_window_seconds": 60})
    assert repeat_window_seconds(rs) == 60
    assert rules(decide(parents(30), rs=rs)) == ["mass_mailing.recipients"]
    assert decide(parents(30), rs=rs).action is Action.TAG  # the min_score = 0 row follows the floor
    assert rules(decide(["p@home.test"], recent=2, rs=rs)) == ["mass_mailing.repeated"]


# --- the adapter's rate window, with injected time -----------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_window_counts_earlier_identical_messages_and_expires() -> None:
    clock = Clock()
    w = RateWindow(clock=clock)
    d = body_digest(raw())
    assert [w.observe("t@oak.example", d, 600) for _ in range(3)] == [0, 1, 2]
    assert w.observe("T@OAK.example", d, 600) == 3  # sender case does not matter
    assert w.observe("other@oak.example", d, 600) == 0  # per sender
    assert w.observe("t@oak.example", body_digest(raw(body="Something else\n")), 600) == 0  # per body
    clock.now += 601
    assert w.observe("t@oak.example", d, 600) == 0  # all four have left the window
    clock.now += 300
    assert w.observe("t@oak.example", d, 600) == 1  # the one 300s ago is still inside


def test_window_sliding_edge() -> None:
    clock = Clock()
    w = RateWindow(clock=clock)
    w.observe("s", b"d", 10)
    clock.now += 5
    w.observe("s", b"d", 10)
    clock.now += 5  # the first is exactly window old: out; the second is 5s old: in
    assert w.observe("s", b"d", 10) == 1


def test_window_is_bounded_with_lru_eviction() -> None:
    clock = Clock()
    w = RateWindow(max_keys=2, clock=clock)
    w.observe("a", b"d", 600)
    w.observe("b", b"d", 600)
    w.observe("a", b"d", 600)  # touch a: b is now least recently used
    w.observe("c", b"d", 600)  # evicts b
    assert len(w) == 2
    assert w.observe("a", b"d", 600) == 2  # kept
    assert w.observe("b", b"d", 600) == 0  # forgotten (and now evicts c)
    assert w.observe("c", b"d", 600) == 0


def test_window_per_key_bound_saturates() -> None:
    w = RateWindow(per_key=5, clock=Clock())
    counts = [w.observe("s", b"d", 600) for _ in range(10)]
    assert counts == [0, 1, 2, 3, 4, 5, 5, 5, 5, 5]


def test_window_keeps_nothing_in_clear() -> None:
    w, other = RateWindow(clock=Clock()), RateWindow(clock=Clock())
    digest = body_digest(raw())
    w.observe("teacher@oak.example", digest, 600)
    [key] = list(w._entries)
    assert b"teacher" not in key and digest not in key and len(key) == 32
    assert other.key("teacher@oak.example", digest) != key  # per-process random HMAC key
    with pytest.raises(ValueError):
        RateWindow(max_keys=0)


def _mime(boundary: str, cid: str, text: str = "Dear all,\n\nThe trip is on Friday.\n") -> bytes:
    return (
        f'Content-Type: multipart/related; boundary="{boundary}"\r\nMessage-ID: <{cid}@x>\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        f'<p>{text}</p><img src=3D"cid:image001.png@{cid}">\r\n'
        f"--{boundary}\r\nContent-Type: image/png\r\nContent-ID: <image001.png@{cid}>\r\n\r\niVBORw0KGgo=\r\n"
        f"--{boundary}--\r\n"
    ).encode()


def test_digest_ignores_what_a_client_changes_per_send() -> None:
    a = _mime("----=_NextPart_000_0001_01DA", "01DA4F3C.1")
    b = _mime("----=_NextPart_000_0077_01DB", "01DB0000.9")
    assert body_digest(a) == body_digest(b)  # boundaries, Content-ID, cid: references
    assert body_digest(raw()) == body_digest(raw())  # different Message-ID headers
    rewrapped = raw(body="Reminder:   trip\non Friday.\n")
    assert body_digest(rewrapped) == body_digest(raw(body="Reminder: trip on Friday.\n"))
    # Chosen on purpose: a personalised greeting makes a different message (mail merge is not
    # congestion), and the body text itself obviously matters.
    assert body_digest(_mime("b", "c", "Dear Mrs Patel,\n\nThe trip")) != body_digest(
        _mime("b", "c", "Dear Mr Lee,\n\nThe trip")
    )
    assert body_digest(b"Subject: x\r\n\r\n") != body_digest(b"Subject: x\r\n\r\nhello")


def test_annotate_counts_only_our_own_senders() -> None:
    w = RateWindow(clock=Clock())
    msg = raw()
    env = Envelope("teacher@oak.example", ("p@home.test",), auth_user="teacher", client_addr="203.0.113.9")
    assert [annotate(w, env, msg, RS).fact(RECENT_IDENTICAL) for _ in range(3)] == [0, 1, 2]
    inbound = Envelope("spam@out.test", ("t@oak.example",), client_addr="198.51.100.1")
    assert [annotate(w, inbound, msg, RS).fact(RECENT_IDENTICAL) for _ in range(3)] == [0, 0, 0]
    bounce = Envelope("", ("p@home.test",), auth_user="teacher", client_addr="10.0.0.1")
    assert annotate(w, bounce, msg, RS).fact(RECENT_IDENTICAL) == 0
    assert len(w) == 1  # inbound and null-sender mail left no entry


def test_annotate_then_evaluate_third_identical_gets_the_action() -> None:
    rs = ruleset(options={**LISTS, "repeat_report_at": 3})
    w = RateWindow(clock=Clock())
    msg = raw()
    env = Envelope("teacher@oak.example", ("p@home.test",), auth_user="teacher", client_addr="203.0.113.9")
    actions = [evaluate(annotate(w, env, msg, rs), MessageView(msg), rs).action for _ in range(3)]
    assert actions == [Action.ACCEPT, Action.ACCEPT, Action.TAG]


# --- a small labelled set: measured precision -----------------------------------------------------


def _scenarios() -> list[tuple[str, bool, Callable[[], Decision]]]:
    """(name, should be flagged, run).  Hard negatives are everyday school mail."""
    staff = parents(40, "oak.example")

    def repeated(n: int, vary: bool, dest: str = "p@home.test") -> Decision:
        w = RateWindow(clock=Clock())
        env = Envelope("teacher@oak.example", (dest,), auth_user="teacher", client_addr="203.0.113.9")
        d: Decision | None = None
        for i in range(n):
            msg = raw(body=f"Dear parent of pupil {i},\n\nReport attached.\n" if vary else "Cake sale Friday!\n")
            d = evaluate(annotate(w, env, msg, RS), MessageView(msg), RS)
        assert d is not None
        return d

    return [
        ("class of 30 parents by Bcc", False, lambda: decide(parents(30))),
        ("year group of 45 parents by Bcc", False, lambda: decide(parents(45))),
        ("exactly 50 by Bcc", False, lambda: decide(parents(50))),
        ("head to the all-staff list", False, lambda: decide(["allstaff@oak.example"], sender="head@oak.example")),
        ("office login to the all-staff list", False, lambda: decide(["allstaff@oak.example"], auth="office")),
        ("head (auth) to all parents", False, lambda: decide(["allparents@oak.example"], auth="head@oak.example")),
        ("reply-all to 40 colleagues in To", False, lambda: decide(staff, message=raw(to=staff))),
        ("12 governors and partners in To", False, lambda: decide(parents(12), message=raw(to=parents(12)))),
        ("LA newsletter to 300 staff (inbound)", False, lambda: decide(staff * 8, sender="la@council.test", auth=None)),
        ("mail merge of 30 personalised reports", False, lambda: repeated(30, vary=True)),
        ("same note sent twice", False, lambda: repeated(2, vary=False)),
        ("4 identical sends", False, lambda: repeated(4, vary=False)),
        ("outbound to 60 parents by Bcc", True, lambda: decide(parents(60))),
        ("outbound to 250 addresses", True, lambda: decide(parents(250))),
        ("internal to 120 staff by address", True, lambda: decide(parents(120, "birch.example"))),
        ("teacher to the all-staff list", True, lambda: decide(["allstaff@oak.example"])),
        (
            "outsider to the all-parents list",
            True,
            lambda: decide(["allparents@oak.example"], sender="x@out.test", auth=None),
        ),
        (
            "forged head address from outside",
            True,
            lambda: decide(["allstaff@oak.example"], sender="head@oak.example", auth=None),
        ),
        (
            "head address, no login, to all parents",
            True,
            lambda: decide(["allparents@oak.example"], sender="head@oak.example", auth=None, client="10.1.1.1"),
        ),
        ("25 parents visible in To", True, lambda: decide(parents(25), message=raw(to=parents(25)))),
        ("6 identical sends in the window", True, lambda: repeated(6, vary=False)),
        ("compromised account: 30 identical sends", True, lambda: repeated(30, vary=False)),
    ]


def test_labelled_scenarios_precision() -> None:
    tp = fp = fn = tn = 0
    wrong = []
    for name, positive, run in _scenarios():
        flagged = run().action is not Action.ACCEPT
        tp += positive and flagged
        fp += flagged and not positive
        fn += positive and not flagged
        tn += not positive and not flagged
        if flagged != positive:
            wrong.append(name)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    print(f"\nmass_mailing labelled set: {tp + fn} positive, {tn + fp} negative; tp={tp} fp={fp} fn={fn} tn={tn}")
    print(f"mass_mailing precision={precision:.2f} recall={recall:.2f} misjudged={wrong}")
    assert precision == 1.0 and recall == 1.0, wrong


# --- offline CLI ---------------------------------------------------------------------------------


def test_cli_recent_identical(tmp_path: Path) -> None:
    f = tmp_path / "a.eml"
    f.write_bytes(b"From: t@oakfield.example\nTo: p@home.test\nSubject: Cake sale\n\nCakes on Friday.\n")
    cli = [sys.executable, "-m", "aupmilter.cli", "check", "--json"]
    out = subprocess.run([*cli, "--recent-identical", "4", str(f)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    obj = json.loads(out.stdout)
    assert obj["action"] == "tag" and [x["rule"] for x in obj["findings"]] == ["mass_mailing.repeated"]
    plain = subprocess.run([*cli, str(f)], capture_output=True, text=True, timeout=120)
    assert json.loads(plain.stdout)["findings"] == []
    bad = subprocess.run([*cli, "--recent-identical", "-1", str(f)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2


# --- end to end through the real Postfix ---------------------------------------------------------

E2E_CONFIG = (
    DEFAULT_CONFIG
    + """
[checks.mass_mailing]
repeat_report_at = 3
repeat_window_seconds = 600

[[action]]
match = "mass_mailing.repeated"
min_score = 0
outbound = "block"
clause = "test clause: the same message over and over"
"""
)


def _e2e_mail(body: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "teacher@oakfield.example"
    msg["To"] = "parent@home.test"
    msg["Subject"] = "Cake sale"
    msg["Message-ID"] = make_msgid(domain="oakfield.example")  # differs every send
    msg.set_content(body)
    return msg.as_bytes()


@pytest.mark.postfix
def test_third_identical_message_through_postfix_is_refused(make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway(E2E_CONFIG)

    def send(body: str) -> tuple[int, str]:
        return gw.send(_e2e_mail(body), "teacher@oakfield.example", ["parent@home.test"], auth_user="teacher")

    first, second = send("Cakes on Friday.\n"), send("Cakes on Friday.\n")
    assert first[0] == 250 and second[0] == 250
    code, text = send("Cakes on Friday.\n")
    assert code == 550 and "5.7.1" in text and "mass_mailing.repeated" in text and "test clause" in text
    assert send("A different note.\n")[0] == 250  # another body is another count
    delivered = gw.wait_delivered(3)
    assert len(delivered) == 3
    assert sum(b"Cakes on Friday." in d for d in delivered) == 2
