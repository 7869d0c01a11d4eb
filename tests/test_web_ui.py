"""Review UI in real headless Chromium (Debian chromium driven by Playwright), end to end with
the real Postfix: quarantine, review, release, roles, CSRF, stored-XSS inertness, sealing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage

import pytest

from aupmilter.config import load_config
from aupmilter.quarantine import open_store
from aupmilter.web.app import create_app
from tests.attachment_builders import pe_bytes
from tests.harness.gateway import Gateway, wait_for
from tests.harness.webui import GATEWAY_CONFIG, add_staff, chromium, login, serve

pytestmark = [pytest.mark.postfix, pytest.mark.browser]


HOSTILE_HTML = """<html><body><p>Invoice attached</p>
<script>window.__pwned = 1; alert('xss')</script>
<img src="http://203.0.113.9/track.png" onerror="window.__pwned = 2">
<a href="javascript:window.__pwned=3">click</a></body></html>"""


def hostile_message() -> bytes:
    msg = EmailMessage()
    msg["From"] = "billing@supplier.test"
    msg["To"] = "office@oakfield.example"
    msg["Subject"] = "<script>alert(1)</script> Invoice"
    msg.set_content("Invoice attached")
    msg.add_alternative(HOSTILE_HTML, subtype="html")
    msg.add_attachment(
        pe_bytes(),
        maintype="application",
        subtype="octet-stream",
        filename='"><img src=x onerror=alert(1)>.exe',
    )
    return msg.as_bytes()


@pytest.fixture
def ui(make_gateway: Callable[..., Gateway]) -> Iterator[tuple[Gateway, str]]:
    gw = make_gateway(GATEWAY_CONFIG)
    config = load_config(str(gw.config_path))
    store = open_store(config.quarantine)
    add_staff(store)
    served = serve(create_app(config, store))
    yield gw, served.base
    served.stop()


def test_review_release_roles_csrf_and_xss(ui: tuple[Gateway, str]) -> None:
    gw, base = ui
    assert gw.send(hostile_message(), "billing@supplier.test", ["office@oakfield.example"])[0] == 250
    assert (
        gw.send(
            b"From: gp@surgery.test\r\nTo: t@oakfield.example\r\nSubject: [Personal] results\r\n\r\nprivate words\r\n",
            "gp@surgery.test",
            ["t@oakfield.example"],
        )[0]
        == 250
    )
    store = open_store(load_config(str(gw.config_path)).quarantine)
    wait_for(lambda: len(store.list()) == 2, 20, "two quarantined items")
    exe_item = next(i for i in store.list() if not i.record.sealed)
    sealed_item = next(i for i in store.list() if i.record.sealed)

    with chromium() as browser:
        dialogs: list[str] = []

        # Unauthenticated: every page sends you to the login.
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{base}/item/{exe_item.id}")
        assert page.url.startswith(f"{base}/login")

        # Reviewer: list, filter, view (inert hostile content), release.
        login(page, base, "rita", goto=False)
        assert page.url.startswith(f"{base}/item/{exe_item.id}")  # back to the linked item
        page.goto(f"{base}/")
        assert page.locator("#items tbody tr").count() == 2
        page.select_option("#category", "attachment")
        page.click("#filter")
        assert page.locator("#items tbody tr").count() == 1
        page.click("#items tbody tr a")
        content = page.locator("#content").inner_text()
        assert "Invoice attached" in content and "attachment.executable" in page.locator("#findings").inner_text()
        assert "executable files" in page.locator("#findings").inner_text()  # the policy clause
        assert page.locator("script").count() == 0
        assert page.locator("main img").count() == 0
        assert page.locator("a[href^='javascript:']").count() == 0
        assert page.evaluate("window.__pwned") is None
        cookies = {c["name"]: c for c in page.context.cookies()}
        session = cookies["aup_session"]
        assert session["httpOnly"] and session["sameSite"] == "Strict" and session["secure"]
        csp = page.request.get(f"{base}/").headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp

        # A POST without the CSRF token is refused, and nothing is released.
        forged = page.request.post(f"{base}/item/{exe_item.id}/release", form={"rcpt:office@oakfield.example": "1"})
        assert forged.status == 403
        assert gw.sink_messages == []

        page.click("#release")
        assert "Delivered to office@oakfield.example" in page.locator("#released").inner_text()
        [delivered] = gw.wait_delivered(1)
        assert b"Invoice attached" in delivered
        page.goto(f"{base}/item/{exe_item.id}")
        assert page.locator("#release").count() == 0  # released: no second release button
        time.sleep(0.5)
        assert len(gw.sink_messages) == 1

        # The reviewer cannot read the sealed item, nor unseal it.
        page.goto(f"{base}/item/{sealed_item.id}")
        assert "private words" not in page.content() and page.locator("#unseal").count() == 0
        page.context.close()

        # Auditor: metadata only, no release, no content.
        auditor = browser.new_page()
        login(auditor, base, "arthur")
        auditor.goto(f"{base}/item/{sealed_item.id}")
        assert auditor.locator("#content").count() == 0 and auditor.locator("#release").count() == 0
        token = auditor.locator("input[name=csrf]").first.get_attribute("value")
        denied = auditor.request.post(f"{base}/item/{sealed_item.id}/release", form={"csrf": token or ""})
        assert denied.status == 403
        auditor.context.close()

        # DPO: unseals with a reason; the audit log shows it and the chain verifies.
        dpo = browser.new_page()
        login(dpo, base, "dana")
        dpo.goto(f"{base}/item/{sealed_item.id}")
        dpo.fill("#reason", "Staff member requested release; HR ref 114")
        dpo.click("#unseal")
        assert "private words" in dpo.locator("#content").inner_text()
        dpo.goto(f"{base}/audit")
        assert "Chain verified" in dpo.locator("#chain").inner_text()
        assert "unseal" in dpo.content() and "HR ref 114" in dpo.content()
        dpo.context.close()

        # Login rate limit.
        guesser = browser.new_page()
        for _ in range(5):
            login(guesser, base, "rita", "wrong password guess")
        login(guesser, base, "rita")
        assert "Too many failed attempts" in guesser.locator("#error").inner_text()
    assert dialogs == []
