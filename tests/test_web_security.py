"""Issue 23, review UI side: sessions that really end, the trusted-header door, login rate
limiting behind a proxy, a slow release not freezing the UI, auditors seeing metadata only and
deletes needing a reason.  Browser behaviour in real headless Chromium (Playwright + Debian
chromium); server-side checks with a plain HTTP client.  The store is the real SQLite store."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from aupmilter.config import Config, load_config
from aupmilter.model import Finding
from aupmilter.quarantine import QuarantineStore, Role, open_store
from aupmilter.web.app import create_app
from tests.harness.gateway import DEFAULT_CONFIG, free_port, wait_for
from tests.harness.webui import PASSWORD, add_staff, login, serve
from tests.test_store import RAW, record

pytestmark = [pytest.mark.browser]

NEW_PASSWORD = "another long password 2"
SECRET = "s3cret-shared-with-the-proxy-only-0123456789"


@dataclass
class UI:
    base: str
    config: Config
    config_path: Path
    store: QuarantineStore
    item: str
    server: uvicorn.Server
    thread: threading.Thread
    extra: dict[str, Any] = field(default_factory=dict)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def start_ui(tmp_path: Path, web_toml: str = "", release_port: int | None = None, listen: str | None = None) -> UI:
    root = tmp_path / "site"
    root.mkdir(exist_ok=True)
    config_path = root / "aupmilter.toml"
    config_path.write_text(
        DEFAULT_CONFIG
        + f"""
[quarantine]
path = "{root / "q"}"
release_host = "127.0.0.1"
release_port = {release_port or free_port()}

