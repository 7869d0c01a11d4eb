"""The review UI under test, one copy for every web test: the three staff accounts, the app served
on loopback by a real uvicorn, a real headless Chromium (Debian ``chromium`` driven by Playwright)
and signing in through the login form."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from aupmilter.quarantine import Accounts, QuarantineStore, Role
from tests.harness.gateway import DEFAULT_CONFIG, free_port, port_open, wait_for

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "a long enough password 1"
#: The gateway the browser tests run against: personal mail is held too, so sealed items are seen.
GATEWAY_CONFIG = (
    DEFAULT_CONFIG
    + """
[[action]]
match = "personal.label"
inbound = "quarantine"
"""
)
#: The accounts the web tests sign in as, one per role.
STAFF = (("rita", Role.REVIEWER), ("arthur", Role.AUDITOR), ("dana", Role.DPO))


def add_staff(store: QuarantineStore) -> None:
    """Create :data:`STAFF` in the store, all with :data:`PASSWORD`."""
    accounts = Accounts(store)
    for name, role in STAFF:
        accounts.add(name, PASSWORD, role)


@dataclass
class Served:
    """An app running in a uvicorn server thread on a loopback port."""

    base: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def serve(app: Any, **options: Any) -> Served:
    """Serve ``app`` on a free loopback port (``options`` go to :class:`uvicorn.Config`) and wait
    until it accepts connections."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: port_open(port), 20, "web UI")
    return Served(f"http://127.0.0.1:{port}", server, thread)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium browser, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def login(page, base: str, user: str, password: str = PASSWORD, goto: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Sign in; ``goto=False`` uses the sign-in page the browser is already on (keeps ``next``)."""
    if goto:
        page.goto(f"{base}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("#login")
