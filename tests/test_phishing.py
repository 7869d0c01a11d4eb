"""Phishing cues (000 4.6): link text vs target, harvest wording, look-alike trust domains, the
per-school policy overlay, the optional banner, strict rules, and the labelled corpus
(tests/fixtures/phishing) with precision and recall against stated floors."""

from __future__ import annotations

import email
import email.policy
import importlib.util
import json
import shutil
import tomllib
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from aupmilter.checks.phishing import SPEC as PHISHING_SPEC
from aupmilter.checks.phishing import Domains, Link, PhishingCheck, lookalike_reason, one_edit, skeleton
from aupmilter.config import Config, load_config, parse_config
from aupmilter.engine import evaluate
from aupmilter.errors import ConfigError
from aupmilter.message import MessageView
from aupmilter.model import Action, Direction, Envelope, ReplaceBody
from aupmilter.render import apply_effects
from aupmilter.ruleset import build_ruleset

CONFIG = load_config(None)
RULESET = build_ruleset(CONFIG)
CHECK = next(c for c in RULESET.checks if c.name == "phishing")
assert isinstance(CHECK, PhishingCheck)
DOMAINS: Domains = CHECK.rules.domains
CORPUS = Path(__file__).parent / "fixtures" / "phishing"
LABELS: dict[str, dict[str, str]] = json.loads((CORPUS / "labels.json").read_text())
INBOUND = Envelope("x@outside.test", ("t@oakfield.example",), client_addr="198.51.100.1")
#: Floors for the labelled set (measured 1.00 / 1.00 when written; the cues were tuned with this
#: set in view, so these are regression floors, not an estimate of performance on real mail).
PRECISION_FLOOR = 0.95
RECALL_FLOOR = 0.90


def mail(
    html: str = "",
    plain: str = "",
    *,
    sender: str = "Someone <someone@outside.test>",
    subject: str = "Hello",
    reply_to: str = "",
    attachment: bytes | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "t@oakfield.example"
    msg["Subject"] = subject
    if reply_to:
        msg["Reply-To"] = reply_to
    if html and plain:
        msg.set_content(plain)
        msg.add_alternative(html, subtype="html")
    elif html:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content(plain or "Hi.\n")
    if attachment is not None:
        msg.add_attachment(attachment, maintype="application", subtype="pdf", filename="minutes.pdf")
    return bytes(msg)


def rules(raw: bytes, env: Envelope = INBOUND, model: bool = False) -> list[str]:
    """The cue findings (and, with ``model``, the learned model's phishing.suspicious too)."""
    env = env if env.direction else Envelope(env.sender, env.recipients, direction=Direction.INBOUND)
    found = [f.rule for f in CHECK.run(env, MessageView(raw))]
    return found if model else [r for r in found if r != "phishing.suspicious"]


def config_with(**overlay: Any) -> Config:
    data = tomllib.loads(Path(CONFIG.source).read_text())
    for key, value in overlay.items():
        if key == "school_actions":
            for school in data["schools"]:
                school["action"] = value.get(school["domain"], [])
        else:
            data[key] = value
    return parse_config(data, "site.toml")


# --- registrable domains and look-alike arithmetic ---------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("www.bbc.co.uk", "bbc.co.uk"),
        ("a.b.oakfield.kent.sch.uk", "oakfield.kent.sch.uk"),
        ("mail.oakfield.example", "oakfield.example"),
        ("assets.publishing.service.gov.uk", "service.gov.uk"),
        ("gov.uk", "gov.uk"),
        ("203.0.113.9", "203.0.113.9"),
    ],
)
def test_registrable_domain(host: str, expected: str) -> None:
    assert DOMAINS.registrable(host) == expected


@pytest.mark.parametrize(
    ("host", "how"),
    [
        ("0akfield.example", "digit for letter"),
        ("oakfie1d.example", "digit for letter"),
        ("oakfeild.example", "letters swapped"),
        ("oakfiel.example", "letter missing"),
        ("oakfieldd.example", "letter added"),
        ("oakfielb.example", "one letter changed"),
        ("oak-field.example", "hyphen or dot moved"),
        ("oakfield-example.com", "real domain embedded in another"),
        ("oakfield.example.verify-login.test", "real domain embedded in another"),
        ("\u043eakfield.example", "homoglyph (international characters)"),  # Cyrillic о
        ("oakfi\u00e9ld.example", "homoglyph (international characters)"),
        ("oakfierd.example", "one letter changed"),
    ],
)
def test_lookalikes_of_a_trust_domain(host: str, how: str) -> None:
    assert lookalike_reason(host, "oakfield.example", DOMAINS, 5) == how


