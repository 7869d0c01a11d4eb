"""Issue 17: a Personal/Private label seals mail from people, never from the gateway's checks.

Labelled inbound phishing keeps its findings (the label used to strip them), labelled mail with a
dangerous attachment is still judged on it, and nothing derived from content is left in a sealed
message's findings: no words, no file names, no link targets — type and count only."""

from __future__ import annotations

from email.message import EmailMessage

from aupmilter.config import load_config
from aupmilter.engine import evaluate
from aupmilter.message import MessageView
from aupmilter.model import Action, Envelope
from aupmilter.ruleset import build_ruleset

RULESET = build_ruleset(load_config(None))
INBOUND = Envelope("x@outside.test", ("t@oakfield.example",), client_addr="198.51.100.1")
PHISH_HTML = '<html><body><p>Log in at <a href="https://evil.test/x">www.<b>parentpay</b>.com</a></p></body></html>'


def phish(subject: str, sensitivity: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = "ParentPay <help@parentpay-support.test>"
    msg["To"] = "t@oakfield.example"
    msg["Subject"] = subject
    if sensitivity:
        msg["Sensitivity"] = sensitivity
    msg.set_content(PHISH_HTML, subtype="html")
    msg.add_attachment(
        b"MZ\x90\x00" + b"\x00" * 64,
        maintype="application",
        subtype="octet-stream",
        filename="statement-for-mrs-jones.exe",
    )
    return bytes(msg)


def everything_visible(decision: object) -> str:
    return repr(decision)


def test_labelled_inbound_phishing_keeps_its_findings_without_content() -> None:
    plain = evaluate(INBOUND, MessageView(phish("Account suspended")), RULESET)
    phishing = sorted(f.rule for f in plain.findings if f.rule.startswith("phishing"))
    assert phishing and not plain.sealed
    assert "statement-for-mrs-jones.exe" in everything_visible(plain)  # the unlabelled control shows it
    for raw in (phish("[Personal] Account suspended"), phish("Account suspended", sensitivity="Private")):
        d = evaluate(INBOUND, MessageView(raw), RULESET)
        assert d.sealed
        assert sorted(f.rule for f in d.findings if f.rule.startswith("phishing")) == phishing
        assert any(f.rule.startswith("attachment.executable") for f in d.findings)
        assert d.action >= plain.action >= Action.QUARANTINE
        shown = everything_visible(d)
        for content in ("statement-for-mrs-jones", "evil.test", "parentpay", "suspended"):
            assert content not in shown.lower(), content
        for f in d.findings:
            if not f.rule.startswith("personal."):
                assert f.evidence.startswith("sealed: ") and "×" in f.evidence
