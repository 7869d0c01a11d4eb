"""The report log: events queued while a commit was on disk are written in one transaction."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

from aupmilter.config import QuarantineSettings, load_config
from aupmilter.model import Action, Decision, Direction, Envelope, Finding
from aupmilter.notify import Notifier
from aupmilter.quarantine import open_store
from aupmilter.quarantine.store import Event, QuarantineStore

T0 = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)


def test_record_events_writes_every_event_with_its_fields(tmp_path: Path) -> None:
    store = open_store(QuarantineSettings(path=str(tmp_path / "q")))
    store.record_events(
        [
            Event(T0, "outbound", "tag", "oakfield.example", ("offensive", "offensive"), ("offensive.insult",)),
            Event(T0 + dt.timedelta(seconds=1), "inbound", "block", "", ("attachment",), ("attachment.executable",)),
        ]
    )
    store.record_events([])  # nothing to write is not an error
    rows = store.events(T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=1))
    assert sorted(rows) == [
        (T0.isoformat(), "outbound", "tag", "oakfield.example", "offensive", "offensive.insult"),
        ((T0 + dt.timedelta(seconds=1)).isoformat(), "inbound", "block", "", "attachment", "attachment.executable"),
    ]


class _SlowFirstCommit:
    """The real store, with its first write held until the test has queued more decisions."""

    def __init__(self, store: QuarantineStore) -> None:
        self.store = store
        self.started = threading.Event()
        self.release = threading.Event()
        self.batches: list[int] = []

    def record_events(self, events: Any) -> None:
        events = list(events)
        self.batches.append(len(events))
        if len(self.batches) == 1:
            self.started.set()
            self.release.wait(30)
        self.store.record_events(events)


def test_notifier_batches_what_queued_during_a_commit(tmp_path: Path) -> None:
    config = load_config(None)
    store = _SlowFirstCommit(open_store(QuarantineSettings(path=str(tmp_path / "q"))))
    notifier = Notifier(config, store)
    envelope = Envelope("a@home.test", ("b@oakfield.example",))
    finding = Finding("offensive.insult", "offensive", 1.0, "d**b in body", "body")
    decision = Decision(Action.TAG, (finding,), direction=Direction.INBOUND, schools=("oakfield.example",))
    notifier.submit(envelope, decision, None)
    assert store.started.wait(30), "the notifier never wrote the first event"
    for _ in range(9):  # queued while the first commit is "on disk"
        notifier.submit(envelope, decision, None)
    store.release.set()
    notifier.drain()
    assert store.batches == [1, 9]
    assert len(store.store.events(T0 - dt.timedelta(days=365), dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))) == 10