@pytest.mark.parametrize(
    "host",
    [
        "oakfield.example",  # the real domain
        "mail.oakfield.example",  # and its subdomains
        "oakfieldfarm.co.uk",  # unrelated, shares a word
        "oakfield.kent.sch.uk",  # another school with the same name
        "oakwood.example",
        "gmail.com",
        "birchwood.example",
    ],
)
def test_not_lookalikes(host: str) -> None:
    assert lookalike_reason(host, "oakfield.example", DOMAINS, 5) is None


def test_sch_uk_separator_tricks() -> None:
    real = "oakfield.kent.sch.uk"
    assert lookalike_reason("oakfield-kent.sch.uk", real, DOMAINS, 5) == "hyphen or dot moved"
    assert lookalike_reason("oakfield.kent-sch.uk", real, DOMAINS, 5) == "hyphen or dot moved"
    assert lookalike_reason("oakfield.kent.sch-uk.com", real, DOMAINS, 5) is not None
    assert lookalike_reason("www.oakfield.kent.sch.uk", real, DOMAINS, 5) is None


def test_short_names_are_spared_typo_rules_but_not_homoglyphs() -> None:
    assert lookalike_reason("bbb.co.uk", "bbc.co.uk", DOMAINS, 5) is None
    assert lookalike_reason("bcc.co.uk", "bbc.co.uk", DOMAINS, 5) is None
    assert lookalike_reason("bb\u0441.co.uk", "bbc.co.uk", DOMAINS, 5) == "homoglyph (international characters)"


def test_one_edit_and_skeleton() -> None:
    assert one_edit("abcd", "abdc") == "letters swapped"
    assert one_edit("abcd", "abcde") == "letter missing"
    assert one_edit("abcd", "axcyd") is None
    assert skeleton("birchvvood") == skeleton("birchwood")
    assert skeleton("rnary") == skeleton("mary")
    # Cyrillic і and о for Latin i and o: the same skeleton however many are swapped (the first
    # version translated in one pass, so Cyrillic і became "i" while Latin i became "l").
    assert skeleton("b\u0456rchw\u043e\u043ed") == skeleton("birchwood")
    assert skeleton("\u043eakf\u0456eld") == skeleton("oakfield") == skeleton("0akfie1d")
    assert (
        lookalike_reason("b\u0456rchw\u043e\u043ed.example", "birchwood.example", DOMAINS, 5)
        == "homoglyph (international characters)"
    )


def test_lookalike_in_from_reply_to_and_links() -> None:
    assert rules(mail(plain="Hi", sender="IT <it@0akfield.example>")) == ["phishing.lookalike_domain"]
    assert rules(mail(plain="Hi", reply_to="bursar@oakfeild.example")) == ["phishing.lookalike_domain"]
    link = mail('<p><a href="https://birchw00d.example/login">school site</a></p>')
    assert rules(link) == ["phishing.lookalike_domain"]
    env = Envelope(INBOUND.sender, INBOUND.recipients, direction=Direction.INBOUND)
    finding = next(iter(CHECK.run(env, MessageView(link))))
    assert "birchw00d.example looks like birchwood.example (digit for letter)" in finding.evidence


def test_lookalike_allow_list_spares_a_known_neighbour() -> None:
    data = tomllib.loads(Path(CONFIG.source).read_text())
    data["checks"] = {"phishing": {"lookalike_allow": ["oakfields.example"]}}
    check = PHISHING_SPEC.build(parse_config(data, "s.toml"))
    env = Envelope("a@oakfields.example", ("t@oakfield.example",), direction=Direction.INBOUND)
    assert list(check.run(env, MessageView(mail(plain="Hi", sender="x@oakfields.example")))) == []
    assert rules(mail(plain="Hi", sender="x@oakfields.example")) == ["phishing.lookalike_domain"]


