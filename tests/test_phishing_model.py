"""Phishing tells without DNS (issue 21): each feature family on fixed cases, link-mismatch
precision for list mail and click trackers, the learned finding and its policy (tag below a
confident score, quarantine above), and the model file."""

from __future__ import annotations

import json
import shutil
import tomllib
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from aupmilter.checks.phishing import Link, PhishingCheck, extract_links
from aupmilter.checks.phishing import features as pf
from aupmilter.config import load_config, parse_config
from aupmilter.engine import evaluate
from aupmilter.errors import ConfigError
from aupmilter.featmodel import MODELS_DIR, FeatureModel
from aupmilter.message import MessageView
from aupmilter.model import Action, Direction, Envelope
from aupmilter.ruleset import build_ruleset

CONFIG = load_config(None)
RULESET = build_ruleset(CONFIG)
CHECK = next(c for c in RULESET.checks if c.name == "phishing")
assert isinstance(CHECK, PhishingCheck)
ENV = Envelope("x@outside.test", ("s.patel@oakfield.example",), direction=Direction.INBOUND)


def mail(
    html: str = "",
    plain: str = "",
    *,
    sender: str = "Someone <someone@outside.test>",
    subject: str = "Hello",
    headers: dict[str, str] | None = None,
    attachment: tuple[str, str, str, bytes] | None = None,
) -> MessageView:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "s.patel@oakfield.example", subject
    for k, v in (headers or {}).items():
        msg[k] = v
    if plain:
        msg.set_content(plain)
        if html:
            msg.add_alternative(html, subtype="html")
    else:
        msg.set_content(html or "hi", subtype="html" if html else "plain")
    if attachment:
        name, maintype, subtype, data = attachment
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return MessageView(msg.as_bytes())


def features(view: MessageView) -> tuple[dict[str, float], list[str]]:
    links = extract_links(view)
    findings = [f for f in CHECK.run(ENV, view) if f.rule != "phishing.suspicious"]
    harvest = sum(c.weight for c, _, _ in CHECK.cue_hits(view))
    return CHECK.feature_vector(ENV, view, links, findings, harvest)


def fired(view: MessageView) -> set[str]:
    return {k for k, v in features(view)[0].items() if v}


# --- sender ------------------------------------------------------------------------------------


def test_sender_name_claiming_a_brand_from_another_domain() -> None:
    f, notes = features(mail(plain="Hi", sender="PayPal Service <service@pp-help.test>"))
    assert (
        f["display_brand_mismatch"] == 1.0
        and notes["display_brand_mismatch"] == "sender name says paypal, sent from pp-help.test"
    )
    assert features(mail(plain="Hi", sender="PayPal <service@paypal.co.uk>"))[0]["display_brand_mismatch"] == 0.0
    assert features(mail(plain="Hi", sender="Itaú <x@itau-seg.test>"))[0]["display_brand_mismatch"] == 1.0  # accents


def test_address_in_the_display_name_and_reply_to_elsewhere() -> None:
    f = fired(mail(plain="Hi", sender='"support@bank.example" <x@relay.test>'))
    assert "display_address_mismatch" in f
    f = fired(mail(plain="Hi", sender="A <a@shop.test>", headers={"Reply-To": "a.shop@gmail.com"}))
    assert {"reply_to_differs", "reply_to_webmail"} <= f
    assert "reply_to_differs" not in fired(
        mail(plain="Hi", sender="A <a@shop.test>", headers={"Reply-To": "b@mail.shop.test"})
    )


def test_list_mail_recipient_quoted_and_webmail() -> None:
    assert "list_mail" in fired(mail(plain="News", headers={"List-Unsubscribe": "<https://n.test/u>"}))
    assert "recipient_in_text" in fired(mail(plain="Dear s.patel@oakfield.example, your box is full"))
    assert "from_webmail" in fired(mail(plain="Hi", sender="Dave <dave1971@gmail.com>"))
    assert "sender_brand_domain" not in fired(mail(plain="Hi", sender="Dave <dave1971@gmail.com>"))


# --- links -------------------------------------------------------------------------------------

