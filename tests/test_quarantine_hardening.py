"""Issue 23, store side: the audit chain cannot be rebuilt or truncated unseen, the PostgreSQL
writer cannot rewrite it, release is exactly-once under concurrency, blob references cannot
reach other files, secrets are never readable by others, deletes need a reason and auditors see
metadata only.  Run against SQLite+files and the real PostgreSQL the suite starts."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import itertools
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aupmilter.config import QuarantineSettings
from aupmilter.quarantine import (
    AuditKeyError,
    AuditRecord,
    QuarantineStore,
    Role,
    StoreError,
    open_store,
)
from aupmilter.quarantine.audit import GENESIS, Anchor, KeyRing, legacy_hash, verify_chain
from aupmilter.quarantine.db import grant_writer
from tests.harness.gateway import free_port, wait_for
from tests.harness.postgres import PrivatePostgres
from tests.harness.sink import Sink
from tests.test_store import RAW, record

_counter = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], QuarantineStore]]:
    """A factory of stores on one quarantine (each with its own connection, like processes)."""
    opened: list[QuarantineStore] = []
    url = ""
    if request.param == "postgresql":
        server: PrivatePostgres = request.getfixturevalue("private_postgres")
        url = server.new_database(f"h{next(_counter)}_{os.getpid()}")

    def make() -> QuarantineStore:
        store = open_store(QuarantineSettings(path=str(tmp_path / "q"), database=url))
        opened.append(store)
        return store

    yield make
    for s in opened:
        s.close()


def _history(store: QuarantineStore) -> str:
    item = store.put(RAW, record(sealed=True, subject=None))
    store.record_access("bob", Role.REVIEWER, "show", item)
    store.unseal(item, "dora", Role.DPO, "HR investigation ref 2026-114")
    store.record_access("dora", Role.DPO, "show", item)
    return item


# --- item 1: the audit chain ------------------------------------------------------------------


def test_rebuilt_chain_without_the_key_is_detected(backend: Callable[[], QuarantineStore]) -> None:
    """The reproduced attack: delete the unseal records and recompute the chain with the
    published algorithm.  The old unkeyed chain verified; the keyed one does not."""
    store = backend()
    _history(store)
    assert store.verify_audit().ok
    with store.db.transaction() as tx:
        rows = [
            AuditRecord(*r)
            for r in tx.execute(
                "SELECT seq, at, actor, role, action, item_id, reason, prev_hash, hash, key_id FROM audit ORDER BY seq"
            ).fetchall()
        ]
        tx.execute("DELETE FROM audit")
        prev, seq = GENESIS, 0
        for r in rows:
            if r.action == "unseal":
                continue
            seq += 1
            digest = legacy_hash(prev, r.at, r.actor, r.role, r.action, r.item_id, r.reason)
            tx.execute(
                "INSERT INTO audit (seq, at, actor, role, action, item_id, reason, prev_hash, hash, key_id)"
                " VALUES (?,?,?,?,?,?,?,?,?,?)",
                (seq, r.at, r.actor, r.role, r.action, r.item_id, r.reason, prev, digest, ""),
            )
            prev = digest
    result = backend().verify_audit()
    assert not result.ok, result.message


def test_truncation_is_reported_from_the_anchor(backend: Callable[[], QuarantineStore]) -> None:
    store = backend()
    _history(store)
    with store.db.transaction() as tx:
        tx.execute("DELETE FROM audit WHERE seq >= 3")
    result = store.verify_audit()
    assert not result.ok and "truncated" in result.message and "ends at record 2" in result.message
    # An emptied table is truncation too (the old chain verified "0 audit records").
    with store.db.transaction() as tx:
        tx.execute("DELETE FROM audit")
    assert "truncated" in store.verify_audit().message


def test_key_rotation_keeps_old_records_verifiable(backend: Callable[[], QuarantineStore]) -> None:
    store = backend()
    item = _history(store)
    first_key = store.keys.current
    key_path = Path(store.settings.path) / "audit.key"
    assert (key_path.stat().st_mode & 0o777) == 0o600
    new_key = store.rotate_audit_key("cli:root")
    store.record_access("bob", Role.REVIEWER, "show", item)
    assert new_key != first_key
    log = store.audit_log(Role.DPO)
    assert {r.key_id for r in log} == {first_key, new_key}
    assert log[-2].action == "audit-key-rotate" and log[-2].key_id == new_key
    verified = backend().verify_audit()  # a fresh process reads the ring from the file
    assert verified.ok, verified.message
    assert "database" not in key_path.read_text()  # the key never enters the database:
    with store.db.transaction() as tx:
        dumped = repr(tx.execute("SELECT * FROM audit").fetchall())
    assert all(hexkey not in dumped for hexkey in (k.hex() for k in store.keys.keys.values()))


def test_key_file_must_be_private_and_present(tmp_path: Path) -> None:
    settings = QuarantineSettings(path=str(tmp_path / "q"))
    store = open_store(settings)
    store.put(RAW, record())
    store.close()
    key = tmp_path / "q" / "audit.key"
    key.chmod(0o640)
    with pytest.raises(AuditKeyError, match="0600"):
        open_store(settings)
    key.unlink()
    with pytest.raises(AuditKeyError, match="copy the key file"):
        open_store(settings)


def _chain(tmp_path: Path) -> tuple[list[AuditRecord], KeyRing, Anchor]:
    store = open_store(QuarantineSettings(path=str(tmp_path / "chain")))
    for _ in range(3):
        _history(store)
    store.rotate_audit_key("cli:root")
    _history(store)
    rows = store.audit_log(Role.DPO)
    store.close()
    return rows, store.keys, store.anchor


FIELDS = ("at", "actor", "role", "action", "item_id", "reason", "prev_hash", "hash", "key_id", "seq")


@st.composite
def tampering(draw: st.DrawFn, n: int) -> tuple[str, Any]:
    kind = draw(st.sampled_from(["edit", "delete", "truncate", "reorder"]))
    if kind == "edit":
        return kind, (draw(st.integers(0, n - 1)), draw(st.sampled_from(FIELDS)), draw(st.text(max_size=8)))
    if kind == "delete":
        return kind, draw(st.integers(0, n - 1))
    if kind == "truncate":
        return kind, draw(st.integers(0, n - 1))
    perm = draw(st.permutations(list(range(n))))
    return kind, perm


def test_property_every_edit_truncation_and_reordering_is_detected(tmp_path: Path) -> None:
    rows, ring, anchor = _chain(tmp_path)
    assert verify_chain(rows, ring, anchor).ok
    n = len(rows)

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(tampering(n))
    def check(change: tuple[str, Any]) -> None:
        kind, arg = change
        tampered = list(rows)
        if kind == "edit":
            i, name, text = arg
            old = getattr(tampered[i], name)
            new: Any = (old + 1 + len(text)) if name == "seq" else (text if text != old else text + "x")
            if name == "item_id" and old is None and new == "":
                new = "x"
            tampered[i] = AuditRecord(**{**tampered[i].__dict__, name: new})
        elif kind == "delete":
            del tampered[arg]
        elif kind == "truncate":
            tampered = tampered[:arg]
        else:
            if list(arg) == list(range(n)):
                return  # the identity permutation is no reordering
            tampered = [rows[i] for i in arg]
        result = verify_chain(tampered, ring, anchor)
        assert not result.ok, (kind, arg)

    check()


# --- insert-only writer role (PostgreSQL) ----------------------------------------------------


def test_postgres_writer_role_cannot_rewrite_or_truncate_the_trail(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    import psycopg

    owner_url = private_postgres.new_database(f"w{next(_counter)}_{os.getpid()}")
    writer = private_postgres.create_role(f"aupw{next(_counter)}_{os.getpid()}")
    owner = open_store(QuarantineSettings(path=str(tmp_path / "q"), database=owner_url))
    assert isinstance(owner.db, type(owner.db))
    grant_writer(owner.db, writer)  # type: ignore[arg-type]
    owner.close()
    writer_url = private_postgres.url_as(owner_url, writer)
    store = open_store(QuarantineSettings(path=str(tmp_path / "q"), database=writer_url))
    item = _history(store)
    store.delete(item, "bob", Role.REVIEWER, "confirmed spam")
    assert store.verify_audit().ok
    for attack in (
        "UPDATE audit SET actor = 'mallory'",
        "DELETE FROM audit",
        "TRUNCATE audit",
        "DROP TABLE audit",
        "ALTER TABLE audit DROP COLUMN key_id",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), psycopg.connect(writer_url) as conn:
            conn.execute(attack)
    assert store.verify_audit().ok
    store.close()


# --- item 5: release is exactly-once -----------------------------------------------------------


def test_concurrent_releases_deliver_each_recipient_once(backend: Callable[[], QuarantineStore]) -> None:
    first = backend()
    item = first.put(RAW, record())
    stores = [backend() for _ in range(4)]
    port = free_port()
    sink = Sink(port)
    sink.start()
    barrier = threading.Barrier(len(stores))
    outcomes: list[object] = []

    def release(store: QuarantineStore) -> None:
        barrier.wait()
        try:
            outcomes.append(store.release(item, "bob", Role.REVIEWER, None, "127.0.0.1", port))
        except StoreError as exc:
            outcomes.append(exc)

    try:
        threads = [threading.Thread(target=release, args=(s,)) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        wait_for(lambda: len(outcomes) == len(stores), 10, "all releases")
        delivered = [r for m in sink.messages for r in m.recipients]
        assert sorted(delivered) == ["t@oakfield.example", "u@oakfield.example"], delivered
        refused = [o for o in outcomes if isinstance(o, StoreError)]
        assert len(refused) >= len(stores) - 2
        assert all("in progress" in str(o) or "already released" in str(o) for o in refused)
        after = first.get(item)
        assert after.status == "released"
        assert sorted(after.released_to) == ["t@oakfield.example", "u@oakfield.example"]
    finally:
        sink.stop()


def test_failed_release_frees_its_claim(backend: Callable[[], QuarantineStore]) -> None:
    store = backend()
    item = store.put(RAW, record())
    result = store.release(item, "bob", Role.REVIEWER, None, "127.0.0.1", free_port())
    assert not result.ok
    port = free_port()
    sink = Sink(port)
    sink.start()
    try:
        assert store.release(item, "bob", Role.REVIEWER, None, "127.0.0.1", port).ok
    finally:
        sink.stop()


# --- item 6: blob references -------------------------------------------------------------------


def test_forged_blob_reference_reaches_no_file(tmp_path: Path) -> None:
    secret = tmp_path / "outside-secret.txt"
    secret.write_text("ssh key material")
    store = open_store(QuarantineSettings(path=str(tmp_path / "a" / "q")))
    item = store.put(RAW, record())
    for forged in (
        "file:../../../outside-secret.txt",
        "file:2026/11/../../../../outside-secret.txt",
        "file:/etc/passwd",
        f"file:2026/13/{item}.eml",
        "db:someone-else",
    ):
        with store.db.transaction() as tx:
            tx.execute("UPDATE items SET blob_ref = ? WHERE id = ?", (forged, item))
        with pytest.raises(StoreError, match="blob"):
            store.read_content(item, "bob", Role.REVIEWER)
        with pytest.raises(StoreError, match="blob"):
            store.delete(item, "bob", Role.REVIEWER, "cleaning up")
    store.purge({}, 1, "timer", dt.datetime.now(dt.UTC) + dt.timedelta(days=400))
    assert secret.read_text() == "ssh key material"


def test_symlinked_month_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    store = open_store(QuarantineSettings(path=str(tmp_path / "q")))
    item = store.put(RAW, record())
    month = next((tmp_path / "q").glob("*/*/"))
    (outside / f"{item}.eml").write_bytes(b"planted")
    for f in month.iterdir():
        f.unlink()
    month.rmdir()
    month.symlink_to(outside)
    with pytest.raises(StoreError, match="leaves the quarantine folder"):
        store.read_content(item, "bob", Role.REVIEWER)
    assert (outside / f"{item}.eml").exists()


def test_file_references_are_refused_in_postgres(private_postgres: PrivatePostgres, tmp_path: Path) -> None:
    url = private_postgres.new_database(f"b{next(_counter)}_{os.getpid()}")
    store = open_store(QuarantineSettings(path=str(tmp_path / "q"), database=url))
    item = store.put(RAW, record())
    when = dt.datetime.now(dt.UTC)
    with store.db.transaction() as tx:
        tx.execute("UPDATE items SET blob_ref = ? WHERE id = ?", (f"file:{when:%Y/%m}/{item}.eml", item))
    with pytest.raises(StoreError, match="refused in a PostgreSQL quarantine"):
        store.read_content(item, "bob", Role.REVIEWER)
    store.close()


# --- item 9: secrets are created private --------------------------------------------------------


def test_secrets_are_never_visible_with_a_wider_mode(tmp_path: Path) -> None:
    """Every file-system step while the web secret and the audit key are created is watched
    (an audit hook runs before each open/chmod/rename/link): at no step may the final file
    exist with any group or other bit, whatever the umask."""
    from aupmilter.config import load_config
    from aupmilter.web.app import secret_key

    targets = [tmp_path / "web-secret", tmp_path / "q" / "audit.key"]
    seen: list[tuple[str, int]] = []

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event in ("open", "os.chmod", "os.rename", "os.link", "os.replace") or event.startswith("os."):
            for t in targets:
                with contextlib.suppress(OSError):
                    seen.append((t.name, os.stat(t).st_mode & 0o777))

    config = load_config(None)
    config = dataclasses.replace(config, web=dataclasses.replace(config.web, secret_key_file=str(targets[0])))
    old = os.umask(0)
    sys.addaudithook(hook)  # hooks cannot be removed: it only records into this test's list
    try:
        secret_key(config)
        open_store(QuarantineSettings(path=str(tmp_path / "q"))).close()
    finally:
        os.umask(old)
        targets.clear()
    names = {name for name, _ in seen}
    assert names == {"web-secret", "audit.key"}, names
    assert all(mode == 0o600 for _, mode in seen), seen


def test_a_planted_world_readable_secret_is_refused(tmp_path: Path) -> None:
    from aupmilter.config import load_config
    from aupmilter.secretfile import SecretFileError
    from aupmilter.web.app import secret_key

    planted = tmp_path / "web-secret"
    planted.write_text("known-to-the-attacker")
    planted.chmod(0o644)
    config = load_config(None)
    config = dataclasses.replace(config, web=dataclasses.replace(config.web, secret_key_file=str(planted)))
    with pytest.raises(SecretFileError, match="0600"):
        secret_key(config)


# --- item 12 (store side): delete needs a reason; auditors get metadata only -------------------


def test_delete_requires_a_reason(backend: Callable[[], QuarantineStore]) -> None:
    store = backend()
    item = store.put(RAW, record())
    for empty in ("", "   ", "\n"):
        with pytest.raises(StoreError, match="reason"):
            store.delete(item, "bob", Role.REVIEWER, empty)
    assert store.get(item).status == "held"
    store.delete(item, "bob", Role.REVIEWER, "phishing confirmed by IT")
    assert store.audit_log(Role.DPO)[-1].reason == "phishing confirmed by IT"


def test_auditor_view_of_an_item_is_metadata_only(backend: Callable[[], QuarantineStore]) -> None:
    store = backend()
    item = store.get(store.put(RAW, record()))
    seen = json.dumps(item.for_role(Role.AUDITOR).to_json())
    assert "Invoice" not in seen and "a.zip/b.exe" not in seen
    assert "attachment.executable.pe" in seen and "x@outside.test" in seen
    assert item.for_role(Role.REVIEWER) == item