# --- link text vs target -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "href"),
    [
        ("www.paypal.com", "https://paypa1-login.test/x"),
        ("https://www.natwest.com/login", "http://203.0.113.9/nw"),
        ("oakfield.example/staff", "https://portal.evil.test/"),
        ("www.gov.uk/refund", "https://www.gov.uk@refunds.test/claim"),
        ("www.hmrc.gov.uk", "https://www.google.com/url?q=https://refund.test/c"),
        ("support@microsoft.com", "https://ms-support.test/"),
    ],
)
def test_link_text_showing_another_domain(text: str, href: str) -> None:
    assert CHECK.mismatch_of(Link(href, text, "body")) is not None


@pytest.mark.parametrize(
    ("text", "href"),
    [
        ("Click here", "https://trk.mailer.test/c/1"),  # text is not a domain
        ("Read more", "https://links.news.test/x"),
        ("minutes.pdf", "https://files.test/d/1"),  # a file name, not a domain
        ("notes.md", "https://files.test/d/2"),
        ("www.bbc.co.uk/news", "https://www.bbc.co.uk/news/1"),  # same registrable domain
        ("bbc.co.uk", "https://feeds.bbc.co.uk/"),
        ("GOV.UK", "https://www.gov.uk/guidance"),  # a public suffix shown as text
        ("www.museum.org.uk", "https://museum.org.uk/visit"),
        ("www.tes.com", "https://eur02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwww.tes.com%2F&data=1"),
        ("www.ed-conf.co.uk", "https://u1.ct.sendgrid.net/ls/click?upn=opaque"),  # opaque tracker: not judged
        ("office@oakfield.example", "mailto:office@oakfield.example"),
        ("version 2.0", "https://x.test/"),
    ],
)
def test_link_text_consistent_or_not_a_domain(text: str, href: str) -> None:
    assert CHECK.mismatch_of(Link(href, text, "body")) is None


def test_link_mismatch_from_html_and_outlook_plain_text() -> None:
    html = '<html><body><p>Log in at <a href="https://evil.test/x">www.<b>parentpay</b>.com</a></p></body></html>'
    assert rules(mail(html)) == ["phishing.link_mismatch"]
    assert rules(mail(plain="Restore access: www.paypal.com <https://paypa1.test/r>\n")) == ["phishing.link_mismatch"]
    assert rules(mail(plain="Book here <https://www.eventbrite.co.uk/e/1>\n")) == []


def test_a_repeated_href_is_read_as_the_browser_reads_it_the_first() -> None:
    # A browser keeps the first of a repeated attribute and opens it; reading the last would let
    # the sender show the check one link and the reader another.
    shown = "www.parentpay.com"
    to_evil = f'<a href="https://evil.test/x" href="https://www.parentpay.com/">{shown}</a>'
    to_parentpay = f'<a href="https://www.parentpay.com/" href="https://evil.test/x">{shown}</a>'
    assert rules(mail(f"<p>Pay for the trip at {to_evil}</p>")) == ["phishing.link_mismatch"]
    assert rules(mail(f"<p>Pay for the trip at {to_parentpay}</p>")) == []
    area = '<map><area href="https://evil.test/x" href="https://www.parentpay.com/" alt="www.parentpay.com"></map>'
    assert rules(mail(area)) == ["phishing.link_mismatch"]


# --- credential-harvest wording ----------------------------------------------------------------

HARVEST_EXAMPLES = {
    "reenter_password": "please re-enter your password",
    "verify_account": "verify your account",
    "password_expires": "your password expires today",
    "keep_same_password": "keep your current password",
    "mailbox_full": "your mailbox is full",
    "messages_on_hold": "12 incoming messages are on hold",
    "unusual_signin": "unusual sign-in activity",
    "account_suspended": "your account will be suspended",
    "urgent_deadline": "within 24 hours",
    "click_to_login": "click here to sign in",
    "shared_document": "has shared a document with you",
    "cloud_brand": "Microsoft 365",
    "sign_in_to_view": "sign in to view the document",
    "sign_in_with_work_account": "log in with your email account to view",
    "payroll_update": "update your payroll details",
    "it_helpdesk_upgrade": "mailbox upgrade: click below",
    "never_ask_password": "IT will never ask for your password",
    "phishing_awareness": "report suspicious emails to IT",
}


def test_every_cue_has_an_example_that_fires_it() -> None:
    assert set(HARVEST_EXAMPLES) == {c.id for c in CHECK.rules.cues}
    for cue in CHECK.rules.cues:
        assert cue.pattern.search(HARVEST_EXAMPLES[cue.id]), cue.id