LINK_CASES = {
    "link_ip_host": "http://203.0.113.9/login",
    "link_punycode": "https://xn--pypal-4ve.com/",
    "link_shortener": "https://bit.ly/abc",
    "link_at_sign": "https://www.bank.example@evil.test/",
    "link_port": "http://evil.test:8080/x",
    "link_deep_subdomains": "https://login.bank.example.secure.evil.test/",
    "link_suspicious_tld": "https://pay-now.xyz/",
    "link_free_host": "https://bank-verify.pages.dev/",
    "link_credential_path": "https://random.test/account/verify",
}


@pytest.mark.parametrize(("feature", "href"), sorted(LINK_CASES.items()))
def test_each_link_feature_on_a_fixed_case(feature: str, href: str) -> None:
    assert feature in fired(mail(f'<p><a href="{href}">Continue</a></p>')), href
    assert feature not in fired(mail('<p><a href="https://www.outside.test/news">Continue</a></p>'))


def test_script_and_data_links() -> None:
    assert "link_data_js" in fired(mail("<a href=\"javascript:location='https://x.test'\">Go</a>"))
    assert "link_data_js" in fired(mail('<a href="data:text/html;base64,PGh0bWw+">Go</a>'))


def test_brand_named_with_every_link_elsewhere() -> None:
    f, notes = features(mail('<p>Your Netflix payment failed. <a href="https://nf-pay.test/x">Update</a></p>'))
    assert f["brand_offsite_links"] == 1.0 and notes["brand_offsite_links"].startswith("names netflix")
    genuine = mail(
        '<p>Your Netflix receipt. <a href="https://www.netflix.com/account">Account</a></p>',
        sender="Netflix <info@netflix.com>",
    )
    assert features(genuine)[0]["brand_offsite_links"] == 0.0
    assert features(genuine)[0]["links_all_sender"] == 1.0 and features(genuine)[0]["sender_brand_domain"] == 1.0


# --- HTML and attachments ----------------------------------------------------------------------

HTML_CASES = {
    "html_form": '<form action="https://x.test/p"><input type="password" name="p"></form>',
    "html_hidden_text": '<div style="display:none">'
    + "filler words to hide the lure from filters " * 3
    + "</div><p>Hi</p>",
    "html_tiny_font": '<span style="font-size:1px">x</span><p>Hi</p>',
    "html_script": "<script>var a=1;</script><p>Hi</p>",
    "html_base": '<html><head><base href="https://evil.test/"></head><body><a href="login">Log in</a></body></html>',
    "html_refresh": '<html><head><meta http-equiv="refresh" content="0;url=https://x.test"></head><body>Hi</body></html>',
    "image_only_link": '<a href="https://x.test/"><img src="https://x.test/i.png" alt="Bank"></a>',
}


@pytest.mark.parametrize(("feature", "html"), sorted(HTML_CASES.items()))
def test_each_html_trick_on_a_fixed_case(feature: str, html: str) -> None:
    assert feature in fired(mail(html))
    assert feature not in fired(
        mail("<p>Dear parents, the trip is on Thursday. Please bring a coat and a packed lunch.</p>")
    )


def test_a_repeated_attribute_counts_as_the_browser_reads_it_the_first() -> None:
    hidden = "filler words to hide the lure from filters " * 3
    assert "html_hidden_text" in fired(mail(f'<div style="display:none" style="">{hidden}</div><p>Hi</p>'))
    assert "html_hidden_text" not in fired(mail(f'<div style="" style="display:none">{hidden}</div><p>Hi</p>'))
    base = '<html><head><base href="https://evil.test/" href=""></head><body><a href="login">Log in</a></body></html>'
    assert "html_base" in fired(mail(base))