[web]
secret_key_file = "{root / "web-secret"}"
{web_toml}
"""
    )
    config = load_config(str(config_path))
    store = open_store(config.quarantine)
    add_staff(store)
    item = store.put(
        RAW,
        record(
            subject="Quarterly invoice from Bob",
            findings=(Finding("offensive.profanity.strong", "offensive.profanity", 2.0, "you f**king idiot", "body"),),
        ),
    )
    app = create_app(config, store, listen=listen)
    if listen and listen.startswith("unix:"):
        from aupmilter.commands.web import unix_listener

        sock = unix_listener(listen.removeprefix("unix:"))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", proxy_headers=False))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        wait_for(lambda: server.started, 20, "web UI on a unix socket")
        return UI("http://ui", config, config_path, store, item, server, thread)
    # As `aupmilter web` runs it: uvicorn's own X-Forwarded-For rewriting off, so the app's
    # trusted-proxy rule is what is tested.
    served = serve(app, proxy_headers=False)
    return UI(served.base, config, config_path, store, item, served.server, served.thread)


def user_cli(ui: UI, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aupmilter.cli", "user", *args, "--config", str(ui.config_path)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def signed_in_cookies(browser: Any, ui: UI, user: str, password: str = PASSWORD) -> list[dict[str, Any]]:
    ctx = browser.new_context()
    page = ctx.new_page()
    login(page, ui.base, user, password)
    assert page.url.rstrip("/") == ui.base, page.url
    cookies: list[dict[str, Any]] = ctx.cookies()
    ctx.close()
    return cookies


def opens_audit(browser: Any, ui: UI, cookies: list[dict[str, Any]]) -> bool:
    """A fresh browser holding only a copy of the cookies: is it signed in?  (/audit for the
    dpo, the list for the others.)"""
    ctx = browser.new_context()
    ctx.add_cookies(cookies)
    page = ctx.new_page()
    page.goto(f"{ui.base}/audit")
    opened = not page.url.endswith("/login") and (
        page.locator("#chain").count() == 1 or "may not" in page.content() or "Forbidden" in page.content()
    )
    if opened and page.locator("#chain").count() == 0:
        page.goto(f"{ui.base}/")
        opened = page.locator("#items").count() == 1
    ctx.close()
    return opened


# --- item 2: sessions end for real -----------------------------------------------------------


def test_logout_password_change_disable_delete_and_timeouts_revoke_sessions(tmp_path: Path, browser: Any) -> None:
    ui = start_ui(tmp_path)
    try:
        # Logout: the copied cookie of the logged-out session is dead.
        ctx = browser.new_context()
        page = ctx.new_page()
        login(page, ui.base, "dana")
        copied = ctx.cookies()
        assert opens_audit(browser, ui, copied)
        page.click("header button[type=submit]")  # log out
        assert page.url.endswith("/login")
        ctx.close()
        assert not opens_audit(browser, ui, copied)

        # Password change from the CLI: every session of the account ends.
        copied = signed_in_cookies(browser, ui, "dana")
        assert opens_audit(browser, ui, copied)
        changed = user_cli(ui, "passwd", "dana", stdin=NEW_PASSWORD + "\n")
        assert changed.returncode == 0, changed.stderr
        assert not opens_audit(browser, ui, copied)

        # Disable ends sessions and refuses sign-in; enable lets the user back in.
        copied = signed_in_cookies(browser, ui, "rita")
        assert user_cli(ui, "disable", "rita").returncode == 0
        assert not opens_audit(browser, ui, copied)
        ctx = browser.new_context()
        page = ctx.new_page()
        login(page, ui.base, "rita")
        assert "Wrong username or password" in page.locator("#error").inner_text()
        ctx.close()
        listed = user_cli(ui, "list").stdout
        assert "rita\treviewer\tdisabled" in listed
        assert user_cli(ui, "enable", "rita").returncode == 0
        signed_in_cookies(browser, ui, "rita")

        # Delete.
        copied = signed_in_cookies(browser, ui, "arthur")
        assert user_cli(ui, "delete", "arthur").returncode == 0
        assert not opens_audit(browser, ui, copied)
        assert "arthur" not in user_cli(ui, "list").stdout

        # Idle and absolute timeouts (the clock is moved in the session table, not waited for).
        idle = ui.config.web.session_idle_seconds
        copied = signed_in_cookies(browser, ui, "dana", NEW_PASSWORD)
        with ui.store.db.transaction() as tx:
            tx.execute("UPDATE sessions SET last_seen = last_seen - ? WHERE username = 'dana'", (idle + 5,))
        assert not opens_audit(browser, ui, copied)
        copied = signed_in_cookies(browser, ui, "dana", NEW_PASSWORD)
        with ui.store.db.transaction() as tx:
            tx.execute(
                "UPDATE sessions SET created_at = created_at - ? WHERE username = 'dana'",
                (ui.config.web.session_max_seconds + 5,),
            )
        assert not opens_audit(browser, ui, copied)
        assert opens_audit(browser, ui, signed_in_cookies(browser, ui, "dana", NEW_PASSWORD))
        log = [r.action for r in ui.store.audit_log(Role.DPO)]
        assert {"user-password", "user-disable", "user-enable", "user-delete", "logout"} <= set(log)
    finally:
        ui.stop()


# --- item 7: trusted_header ------------------------------------------------------------------------


def test_trusted_header_needs_the_proxy_secret(tmp_path: Path) -> None:
    secret_file = tmp_path / "proxy-secret"
    secret_file.write_text(SECRET + "\n")
    secret_file.chmod(0o600)
    ui = start_ui(tmp_path, f'trusted_header = "X-Remote-User"\ntrusted_proxy_secret_file = "{secret_file}"')
    try:
        with httpx.Client(base_url=ui.base, follow_redirects=False) as client:
            # The reproduced attack: any local process, just the header.
            bare = client.get("/audit", headers={"X-Remote-User": "dana"})
            assert bare.status_code == 303 and bare.headers["location"].startswith("/login")
            wrong = client.get("/audit", headers={"X-Remote-User": "dana", "X-Proxy-Secret": "guess"})
            assert wrong.status_code == 303
            forged_unseal = client.post(
                f"/item/{ui.item}/unseal", headers={"X-Remote-User": "dana"}, data={"reason": "x" * 20}
            )
            assert forged_unseal.status_code == 303
            proxied = client.get("/audit", headers={"X-Remote-User": "dana", "X-Proxy-Secret": SECRET})
            assert proxied.status_code == 200 and "Audit log" in proxied.text
    finally:
        ui.stop()


def test_trusted_header_without_a_secret_is_a_config_error(tmp_path: Path) -> None:
    from aupmilter.errors import ConfigError

    with pytest.raises(ConfigError, match="trusted_proxy_secret_file"):
        start_ui(tmp_path, 'trusted_header = "X-Remote-User"')


def test_trusted_header_over_a_private_unix_socket(tmp_path: Path) -> None:
    sock_dir = Path("/tmp") / f"aup-uds-{time.monotonic_ns()}"
    sock_dir.mkdir(mode=0o750)
    path = sock_dir / "web.sock"
    ui = start_ui(tmp_path, f'trusted_header = "X-Remote-User"\nlisten = "unix:{path}"', listen=f"unix:{path}")
    try:
        assert (path.stat().st_mode & 0o777) == 0o660
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(path)), base_url="http://ui") as client:
            assert client.get("/audit", headers={"X-Remote-User": "dana"}).status_code == 200
            assert client.get("/audit", headers={"X-Remote-User": "nobody"}).status_code == 303
    finally:
        ui.stop()
        path.unlink(missing_ok=True)
        sock_dir.rmdir()


# --- item 10: login rate limiting behind a proxy ----------------------------------------------------


def test_one_attacker_behind_the_proxy_cannot_lock_out_everyone(tmp_path: Path, browser: Any) -> None:
    ui = start_ui(tmp_path, 'trusted_proxies = ["127.0.0.1"]')
    try:
        attacker = browser.new_context(extra_http_headers={"X-Forwarded-For": "203.0.113.66"})
        page = attacker.new_page()
        for name in ("admin", "root", "head", "it", "office"):
            login(page, ui.base, name, "guessing wrongly")
            assert "Wrong username or password" in page.locator("#error").inner_text()
        login(page, ui.base, "someone", "guessing wrongly")
        assert "Too many failed attempts" in page.locator("#error").inner_text()
        attacker.close()
        # The proxy forwards another client: unaffected.
        colleague = browser.new_context(extra_http_headers={"X-Forwarded-For": "10.1.2.3, 198.51.100.7"})
        page = colleague.new_page()
        login(page, ui.base, "rita")
        assert page.url.rstrip("/") == ui.base and page.locator("#items").count() == 1
        colleague.close()
    finally:
        ui.stop()


def test_client_address_header_from_an_untrusted_peer_is_ignored(tmp_path: Path) -> None:
    ui = start_ui(tmp_path)  # no trusted proxies: the peer address counts, whatever the header says
    try:
        with httpx.Client(base_url=ui.base) as client:
            for i in range(5):
                r = client.post(
                    "/login",
                    data={"username": f"u{i}", "password": "wrong wrong wrong"},
                    headers={"X-Forwarded-For": f"192.0.2.{i}"},
                )
                assert r.status_code == 401
            r = client.post(
                "/login",
                data={"username": "u9", "password": "wrong wrong wrong"},
                headers={"X-Forwarded-For": "192.0.2.200"},
            )
            assert r.status_code == 429
    finally:
        ui.stop()


# --- item 11: a slow release does not freeze the UI -------------------------------------------------


class Tarpit:
    """An SMTP 'server' that accepts and then says nothing until told to hang up."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def hang_up(self) -> None:
        for c in self.held:
            c.close()
        self.sock.close()


