"""Fault injection through the real Postfix: nothing lost, nothing duplicated, nothing let through.

Bounded load (``AUPMILTER_SOAK_MESSAGES``, default 300 here; ``make soak`` runs 5,000).  Clients
behave like MTAs: a 4xx (or a dropped connection) is retried later; a 5xx is final.
Reconciliation: every message sent is exactly one of delivered once, or rejected with a reason.
"""

from __future__ import annotations

import concurrent.futures
import os
import smtplib
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest

from tests.harness.gateway import DEFAULT_CONFIG, Gateway, wait_for
from tests.harness.postgres import PrivatePostgres
from tests.test_e2e_postfix import mail

pytestmark = pytest.mark.postfix

PLUGIN_CONFIG = DEFAULT_CONFIG.replace(
    'internal_networks = ["10.0.0.0/8"]',
    'internal_networks = ["10.0.0.0/8"]\nplugins = ["tests.harness.misbehaving_check:MisbehavingCheck"]',
).replace("time_budget_seconds = 20.0", "time_budget_seconds = 1.0")

BLOCKING_CONFIG = (
    DEFAULT_CONFIG
    + """
[[action]]
match = "personal.label"
inbound = "block"
clause = "test: personal inbound refused"
"""
)


def test_hanging_check_hits_budget_and_tempfails_without_stalling(
    make_gateway: Callable[..., Gateway],
) -> None:
    gw = make_gateway(PLUGIN_CONFIG, quarantine_mode="hold")
    code, text = gw.send(
        mail("HANG-CHECK please", "p@home.test", "o@oakfield.example"),
        "p@home.test",
        ["o@oakfield.example"],
    )
    assert code == 451 and "4.7.1" in text
    # The next message is not stuck behind the hung one.
    assert (
        gw.send(
            mail("normal", "p@home.test", "o@oakfield.example"),
            "p@home.test",
            ["o@oakfield.example"],
        )[0]
        == 250
    )
    [delivered] = gw.wait_delivered(1)
    assert b"normal" in delivered
    assert "over time budget" in gw.milter_log.read_text()


