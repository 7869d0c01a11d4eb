"""Sender identity (001 4.4.4, 002, 003, 004 #13): logins vs From/Sender/envelope, delegations,
assumed names, outside display-name impersonation of staff, per-school actions, the labelled
corpus (precision/recall) and one real Postfix + SASL submission."""

from __future__ import annotations

import json
import shutil
import sys
import tomllib
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from aupmilter.config import load_config, parse_config, shipped_rules_dir
from aupmilter.engine import Ruleset, evaluate
from aupmilter.errors import ConfigError
from aupmilter.message import MessageView
from aupmilter.model import Action, Decision, Envelope
from aupmilter.ruleset import build_ruleset
from tests.harness.gateway import DEFAULT_CONFIG, Gateway

CORPUS = Path(__file__).parent / "fixtures" / "identity"
SITE = (CORPUS / "site.toml").read_text()
RS = build_ruleset(load_config(str(CORPUS / "site.toml")))

#: Floors for the labelled corpus.  The corpus was written with the rules (not blind), so these
#: say "no regression", not "this is the recall on real fraud".
PRECISION_FLOOR = 0.95
RECALL_FLOOR = 0.90


def ruleset(extra: str = "", site: str = SITE, **identity: Any) -> Ruleset:
    data = tomllib.loads(site + extra)
    if identity:
        data.setdefault("checks", {}).setdefault("identity", {}).update(identity)
    return build_ruleset(parse_config(data, "site.toml"))


def raw(from_: str, to: str = "teacher@oakfield.example", subject: str = "Hello", extra: str = "") -> bytes:
    return f"From: {from_}\r\nTo: {to}\r\nSubject: {subject}\r\n{extra}\r\nHi there.\r\n".encode()


def inbound(from_: str, rs: Ruleset = RS) -> Decision:
    env = Envelope("bounce@outside.test", ("teacher@oakfield.example",), client_addr="198.51.100.7")
    return evaluate(env, MessageView(raw(from_)), rs)


def staff(
    login: str | None,
    from_: str,
    rs: Ruleset = RS,
    env_sender: str | None = None,
    to: str = "parent@home.test",
    extra: str = "",
    subject: str = "Hello",
    client: str = "203.0.113.9",
) -> Decision:
    address = from_.rsplit("<", 1)[-1].rstrip(">") if "<" in from_ else from_
    env = Envelope(env_sender if env_sender is not None else address, (to,), auth_user=login, client_addr=client)
    return evaluate(env, MessageView(raw(from_, to, subject, extra)), rs)


def identity_rules(d: Decision) -> list[str]:
    return [f.rule for f in d.findings if f.rule.startswith("identity.")]


# --- outside mail posing as staff --------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_", "rule"),
    [
        ("Headteacher <x@gmail.com>", "identity.impersonation.role"),
        ("Mrs J Smith (Head) <x@gmail.com>", "identity.impersonation.staff"),
        ('"head@oakfield.example" <evil@x.test>', "identity.impersonation.address"),
        ("Jane Smith <js@outlook.com>", "identity.impersonation.staff"),
        ("Peter Brown (Bursar) <pb@invoices.test>", "identity.impersonation.staff"),
        ("CEO of the Trust <ceo@gmail.com>", "identity.impersonation.role"),
        ("H\u0435adteacher <x@gmail.com>", "identity.impersonation.role"),  # Cyrillic e
        ("x@gmail.com (Designated Safeguarding Lead)", "identity.impersonation.role"),
        # A title before the holder's surname (missed by the first blind batch); "Principal
        # Consultant" stays a job title (hard negatives below).
        ("Principal Okafor <ro@gmail.com>", "identity.impersonation.role"),
    ],
)
def test_impersonation_true_positives(from_: str, rule: str) -> None:
    d = inbound(from_)
    assert identity_rules(d) == [rule]
    assert d.action is Action.TAG
    assert all("@" not in f.evidence for f in d.findings)


def test_evidence_names_the_kind_of_claim_and_only_the_domain() -> None:
    [f] = inbound("Headteacher <head.office@gmail.com>").findings
    assert f.evidence == "display name claims role 'headteacher', sent from external webmail domain gmail.com"
    [f] = inbound("Jane Smith <jane.smith.home@gmail.com>").findings
    assert "jane" not in f.evidence.lower() and "smith" not in f.evidence.lower()