def test_a_tarpitted_release_does_not_freeze_other_reviewers(tmp_path: Path, browser: Any) -> None:
    tarpit = Tarpit()
    ui = start_ui(tmp_path, release_port=tarpit.port)
    try:
        releaser = browser.new_context().new_page()
        login(releaser, ui.base, "rita")
        other = browser.new_context().new_page()
        login(other, ui.base, "dana")
        releaser.goto(f"{ui.base}/item/{ui.item}")
        releaser.click("#release", no_wait_after=True)
        wait_for(lambda: len(tarpit.held) == 1, 20, "the release to reach the tarpit")
        # While the release waits on the tarpit, another reviewer's pages still load.
        other.goto(f"{ui.base}/", timeout=30_000)
        assert other.locator("#items tbody tr").count() == 1
        other.goto(f"{ui.base}/audit", timeout=30_000)
        assert "Chain verified" in other.locator("#chain").inner_text()
        assert len(tarpit.held) == 1 and not tarpit.held[0]._closed  # type: ignore[attr-defined]
        assert ui.store.get(ui.item).released_to == ()  # the release is still in progress
        tarpit.hang_up()
        releaser.wait_for_selector("text=Not released to", timeout=90_000)
        assert ui.store.get(ui.item).status == "held"
    finally:
        tarpit.hang_up()
        ui.stop()


