"""One store test suite, run against SQLite+files and a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aupmilter.config import QuarantineSettings
from aupmilter.model import Finding
from aupmilter.quarantine import (
    AccessDenied,
    QuarantineRecord,
    QuarantineStore,
    Role,
    SealedError,
    StoreError,
    open_store,
)
from tests.harness.gateway import free_port, wait_for
from tests.harness.postgres import PrivatePostgres
from tests.harness.sink import Sink

_counter = itertools.count()
NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
RAW = b"From: x@outside.test\r\nTo: t@oakfield.example\r\nSubject: Invoice\r\n\r\nbody text\r\n"


def record(**kw: object) -> QuarantineRecord:
    base: dict[str, object] = dict(
        sender="x@outside.test",
        recipients=("t@oakfield.example", "u@oakfield.example"),
        direction="inbound",
        schools=("oakfield.example",),
        action="quarantine",
        reason="policy attachment.executable",
        sealed=False,
        subject="Invoice",
        queue_id="Q1",
        findings=(
            Finding(
                "attachment.executable.pe",
                "attachment.executable",
                1.0,
                "a.zip/b.exe",
                "attachment",
            ),
        ),
        received_at=NOW,
    )
    base.update(kw)
    return QuarantineRecord(**base)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], QuarantineStore]]:
    opened: list[QuarantineStore] = []
    if request.param == "postgresql":
        server: PrivatePostgres = request.getfixturevalue("private_postgres")
        url = server.new_database(f"t{next(_counter)}_{abs(hash(request.node.name)) % 10**8}")
    else:
        url = ""

    def make() -> QuarantineStore:
        store = open_store(QuarantineSettings(path=str(tmp_path / "q"), database=url))
        opened.append(store)
        return store

    yield make
    for s in opened:
        s.close()


def test_put_is_listed_and_filterable(store_factory: Callable[[], QuarantineStore]) -> None:
    store = store_factory()
    a = store.put(RAW, record())
    b = store.put(
        RAW,
        record(
            direction="outbound",
            schools=("birchwood.example",),
            findings=(Finding("offensive.profanity", "offensive", 2.0, "f**k", "body"),),
            received_at=NOW - dt.timedelta(days=3),
        ),
    )
    assert {i.id for i in store.list()} == {a, b}
    assert [i.id for i in store.list(category="attachment")] == [a]
    assert [i.id for i in store.list(category="offensive")] == [b]
    assert [i.id for i in store.list(school="birchwood.example")] == [b]
    assert [i.id for i in store.list(direction="inbound")] == [a]
    assert [i.id for i in store.list(since=NOW - dt.timedelta(days=1))] == [a]
    item = store.get(a)
    assert item.record == record()
    assert item.size == len(RAW)


def test_survives_reopen(store_factory: Callable[[], QuarantineStore]) -> None:
    first = store_factory()
    item_id = first.put(RAW, record())
    first.close()
    second = store_factory()
    assert second.get(item_id).record.subject == "Invoice"
    assert second.read_content(item_id, "alice", Role.REVIEWER) == RAW


@pytest.mark.parametrize("bad", ["../../etc/passwd", "x", "a" * 200, "AAAAAAAAAAAAAAAAAAAAAAA/..", ""])
def test_ids_are_validated(store_factory: Callable[[], QuarantineStore], bad: str) -> None:
    store = store_factory()
    with pytest.raises(StoreError):
        store.get(bad)


def test_ids_are_unguessable(store_factory: Callable[[], QuarantineStore]) -> None:
    store = store_factory()
    ids = [store.put(RAW, record()) for _ in range(5)]
    assert len(set(ids)) == 5 and all(len(i) >= 24 for i in ids)
    # Never a leading "-": the CLI took such an id (1 in 64 of the old ones) for an option.
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)


def test_roles_gate_content(store_factory: Callable[[], QuarantineStore]) -> None:
    store = store_factory()
    item_id = store.put(RAW, record())
    with pytest.raises(AccessDenied):
        store.read_content(item_id, "eve", Role.AUDITOR)
    with pytest.raises(AccessDenied):
        store.delete(item_id, "eve", Role.AUDITOR, "not allowed anyway")
    with pytest.raises(AccessDenied):
        store.audit_log(Role.REVIEWER)
    assert store.read_content(item_id, "bob", Role.REVIEWER) == RAW


def test_sealed_item_content_only_via_audited_unseal(
    store_factory: Callable[[], QuarantineStore],
) -> None:
    store = store_factory()
    raw = b"From: t@oakfield.example\r\nSubject: [Personal] hospital results\r\n\r\nprivate words\r\n"
    item_id = store.put(raw, record(sealed=True, subject=None))
    item = store.get(item_id)
    assert item.record.subject is None and item.record.sealed
    listed = [i.to_json() for i in store.list()]
    assert "hospital" not in repr(listed) and "private words" not in repr(listed)
    with pytest.raises(SealedError):
        store.read_content(item_id, "bob", Role.REVIEWER)
    with pytest.raises(SealedError):
        store.read_content(item_id, "dora", Role.DPO)
    with pytest.raises(AccessDenied):
        store.unseal(item_id, "bob", Role.REVIEWER, "I would like to see it please")
    with pytest.raises(StoreError, match="reason"):
        store.unseal(item_id, "dora", Role.DPO, "")
    assert store.unseal(item_id, "dora", Role.DPO, "HR investigation ref 2026-114") == raw
    log = store.audit_log(Role.DPO, item_id)
    assert [(r.action, r.actor, r.reason) for r in log][-1] == (
        "unseal",
        "dora",
        "HR investigation ref 2026-114",
    )


def test_sealed_files_on_disk_do_not_leak_subject_in_metadata(tmp_path: Path) -> None:
    store = open_store(QuarantineSettings(path=str(tmp_path / "q")))
    store.put(b"Subject: [Private] x\r\n\r\nsecret\r\n", record(sealed=True, subject=None))
    sidecars = list((tmp_path / "q").rglob("*.json"))
    assert sidecars and all("[Private]" not in p.read_text() for p in sidecars)
    db = sqlite3.connect(str(tmp_path / "q" / "quarantine.db"))
    assert db.execute("SELECT subject FROM items").fetchall() == [(None,)]
    assert oct((tmp_path / "q").stat().st_mode & 0o777) == "0o750"


def test_audit_chain_verifies_and_detects_tampering(
    store_factory: Callable[[], QuarantineStore],
) -> None:
    store = store_factory()
    item_id = store.put(RAW, record())
    store.read_content(item_id, "bob", Role.REVIEWER)
    store.delete(item_id, "bob", Role.REVIEWER, "spam")
    result = store.verify_audit()
    assert result.ok, result.message
    assert [r.action for r in store.audit_log(Role.DPO)] == ["quarantine", "view", "delete"]
    with store.db.transaction() as tx:
        tx.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 2")
    result = store.verify_audit()
    assert not result.ok and "record 2 was altered" in result.message
    with store.db.transaction() as tx:
        tx.execute("DELETE FROM audit WHERE seq = 2")
    assert not store.verify_audit().ok


def test_delete_removes_content(store_factory: Callable[[], QuarantineStore]) -> None:
    store = store_factory()
    item_id = store.put(RAW, record())
    store.delete(item_id, "bob", Role.REVIEWER, "confirmed spam")
    assert store.get(item_id).status == "deleted"
    assert store.list() == []
    with pytest.raises((StoreError, OSError, TypeError)):
        store.read_content(item_id, "bob", Role.REVIEWER)


def test_purge_applies_retention_per_category(store_factory: Callable[[], QuarantineStore]) -> None:
    store = store_factory()
    old_attach = store.put(RAW, record(received_at=NOW - dt.timedelta(days=40)))
    old_offensive = store.put(
        RAW,
        record(
            received_at=NOW - dt.timedelta(days=40),
            findings=(Finding("offensive.slur", "offensive", 5.0, "x", "body"),),
        ),
    )
    fresh = store.put(RAW, record(received_at=NOW - dt.timedelta(days=2)))
    purged = store.purge({"attachment": 30, "offensive": 365}, 90, "timer", NOW)
    assert purged == 1
    assert store.get(old_attach).status == "deleted"
    assert store.get(old_offensive).status == "held"
    assert store.get(fresh).status == "held"
    assert any(r.action == "purge" for r in store.audit_log(Role.DPO))


def test_release_to_original_recipients_only_success_on_250(
    store_factory: Callable[[], QuarantineStore],
) -> None:
    store = store_factory()
    item_id = store.put(RAW, record())
    port = free_port()
    sink = Sink(port)
    sink.start()
    try:
        with pytest.raises(StoreError, match="not an original recipient"):
            store.release(item_id, "bob", Role.REVIEWER, ["attacker@evil.test"], "127.0.0.1", port)
        with pytest.raises(AccessDenied):
            store.release(item_id, "eve", Role.AUDITOR, None, "127.0.0.1", port)
        result = store.release(item_id, "bob", Role.REVIEWER, ["t@oakfield.example"], "127.0.0.1", port)
        assert result.ok and result.delivered == ("t@oakfield.example",)
        wait_for(lambda: len(sink.messages) == 1, 10, "release at sink")
        assert sink.messages[0].recipients == ["t@oakfield.example"]
        assert sink.messages[0].data.endswith(RAW)
        assert store.get(item_id).status == "held"  # u@ not released yet
        with pytest.raises(StoreError, match="already released"):
            store.release(item_id, "bob", Role.REVIEWER, ["t@oakfield.example"], "127.0.0.1", port)
        store.release(item_id, "bob", Role.REVIEWER, None, "127.0.0.1", port)
        wait_for(lambda: len(sink.messages) == 2, 10, "second release")
        assert sink.messages[1].recipients == ["u@oakfield.example"]  # no duplicate to t@
        assert store.get(item_id).status == "released"
    finally:
        sink.stop()


def test_release_failure_keeps_item_and_reports(
    store_factory: Callable[[], QuarantineStore],
) -> None:
    store = store_factory()
    item_id = store.put(RAW, record())
    dead_port = free_port()  # nothing listens
    result = store.release(item_id, "bob", Role.REVIEWER, None, "127.0.0.1", dead_port)
    assert not result.ok and set(result.refused) == {"t@oakfield.example", "u@oakfield.example"}
    assert store.get(item_id).status == "held" and store.get(item_id).released_to == ()
    assert "failed" in store.audit_log(Role.DPO, item_id)[-1].reason


def test_put_failure_raises_and_leaves_no_file(tmp_path: Path) -> None:
    store = open_store(QuarantineSettings(path=str(tmp_path / "q")))
    with store.db.transaction() as tx:
        tx.execute("DROP TABLE items")
    with pytest.raises(sqlite3.OperationalError):
        store.put(RAW, record())
    assert list((tmp_path / "q").rglob("*.eml")) == []