@pytest.mark.parametrize(
    "from_",
    [
        "John Smith <john.smith@gmail.com>",  # a parent who shares the head's surname
        "Mr J Smith <jsmith@hotmail.com>",  # initial + surname without a role: not a claim
        "Head of Sales <sales@supplier.test>",
        "Principal Consultant <pc@gmail.com>",
        "Headteacher, St Mary's School <head@stmarys.sch.test>",  # another school's head
        "Head Girl <headgirl@gmail.com>",
        "Deputy Head of Year 9 <tutor@gmail.com>",
        "Assistant to the Head <pa@hill.test>",
        "Jane Smith (via Google Docs) <drive-shares-noreply@google.com>",
        "'head@oakfield.example' via Oakfield Parents <parents@googlegroups.com>",
        "Oakfield PTA <oakfieldpta@gmail.com>",
        "CEO <founder@gmail.com>",  # a generic title with nothing tying it to a school
    ],
)
def test_impersonation_hard_negatives(from_: str) -> None:
    assert identity_rules(inbound(from_)) == []


def test_reply_quoting_the_head_is_not_impersonation() -> None:
    body = "Thanks!\r\n\r\nOn Monday, Headteacher <head@oakfield.example> wrote:\r\n> From: Jane Smith (Head)\r\n"
    message = (
        "From: Sarah Jones <sarah.jones@gmail.com>\r\nTo: head@oakfield.example\r\n"
        f"Subject: Re: Letter from the Headteacher\r\n\r\n{body}"
    ).encode()
    env = Envelope("sarah.jones@gmail.com", ("head@oakfield.example",), client_addr="198.51.100.7")
    assert identity_rules(evaluate(env, MessageView(message), RS)) == []


# --- mail from inside: logins, delegations ------------------------------------------------------


def test_own_address_in_every_login_form_is_fine() -> None:
    for login in ("teacher", "TEACHER", "teacher@oakfield.example", "teacher@gateway.test"):
        assert identity_rules(staff(login, "Mr T Teacher <teacher@oakfield.example>")) == [], login
    assert identity_rules(staff("teacher", "teacher+trips@oakfield.example")) == []


def test_another_persons_address_is_a_mismatch_naming_only_the_domain() -> None:
    d = staff("teacher", "head@oakfield.example")
    assert identity_rules(d) == ["identity.from_mismatch"]
    assert d.action is Action.TAG
    [f] = d.findings
    assert f.evidence == "From is another trust mailbox (oakfield.example), not the login's own and not delegated to it"
    d = staff("teacher", "teacher.home@gmail.com")
    assert [f.evidence for f in d.findings] == [
        "From is outside the trust (gmail.com), not the login's own and not delegated to it"
    ]


@pytest.mark.parametrize(
    ("login", "from_", "ok"),
    [
        ("asmith", "office@oakfield.example", True),  # shared mailbox, listed by login
        ("bjones", "office@oakfield.example", True),  # listed by address, logs in bare
        ("dlee", "office@oakfield.example", False),  # not listed
        ("pa.head", "Mrs J Smith (Head) <head@oakfield.example>", True),  # office staff for the head
        ("pa.head", "bursar@oakfield.example", False),  # ...but not for the bursar
        ("mis-system", "anyone@oakfield.example", True),  # domain-wide send-as
        ("mis-system", "anyone@birchwood.example", False),  # only that domain
        ("cjones", "admissions@birchwood.example", True),
        ("cjones", "admissions@oakfield.example", False),
    ],
)
def test_delegations(login: str, from_: str, ok: bool) -> None:
    assert identity_rules(staff(login, from_)) == ([] if ok else ["identity.from_mismatch"])


def test_site_options_add_to_the_rules_file_and_map_logins() -> None:
    rs = ruleset(
        default_domain="birchwood.example",
        logins={"js01": "J.Smith@oakfield.example"},
        realms={"staff.local": "oakfield.example"},
    )
    assert identity_rules(staff("js01", "j.smith@oakfield.example", rs)) == []
    assert identity_rules(staff("js01", "js01@oakfield.example", rs)) == ["identity.from_mismatch"]
    assert identity_rules(staff("kp@staff.local", "kp@oakfield.example", rs)) == []
    # default_domain pins bare logins to one school: teacher@oakfield is no longer "teacher".
    assert identity_rules(staff("teacher", "teacher@birchwood.example", rs)) == []
    assert identity_rules(staff("teacher", "teacher@oakfield.example", rs)) == ["identity.from_mismatch"]
    # Delegations from site.toml are still there.
    assert identity_rules(staff("asmith", "office@oakfield.example", rs)) == []


def test_sender_header_and_envelope_sender() -> None:
    assert identity_rules(staff("teacher", "teacher@oakfield.example", extra="Sender: head@oakfield.example\r\n")) == [
        "identity.sender_mismatch"
    ]
    # The delegate is honest in Sender: fine.
    d = staff("asmith", "office@oakfield.example", extra="Sender: asmith@oakfield.example\r\n")
    assert identity_rules(d) == []
    assert identity_rules(staff("teacher", "teacher@oakfield.example", env_sender="bursar@oakfield.example")) == [
        "identity.envelope_mismatch"
    ]
    # Null sender (bounces, auto-replies) and the login's own envelope with a delegated From: fine.
    assert identity_rules(staff("teacher", "teacher@oakfield.example", env_sender="")) == []
    assert identity_rules(staff("asmith", "office@oakfield.example", env_sender="asmith@oakfield.example")) == []