# --- item 12: auditors see metadata only; delete needs a reason -------------------------------------


def test_auditor_sees_metadata_only_and_delete_needs_a_reason(tmp_path: Path, browser: Any) -> None:
    ui = start_ui(tmp_path)
    try:
        auditor = browser.new_context().new_page()
        login(auditor, ui.base, "arthur")
        listing = auditor.locator("#items").inner_text()
        assert "x@outside.test" in listing and "offensive.profanity" in listing and "None" not in listing
        assert "Quarterly invoice" not in auditor.content()
        auditor.click("#items tbody tr a")
        assert "offensive.profanity.strong" in auditor.locator("#findings").inner_text()
        html = auditor.content()
        assert "Quarterly invoice" not in html and "idiot" not in html and "f**king" not in html
        auditor.context.close()

        reviewer = browser.new_context().new_page()
        login(reviewer, ui.base, "rita")
        reviewer.goto(f"{ui.base}/item/{ui.item}")
        assert "Quarterly invoice from Bob" in reviewer.content()  # reviewers do see it
        token = reviewer.locator("input[name=csrf]").first.get_attribute("value") or ""
        # A hand-made POST that skips the form's `required`: refused, nothing deleted.
        empty = reviewer.request.post(
            f"{ui.base}/bulk",
            form={"csrf": token, "action": "delete", "id": ui.item, "reason": "  ", "confirm": "1"},
        )
        assert "A reason is needed to delete" in empty.text()
        assert ui.store.get(ui.item).status == "held"
        reviewer.fill("#delete-reason", "phishing, confirmed with the sender by phone")
        reviewer.click("#delete")
        reviewer.click("#confirm")
        assert ui.store.get(ui.item).status == "deleted"
        entry = ui.store.audit_log(Role.DPO)[-1]
        assert (entry.action, entry.reason) == ("delete", "phishing, confirmed with the sender by phone")
        reviewer.context.close()
    finally:
        ui.stop()


def test_cli_auditor_json_is_metadata_only(tmp_path: Path) -> None:
    """The same rule in the CLI: an auditor's ``show --json`` has no subject and no evidence."""
    ui = start_ui(tmp_path)
    try:
        ui.config_path.write_text(ui.config_path.read_text() + '\n[review.os_roles]\nauditor = ["64902"]\n')
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "aupmilter.cli",
                "quarantine",
                "show",
                ui.item,
                "--json",
                "--config",
                str(ui.config_path),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            group=64902,
            extra_groups=[],
        )
        assert out.returncode == 0, out.stderr
        data = json.loads(out.stdout)
        assert data["subject"] is None and data["findings"][0]["evidence"] == ""
        assert data["sender"] == "x@outside.test"
    finally:
        ui.stop()