def test_crashing_check_tempfails(make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway(PLUGIN_CONFIG, quarantine_mode="hold")
    code, _ = gw.send(
        mail("CRASH-CHECK", "p@home.test", "o@oakfield.example"),
        "p@home.test",
        ["o@oakfield.example"],
    )
    assert code == 451
    assert gw.sink_messages == []
    assert "injected check failure" in gw.milter_log.read_text()


def test_worker_dying_mid_message_tempfails_and_the_next_is_decided(make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway(PLUGIN_CONFIG, quarantine_mode="hold")
    code, _ = gw.send(mail("DIE-CHECK", "p@home.test", "o@oakfield.example"), "p@home.test", ["o@oakfield.example"])
    assert code == 451
    assert "worker process ended" in gw.milter_log.read_text()
    code, _ = gw.send(mail("normal", "p@home.test", "o@oakfield.example"), "p@home.test", ["o@oakfield.example"])
    assert code == 250
    [delivered] = gw.wait_delivered(1)
    assert b"normal" in delivered


def _send_until_final(gw: Gateway, raw: bytes, sender: str, rcpt: str, stop: float) -> int:
    """Behave like a sending MTA: retry 4xx and connection failures until a final answer."""
    while time.monotonic() < stop:
        try:
            code, _ = gw.send(raw, sender, [rcpt])
        except (smtplib.SMTPException, OSError):
            code = 421
        if code < 400 or code >= 500:
            return code
        time.sleep(0.2)
    raise TimeoutError("no final answer before the deadline")


def test_kill_9_mid_stream_reconciles_zero_lost_zero_duplicated(
    make_gateway: Callable[..., Gateway],
) -> None:
    total = int(os.environ.get("AUPMILTER_SOAK_MESSAGES", "300"))
    gw = make_gateway(BLOCKING_CONFIG, quarantine_mode="hold")
    messages = []
    for i in range(total):
        personal = i % 10 == 0  # these must be refused (5xx), never delivered
        subject = f"{'[Personal] ' if personal else ''}msg {i}"
        raw = mail(subject, "p@home.test", "o@oakfield.example").replace(
            b"Message-ID: <", f"Message-ID: <n{i}-".encode(), 1
        )
        messages.append((f"n{i}-", raw, personal))

    sent_count = Counter[str]()
    lock = threading.Lock()
    killed = threading.Event()
    deadline = time.monotonic() + 600

    def worker(item: tuple[str, bytes, bool]) -> tuple[str, int, bool]:
        tag, raw, personal = item
        code = _send_until_final(gw, raw, "p@home.test", "o@oakfield.example", deadline)
        with lock:
            sent_count["done"] += 1
            if sent_count["done"] == total // 3 and not killed.is_set():
                killed.set()
        return tag, code, personal

    def chaos() -> None:
        killed.wait(600)
        gw.kill_milter()  # SIGKILL mid-stream
        time.sleep(1.0)  # Postfix tempfails while it is down (clients retry)
        gw.start_milter()

    chaos_thread = threading.Thread(target=chaos)
    chaos_thread.start()
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(worker, messages))
    chaos_thread.join()

    refused = {tag for tag, code, _ in results if code >= 500}
    accepted = {tag for tag, code, _ in results if 200 <= code < 300}
    assert refused == {tag for tag, _, personal in results if personal}
    assert len(accepted) + len(refused) == total

    wait_for(lambda: len(gw.sink_messages) >= len(accepted), 120, "all accepted mail at the sink")
    time.sleep(0.5)  # a late duplicate would show up now
    delivered = Counter()
    for m in gw.sink_messages:
        for tag, _, _ in results:
            if f"Message-ID: <{tag}".encode() in m.data:
                delivered[tag] += 1
                break
    assert set(delivered) == accepted, "lost or wrongly delivered messages"
    assert max(delivered.values()) == 1, "duplicated messages"
    assert not (set(delivered) & refused), "a refused message was delivered"
    assert killed.is_set()


QUARANTINE_INBOUND_PERSONAL = (
    DEFAULT_CONFIG
    + """
[[action]]
match = "personal.label"
inbound = "quarantine"
"""
)


def test_postgres_outage_tempfails_then_recovers(
    make_gateway: Callable[..., Gateway], private_postgres: PrivatePostgres
) -> None:
    """The shared quarantine database goes away: mail meant for quarantine is tempfailed (kept by
    the sender), never delivered; when the database is back it is quarantined normally."""
    url = private_postgres.new_database("outage")
    gw = make_gateway(QUARANTINE_INBOUND_PERSONAL, quarantine_database=url)
    first = mail("[Personal] one", "a@outside.test", "t@oakfield.example")
    assert gw.send(first, "a@outside.test", ["t@oakfield.example"])[0] == 250
    private_postgres.pause()
    try:
        second = mail("[Personal] two", "b@outside.test", "t@oakfield.example")
        code, _ = gw.send(second, "b@outside.test", ["t@oakfield.example"])
        assert code == 451
    finally:
        private_postgres.resume()
    assert gw.send(second, "b@outside.test", ["t@oakfield.example"])[0] == 250
    from aupmilter.config import QuarantineSettings
    from aupmilter.quarantine import open_store

    store = open_store(QuarantineSettings(path=str(gw.store_dir), database=url))
    assert sorted(i.record.sender for i in store.list()) == ["a@outside.test", "b@outside.test"]
    assert gw.sink_messages == []


def test_full_quarantine_disk_tempfails_and_nothing_slips_through(make_gateway: Callable[..., Gateway]) -> None:
    """The store's file system fills up: messages meant for quarantine are tempfailed (the
    sender keeps them), none is delivered; clean mail still flows."""
    from tests.attachment_builders import message_with, pe_bytes

    gw = make_gateway(store_size="600k")
    exe = pe_bytes()
    codes = []
    for i in range(8):
        raw = message_with([(f"setup{i}.exe", exe + bytes([i]) * 20_000, "application/octet-stream")], subject=f"n{i}")
        codes.append(gw.send(raw, "x@outside.test", ["t@oakfield.example"])[0])
    assert 250 in codes and 451 in codes, codes  # some stored, then the disk was full
    assert codes.index(451) > 0 and all(c == 451 for c in codes[codes.index(451) :])
    assert gw.send(mail("clean", "p@home.test", "t@oakfield.example"), "p@home.test", ["t@oakfield.example"])[0] == 250
    delivered = gw.wait_delivered(1)
    assert len(delivered) == 1 and b"clean" in delivered[0]
    assert "stage=quarantine store write failed" in gw.milter_log.read_text()