def test_assumed_name_uses_the_directory() -> None:
    assert identity_rules(staff("teacher", "Headteacher <teacher@oakfield.example>")) == ["identity.assumed_name"]
    assert identity_rules(staff("teacher", "Jane Smith <teacher@oakfield.example>")) == ["identity.assumed_name"]
    assert identity_rules(staff("head", "Jane Smith (Headteacher) <head@oakfield.example>")) == []
    assert identity_rules(staff("pa.head", "PA to the Headteacher <pa.head@oakfield.example>")) == []
    assert identity_rules(staff("asmith", "Office on behalf of the Headteacher <office@oakfield.example>")) == []


def test_no_login_from_inside_is_silent_unless_asked() -> None:
    d = staff(None, "Headteacher <head@oakfield.example>", client="10.0.5.5")
    assert identity_rules(d) == [] and d.action is Action.ACCEPT
    rs = ruleset(report_unauthenticated=True)
    d = staff(None, "scanner@oakfield.example", rs, client="10.0.9.9")
    assert identity_rules(d) == ["identity.unauthenticated"]
    assert d.action is Action.ACCEPT
    # Offline (aupmilter check on a file, no connection facts): nothing to say.
    d = staff(None, "scanner@oakfield.example", rs, client=None)  # type: ignore[arg-type]
    assert identity_rules(d) == []


def test_sealed_personal_mail_is_still_checked() -> None:
    d = staff("teacher", "head@oakfield.example", subject="[Personal] dentist")
    assert d.sealed
    assert identity_rules(d) == ["identity.from_mismatch"]


# --- per-school actions through the policy overlay -----------------------------------------------


PER_SCHOOL = """
[[schools.action]]
match = "identity.from_mismatch"
outbound = "block"
"""


def test_per_school_off_tag_block() -> None:
    site = SITE.replace(
        'name = "Oakfield Primary School"\n', 'name = "Oakfield Primary School"\n' + PER_SCHOOL
    ).replace(
        'name = "Birchwood Academy"\n',
        'name = "Birchwood Academy"\n[[schools.action]]\nmatch = "identity.from_mismatch"\nall = "accept"\n',
    )
    rs = ruleset(site=site)
    blocked = staff("teacher", "head@oakfield.example", rs)
    assert blocked.action is Action.BLOCK
    assert blocked.smtp_reply is not None
    text = str(blocked.smtp_reply)
    assert text.startswith("550 5.7.1") and "identity.from_mismatch" in text and "unless authorised" in text
    assert "head@" not in text
    # Birchwood turned it off; the finding is still recorded.
    off = staff("teacher", "principal@birchwood.example", rs)
    assert off.action is Action.ACCEPT and identity_rules(off) == ["identity.from_mismatch"]
    # The shipped default elsewhere (no override in the corpus site): tag.
    assert staff("teacher", "head@oakfield.example").action is Action.TAG


def test_check_can_be_disabled() -> None:
    data = tomllib.loads(SITE)
    data["checks"]["identity"] = {"enabled": False}
    rs = build_ruleset(parse_config(data, "site.toml"))
    assert identity_rules(staff("teacher", "head@oakfield.example", rs)) == []


# --- strict configuration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"delegation": []}, "delegation"),
        ({"roles": {}}, "roles"),  # vocabulary lives in the rules file only
        ({"delegations": [{"mailbox": "office@oakfield.example", "sender": ["x"]}]}, "delegations[0].sender"),
        ({"delegations": [{"mailbox": "office", "senders": ["x"]}]}, "delegations[0].mailbox"),
        ({"delegations": [{"mailbox": "*@oakfield.example", "senders": []}]}, "delegations[0].senders"),
        ({"staff": [{"name": "A B", "roles": ["head_cook"]}]}, "staff[0].roles"),
        ({"staff": [{"names": ["Mrs"]}]}, "staff[0].name"),
        ({"report_unauthenticated": "yes"}, "report_unauthenticated"),
        ({"logins": {"js": "not an address"}}, "logins.js"),
    ],
)
def test_bad_site_options_name_the_key(options: dict[str, Any], key: str) -> None:
    data = tomllib.loads(SITE)
    data["checks"]["identity"] = options
    with pytest.raises(ConfigError) as err:
        build_ruleset(parse_config(data, "site.toml"))
    assert err.value.key.endswith(key), err.value