def test_harvest_needs_the_wording_and_an_outside_link() -> None:
    words = "Your Office 365 password expires in 24 hours. Click here to keep your current password."
    assert rules(mail(plain=words + "\nhttps://keep-pw.test/k\n")) == ["phishing.credential_harvest"]
    assert rules(mail(plain=words + "\n")) == []  # nowhere to type it
    assert rules(mail(plain=words + "\nhttps://sspr.oakfield.example/\n")) == []  # the trust's own portal
    assert rules(mail(plain=words + "\nhttps://passwordreset.microsoftonline.com/\n")) == []  # the real provider
    assert rules(mail(plain="Please verify.\nhttps://keep-pw.test/k\n")) == []  # too little


def test_it_departments_own_reminder_is_not_phishing() -> None:
    reminder = mail(
        plain="Your network password expires on Friday. Change it at https://passwordreset.microsoftonline.com "
        "or see https://www.ncsc.gov.uk/guidance. IT will never ask for your password.\n",
        sender="IT <it@oakfield.example>",
        subject="Reminder: your password expires on Friday",
    )
    internal = Envelope("it@oakfield.example", ("t@oakfield.example",), client_addr="10.0.0.5")
    decision = evaluate(internal, MessageView(reminder), RULESET)
    assert decision.direction is Direction.INTERNAL
    assert not [r for r in decision.rule_ids if r.startswith("phishing")]
    # Even read as inbound (from the managed service), the negative cue keeps it clean.
    assert rules(reminder) == []


def test_newsletters_and_marketing_stay_clean() -> None:
    html = (
        '<p>Our autumn catalogue is out. <a href="https://trk.bookfair-mail.test/c/1">Read more</a></p>'
        '<p><a href="https://click.mailer-co.test/u/abc">Unsubscribe</a> | '
        '<a href="https://click.mailer-co.test/v/abc">View in browser</a></p>'
    )
    assert rules(mail(html, subject="20% off this week")) == []


def test_outbound_and_internal_are_not_read_by_default() -> None:
    raw = mail(plain="Hi", sender="x@0akfield.example")
    for direction in (Direction.OUTBOUND, Direction.INTERNAL):
        env = Envelope("a@oakfield.example", ("b@home.test",), direction=direction)
        assert list(CHECK.run(env, MessageView(raw))) == []


# --- policy: tag by default, per-school off / tag / block --------------------------------------

PHISH = mail(
    '<p>Your mailbox is full. <a href="https://quota.test/r">Click here to release your messages</a></p>',
    sender="Admin <admin@0akfield.example>",
)


#: Phishing cues the learned model is not confident about: tagged, never held.
WEAK = mail(
    '<p>Your mailbox is full. <a href="https://quota.test/r">Click here to release your messages</a></p>',
    sender="Mail <mail@quota.test>",
)
OFF_ROWS = [{"match": "phishing", "inbound": "accept"}, {"match": "phishing", "min_score": 18, "inbound": "accept"}]


def test_default_policy_tags_inbound_and_quarantines_confident_phishing() -> None:
    weak = evaluate(Envelope("mail@quota.test", ("t@oakfield.example",)), MessageView(WEAK), RULESET)
    assert weak.action is Action.TAG and "phishing.credential_harvest" in weak.rule_ids
    d = evaluate(Envelope("admin@0akfield.example", ("t@oakfield.example",)), MessageView(PHISH), RULESET)
    assert d.direction is Direction.INBOUND and d.action is Action.QUARANTINE
    assert {"phishing.lookalike_domain", "phishing.credential_harvest", "phishing.suspicious"} <= set(d.rule_ids)
    assert "policy.d/phishing.toml" in d.reason