def test_web_page_and_pdf_form_attachments() -> None:
    page = ("Invoice.html", "text", "html", b"<html><form action='https://x.test'></form></html>")
    assert "attach_html" in fired(mail(plain="See attached", attachment=page))
    svg = ("scan.svg", "image", "svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>")
    assert "attach_html" in fired(mail(plain="See attached", attachment=svg))
    form = ("inv.pdf", "application", "pdf", b"%PDF-1.4\n1 0 obj<</AcroForm<<>>>>endobj\n%%EOF")
    plain_pdf = ("inv.pdf", "application", "pdf", b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n%%EOF")
    assert "attach_pdf_form" in fired(mail(plain="See attached", attachment=form))
    assert "attach_pdf_form" not in fired(mail(plain="See attached", attachment=plain_pdf))


# --- lure words in five languages --------------------------------------------------------------

LURE_CASES = {
    "lure_credential": [
        "Verify your account now",
        "Bestätigen Sie Ihre Daten",
        "Confirme seus dados",
        "Vérifiez votre compte",
        "Verifique su cuenta",
    ],
    "lure_account": [
        "Your account has been suspended",
        "Ihr Konto wurde gesperrt",
        "Sua conta foi bloqueada",
        "Votre compte a été suspendu",
        "Su cuenta ha sido bloqueada",
    ],
    "lure_payment": ["Payment failed", "Rechnung offen", "Boleto disponível", "Facture impayée", "Factura pendiente"],
    "lure_parcel": [
        "Your parcel could not be delivered",
        "Ihr Paket wartet",
        "Sua encomenda está retida",
        "Votre colis est en attente",
        "Su paquete está retenido",
    ],
    "lure_prize": [
        "Congratulations, you have won",
        "Sie haben gewonnen",
        "Parabéns, você ganhou",
        "Vous avez gagné",
        "Ha ganado un premio",
    ],
    "lure_urgency": ["within 24 hours", "sofort", "imediatamente", "immédiatement", "inmediatamente"],
    "lure_click": ["Click here", "Hier klicken", "Clique aqui", "Cliquez ici", "Haga clic"],
    "lure_document": [
        "has shared a document with you",
        "Dokument freigegeben",
        "compartilhou um arquivo",
        "a partagé un document",
        "ha compartido un documento",
    ],
    "generic_greeting": ["Dear Customer", "Sehr geehrter Kunde", "Prezado cliente", "Cher client", "Estimado cliente"],
}


@pytest.mark.parametrize(("feature", "texts"), sorted(LURE_CASES.items()))
def test_each_lure_in_five_languages(feature: str, texts: list[str]) -> None:
    for text in texts:
        assert feature in fired(mail(plain=text)), text
    assert feature not in fired(mail(plain="The choir sings at the care home on Friday afternoon."))


# --- link mismatch precision -------------------------------------------------------------------


def test_list_mail_through_an_unlisted_click_tracker_is_not_a_mismatch() -> None:
    news = '<a href="https://click.mailer-x.test/ls/click?upn=AbCdEfGhIjKlMnOpQrStUv">www.museum.test</a>'
    listed = mail(news, sender="Museum <news@museum.test>", headers={"List-Unsubscribe": "<https://museum.test/u>"})
    assert "phishing.link_mismatch" not in {f.rule for f in CHECK.run(ENV, listed)}
    unlisted = mail(news, sender="Museum <news@museum.test>")
    assert "phishing.link_mismatch" in {f.rule for f in CHECK.run(ENV, unlisted)}


def test_a_brand_or_trust_domain_shown_is_always_judged() -> None:
    for shown in ("www.paypal.com", "oakfield.example"):
        html = f'<a href="https://click.mailer-x.test/ls/click?upn=AbCdEfGhIjKlMnOpQrStUv">{shown}</a>'
        view = mail(html, sender="News <n@mailer-x.test>", headers={"List-Unsubscribe": "<https://m.test/u>"})
        assert "phishing.link_mismatch" in {f.rule for f in CHECK.run(ENV, view)}, shown


def test_senders_own_tracker_with_the_same_name_is_consistent() -> None:
    ok = Link("https://click.e.natura.com.br/?qs=abc", "www.natura.net", "body")
    assert CHECK.mismatch_of(ok, "natura.com.br") is None
    bad = Link("https://pp-alerts.test/in", "https://www.parentpay.com", "body")
    assert CHECK.mismatch_of(bad, "pp-alerts.test") is not None


# --- the finding and the policy ----------------------------------------------------------------

STRONG = mail(
    "<p>Dear Customer, your account has been suspended. Verify your account within 24 hours.</p>"
    '<p><a href="http://203.0.113.9/paypal/login">www.paypal.com</a></p>',
    sender="PayPal Security <alert@pp-secure.test>",
    subject="Your account has been limited",
)


def test_confident_phishing_is_quarantined_with_its_reasons() -> None:
    findings = {f.rule: f for f in CHECK.run(ENV, STRONG)}
    sus = findings["phishing.suspicious"]
    assert sus.score >= 18 and sus.evidence.startswith("learned model")
    assert "sender name says paypal" in sus.evidence and "link to IP address 203.0.113.9" in sus.evidence
    d = evaluate(Envelope("alert@pp-secure.test", ("s.patel@oakfield.example",)), STRONG, RULESET)
    assert d.action is Action.QUARANTINE and "policy.d/phishing.toml" in d.reason


def test_less_confident_phishing_is_tagged_not_held() -> None:
    view = mail('<p>New voicemail received. <a href="https://vm.pages.dev/p">Play</a></p>', sender="Voice <v@pbx.test>")
    rules = {f.rule: f for f in CHECK.run(ENV, view)}
    if "phishing.suspicious" in rules:
        assert rules["phishing.suspicious"].score < 18
    d = evaluate(Envelope("v@pbx.test", ("s.patel@oakfield.example",)), view, RULESET)
    assert d.action in (Action.ACCEPT, Action.TAG)


def test_genuine_brand_mail_and_delivery_reports_are_not_flagged() -> None:
    genuine = mail(
        "<p>We noticed a new sign-in to your Google Account. If this was you, you don't need to do anything.</p>"
        '<p><a href="https://myaccount.google.com/notifications">Check activity</a></p>',
        sender="Google <no-reply@accounts.google.com>",
        subject="Security alert",
    )
    assert list(CHECK.run(ENV, genuine)) == []
    report = (
        b"From: MAILER-DAEMON@mx.test\r\nTo: s.patel@oakfield.example\r\nSubject: Undelivered Mail\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
        b"Your message could not be delivered. Your Netflix payment failed, click https://nf.test/x\r\n--b--\r\n"
    )
    assert "phishing.suspicious" not in {f.rule for f in CHECK.run(ENV, MessageView(report))}


def _ruleset_with(tmp_path: Path, old: str, new: str) -> Any:
    rules = tmp_path / "rules"
    shutil.copytree(CONFIG.rules_dir, rules)
    path = rules / "phishing.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    data = tomllib.loads(Path(CONFIG.source).read_text())
    data["organisation"]["rules_dir"] = str(rules)
    return build_ruleset(parse_config(data, "site.toml"))


def test_model_can_be_turned_off(tmp_path: Path) -> None:
    ruleset = _ruleset_with(tmp_path, "[model]\nenabled = true", "[model]\nenabled = false")
    off = next(c for c in ruleset.checks if c.name == "phishing")
    assert off.model is None and "phishing.suspicious" not in {f.rule for f in off.run(ENV, STRONG)}


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("threshold = 0.5\n", "threshold = 2\n", "model.threshold"),
        ("[model]\nenabled = true", "[model]\nenabled = 1", "model.enabled"),
        ("[model]\nenabled = true", "[model]\nenabled = true\nlimit = 3", "model.limit"),
        ("[brands]\n", '[brands]\n"bad" = "x"\n', "brands.bad"),
    ],
)
def test_model_and_brand_keys_are_strict(tmp_path: Path, old: str, new: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        _ruleset_with(tmp_path, old, new)
    assert err.value.key == key and "phishing.toml" in err.value.source


def test_model_file_is_small_and_names_only_known_features() -> None:
    path = MODELS_DIR / "phishing.json"
    assert path.stat().st_size < 2_000_000
    model = FeatureModel.load(path)
    assert model.classes == ["legitimate", "phishing"] and set(model.named) <= set(pf.NAMES)
    assert model.named["list_mail"][0] < 0 and model.named["attach_html"][0] > 0
    meta = json.loads(path.read_text())["meta"]
    assert "phishing_blind" not in meta["trained_on"]