def test_unknown_key_in_rules_file_is_an_error(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(shipped_rules_dir(), rules)
    path = rules / "identity.toml"
    path.write_text(path.read_text().replace("[roles.bursar]\n", "[roles.bursar]\nphrase = []\n"))
    data = tomllib.loads(SITE)
    data["organisation"]["rules_dir"] = str(rules)
    with pytest.raises(ConfigError) as err:
        build_ruleset(parse_config(data, "site.toml"))
    assert err.value.source == str(path) and err.value.key == "roles.bursar.phrase"


def test_shipped_demo_config_builds() -> None:
    rs = build_ruleset(load_config(None))
    assert any(c.name == "identity" for c in rs.checks)


# --- the labelled corpus -------------------------------------------------------------------------


def test_corpus_precision_and_recall() -> None:
    labels = json.loads((CORPUS / "labels.json").read_text())
    positives = [x for x in labels if x["label"] == "positive"]
    assert len(positives) >= 30 and len(labels) - len(positives) >= 60
    tp = fp = fn = 0
    wrong: list[str] = []
    for item in labels:
        e = item["envelope"]
        env = Envelope(e["sender"], tuple(e["recipients"]), auth_user=e["auth_user"], client_addr=e["client_addr"])
        d = evaluate(env, MessageView((CORPUS / "mail" / item["file"]).read_bytes()), RS)
        found = [f for f in d.findings if f.rule.startswith("identity.") and f.rule != "identity.unauthenticated"]
        assert all("@" not in f.evidence for f in found), item["file"]
        if item["label"] == "positive":
            if any(f.rule.startswith(item["expect"]) for f in found):
                tp += 1
            else:
                fn += 1
                wrong.append(f"missed {item['file']}")
        elif found:
            fp += 1
            wrong.append(f"false positive {item['file']}: {[f.rule for f in found]}")
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn)
    print(
        f"\nidentity corpus: {len(labels)} cases, tp={tp} fp={fp} fn={fn} precision={precision:.3f} recall={recall:.3f}"
    )
    for line in wrong:
        print("  " + line)
    assert precision >= PRECISION_FLOOR and recall >= RECALL_FLOOR, wrong


def test_corpus_files_match_the_build_script() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_identity_corpus", CORPUS / "build_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    labels = json.loads((CORPUS / "labels.json").read_text())
    assert len(labels) == len(module.CASES)
    for item, case in zip(labels, module.CASES, strict=True):
        assert (CORPUS / "mail" / item["file"]).read_bytes() == module.render(case), item["file"]


# --- end to end: a real Postfix, a real SMTP AUTH login -------------------------------------------

E2E_CONFIG = (
    DEFAULT_CONFIG.replace(
        'policy_ref = "000"\n',
        'policy_ref = "000"\n[[schools.action]]\nmatch = "identity.from_mismatch"\noutbound = "block"\n',
    )
    + """
[checks.identity]
# The private Postfix's sasldb realm is gateway.test: its logins are oakfield staff.
realms = { "gateway.test" = "oakfield.example" }
[[checks.identity.delegations]]
mailbox = "office@oakfield.example"
senders = ["office"]
"""
)


def _mail(sender: str, to: str, subject: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{abs(hash((sender, subject)))}@identity.test>"
    msg.set_content("Please see the attached letter.\n")
    return msg.as_bytes()


@pytest.mark.postfix
def test_e2e_authenticated_user_sending_as_the_head_is_refused(make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway(E2E_CONFIG)
    code, text = gw.send(
        _mail("Headteacher <head@oakfield.example>", "parent@home.test", "Trip payment"),
        "head@oakfield.example",
        ["parent@home.test"],
        auth_user="teacher",
    )
    assert code == 550
    assert "5.7.1" in text and "identity.from_mismatch" in text and "Oakfield Primary School" in text
    # The shared mailbox, sent by its delegate, and the teacher as herself both go through.
    code, _ = gw.send(
        _mail("Oakfield Office <office@oakfield.example>", "parent@home.test", "Office hours"),
        "office@oakfield.example",
        ["parent@home.test"],
        auth_user="office",
    )
    assert code == 250
    code, _ = gw.send(
        _mail("teacher@oakfield.example", "parent@home.test", "Homework"),
        "teacher@oakfield.example",
        ["parent@home.test"],
        auth_user="teacher",
    )
    assert code == 250
    delivered = gw.wait_delivered(2)
    assert len(delivered) == 2
    # Outbound: through the milter (disclaimer added), with no internal verdict headers.
    assert all(b"X-AUP-Disclaimer: oakfield.example;" in m and b"X-AUP-Verdict" not in m for m in delivered)
    assert not any(b"Trip payment" in m for m in delivered)