def test_per_school_off_tag_block() -> None:
    config = config_with(
        school_actions={
            "oakfield.example": [
                {"match": "phishing", "inbound": "block"},
                {"match": "phishing", "min_score": 18, "inbound": "block"},
            ],
            "birchwood.example": OFF_ROWS,
        }
    )
    ruleset = build_ruleset(config)
    view = MessageView(PHISH)
    oak = evaluate(Envelope("admin@0akfield.example", ("t@oakfield.example",)), view, ruleset)
    assert oak.action is Action.BLOCK and oak.smtp_reply is not None
    assert "phishing" in str(oak.smtp_reply) and "quota.test" not in str(oak.smtp_reply)
    birch = evaluate(Envelope("admin@0akfield.example", ("t@birchwood.example",)), MessageView(PHISH), ruleset)
    assert birch.action is Action.ACCEPT and "phishing.credential_harvest" in birch.rule_ids
    # One rule only: a school can quarantine look-alikes and leave the rest tagged.
    only = build_ruleset(
        config_with(
            school_actions={"oakfield.example": [{"match": "phishing.lookalike_domain", "inbound": "quarantine"}]}
        )
    )
    assert evaluate(Envelope("a@x.test", ("t@oakfield.example",)), MessageView(PHISH), only).action is Action.QUARANTINE


def test_check_can_be_turned_off() -> None:
    ruleset = build_ruleset(config_with(checks={"phishing": {"enabled": False}}))
    d = evaluate(Envelope("admin@0akfield.example", ("t@oakfield.example",)), MessageView(PHISH), ruleset)
    assert not [r for r in d.rule_ids if r.startswith("phishing")]


# --- the visible banner ------------------------------------------------------------------------


def banner_ruleset(**school_actions: list[dict[str, str]]) -> Any:
    return build_ruleset(
        config_with(
            checks={"phishing": {"banner_schools": ["oakfield.example"]}},
            school_actions={k.replace("_", "."): v for k, v in school_actions.items()},
        )
    )


PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_banner_off_by_default() -> None:
    d = evaluate(Envelope("a@x.test", ("t@oakfield.example",)), MessageView(WEAK), RULESET)
    assert not any(isinstance(e, ReplaceBody) for e in d.effects)


def test_banner_prepended_to_plain_and_html_and_nothing_else_changes() -> None:
    raw = mail(
        '<html><head><title>x</title></head><body class="m"><p>Your mailbox is full. '
        '<a href="https://quota.test/r">Click here to release your messages</a></p></body></html>',
        plain="Your mailbox is full. Click here to release your messages: https://quota.test/r\n",
        attachment=PDF,
        sender="Mail <mail@quota.test>",
    )
    ruleset = banner_ruleset()
    d = evaluate(Envelope("a@x.test", ("t@oakfield.example",)), MessageView(raw), ruleset)
    assert d.action is Action.TAG
    out = apply_effects(raw, d.effects)
    parsed = email.message_from_bytes(out, policy=email.policy.default)
    plain = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content().startswith("CAUTION: this e-mail comes from outside")
    assert plain.get_content().endswith(
        "Your mailbox is full. Click here to release your messages: https://quota.test/r\n"
    )
    markup = html.get_content()
    assert markup.index('<body class="m">') < markup.index("CAUTION") < markup.index("<p>Your mailbox")
    attachment = next(parsed.iter_attachments())
    assert attachment.get_content() == PDF
    assert parsed["X-AUP-Banner"] == "phishing"
    # A second pass (the message through the gateway again) adds nothing more.
    d2 = evaluate(Envelope("a@x.test", ("t@oakfield.example",)), MessageView(out), ruleset)
    assert not any(isinstance(e, ReplaceBody) for e in d2.effects)


def test_banner_only_for_schools_that_ask_and_whose_policy_tags() -> None:
    ruleset = banner_ruleset()
    birch = evaluate(Envelope("a@x.test", ("t@birchwood.example",)), MessageView(WEAK), ruleset)
    assert birch.action is Action.TAG and not any(isinstance(e, ReplaceBody) for e in birch.effects)
    off = banner_ruleset(oakfield_example=OFF_ROWS)
    d = evaluate(Envelope("a@x.test", ("t@oakfield.example",)), MessageView(WEAK), off)
    assert d.action is Action.ACCEPT and not any(isinstance(e, ReplaceBody) for e in d.effects)
    clean = evaluate(Envelope("a@x.test", ("t@oakfield.example",)), MessageView(mail(plain="Hello")), ruleset)
    assert not any(isinstance(e, ReplaceBody) for e in clean.effects)


def test_banner_leaves_signed_mail_alone() -> None:
    raw = (
        b"From: Mail <mail@quota.test>\r\nTo: t@oakfield.example\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nYour mailbox is full. Click here to release your messages "
        b"https://quota.test/r\r\n--b\r\nContent-Type: application/pkcs7-signature\r\n\r\nAAAA\r\n--b--\r\n"
    )
    d = evaluate(Envelope("a@x.test", ("t@oakfield.example",)), MessageView(raw), banner_ruleset())
    assert d.action is Action.TAG and not any(isinstance(e, ReplaceBody) for e in d.effects)


# --- strict rules and options ------------------------------------------------------------------


def _rules_copy(tmp_path: Path, edit: str) -> Path:
    rules_dir = tmp_path / "rules"
    shutil.copytree(CONFIG.rules_dir, rules_dir)
    path = rules_dir / "phishing.toml"
    path.write_text(path.read_text() + edit)
    return rules_dir


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        ("\n[extra]\nx = 1\n", "extra"),
        ('\n[[cue]]\nid = "x"\nweight = 1\npattern = "a"\ncolour = "red"\n', "cue[18].colour"),
        ('\n[[cue]]\nid = "x"\nweight = 1\npattern = "("\n', "cue[18].pattern"),
        ('\n[[cue]]\nid = "mailbox_full"\nweight = 1\npattern = "a"\n', "cue[18].id"),
    ],
)
def test_rules_file_is_strict(tmp_path: Path, edit: str, key: str) -> None:
    rules_dir = _rules_copy(tmp_path, edit)
    data = tomllib.loads(Path(CONFIG.source).read_text())
    data["organisation"]["rules_dir"] = str(rules_dir)
    with pytest.raises(ConfigError) as err:
        build_ruleset(parse_config(data, "site.toml"))
    assert err.value.key == key and "phishing.toml" in err.value.source


def test_unknown_section_key_is_named(tmp_path: Path) -> None:
    rules_dir = tmp_path / "rules"
    shutil.copytree(CONFIG.rules_dir, rules_dir)
    path = rules_dir / "phishing.toml"
    path.write_text(path.read_text().replace("[lookalike]\n", "[lookalike]\nmin_lenght = 3\n"))
    data = tomllib.loads(Path(CONFIG.source).read_text())
    data["organisation"]["rules_dir"] = str(rules_dir)
    with pytest.raises(ConfigError) as err:
        build_ruleset(parse_config(data, "site.toml"))
    assert err.value.key == "lookalike.min_lenght"


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"banner": True}, "banner"),
        ({"banner_schools": ["elsewhere.example"]}, "banner_schools"),
        ({"directions": ["sideways"]}, "directions"),
        ({"lookalike_allow": "x.example"}, "lookalike_allow"),
    ],
)
def test_options_are_strict(options: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_ruleset(config_with(checks={"phishing": options}))
    assert err.value.key == f"checks.phishing.{key}"


# --- the labelled corpus -----------------------------------------------------------------------


def test_corpus_is_big_enough_and_every_file_is_labelled() -> None:
    labels = [v["label"] for v in LABELS.values()]
    assert labels.count("phishing") >= 30 and labels.count("clean") >= 60
    assert {f"mail/{p.name}" for p in (CORPUS / "mail").glob("*.eml")} == set(LABELS)


def test_committed_corpus_is_what_the_generator_builds(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("build_phishing_corpus", CORPUS / "build_corpus.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.build(tmp_path) == LABELS
    stale = [n for n in LABELS if (tmp_path / n).read_bytes() != (CORPUS / n).read_bytes()]
    assert stale == [], "re-run tests/fixtures/phishing/build_corpus.py"


def test_precision_and_recall_on_the_labelled_set() -> None:
    tp = fp = fn = 0
    wrong: list[str] = []
    for name, meta in sorted(LABELS.items()):
        env = Envelope("x@outside.test", ("staff@oakfield.example",), direction=Direction(meta["direction"]))
        flagged = bool(list(CHECK.run(env, MessageView((CORPUS / name).read_bytes()))))
        positive = meta["label"] == "phishing"
        tp += flagged and positive
        fp += flagged and not positive
        fn += positive and not flagged
        if flagged != positive:
            wrong.append(name)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    print(f"\nphishing corpus: {len(LABELS)} messages, precision {precision:.3f}, recall {recall:.3f}, wrong: {wrong}")
    assert precision >= PRECISION_FLOOR, wrong
    assert recall >= RECALL_FLOOR, wrong
