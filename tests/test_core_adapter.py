"""The milter adapter fed through pymilter's own test context (no MTA)."""

from __future__ import annotations

import io
import tomllib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import Milter
import pytest
from Milter.testctx import TestCtx as MilterTestCtx

from aupmilter import metrics
from aupmilter.config import load_config, parse_config
from aupmilter.engine import Ruleset
from aupmilter.milter import DIGEST_IN_WORKER_BYTES, AupMilter, MilterState, install_state
from aupmilter.ratewindow import body_digest
from aupmilter.ruleset import build_ruleset
from aupmilter.workers import EvaluatorPool, WorkerTimeout


def _ruleset(extra: dict[str, object] | None = None) -> Ruleset:
    base = load_config(None)
    data = tomllib.loads(Path(base.source).read_text())
    data.update(extra or {})
    return build_ruleset(parse_config(data, "test.toml"))


@pytest.fixture
def ctx(monkeypatch: pytest.MonkeyPatch) -> Iterator[MilterTestCtx]:
    # pymilter's test context treats NOREPLY as a stop; offer no "no-reply" protocol steps, as an
    # older MTA would (the real Postfix tests cover the no-reply path).
    monkeypatch.setattr(MilterTestCtx, "default_opts", [Milter.CURR_ACTS, 0, 0, 0])
    Milter.factory = AupMilter
    install_state(MilterState(_ruleset(), store=None, workers=2))
    yield MilterTestCtx()


def feed(
    ctx: MilterTestCtx,
    raw: bytes,
    sender: str,
    rcpt: str,
    ip: str = "198.51.100.5",
    auth: str | None = None,
) -> int:
    rc = ctx._connect(ip=ip)
    assert rc in (Milter.CONTINUE, Milter.NOREPLY)
    if auth:
        ctx._setsymval("{auth_authen}", auth)
    ctx._setsymval("i", "ABC123")
    return ctx._feedFile(io.BytesIO(raw), sender, rcpt)  # type: ignore[no-any-return]


def test_clean_inbound_is_accepted_and_tagged_with_verdict(ctx: MilterTestCtx) -> None:
    rc = feed(
        ctx,
        b"From: p@home.test\nTo: t@oakfield.example\nSubject: Trip\n\nHello\n",
        "p@home.test",
        "t@oakfield.example",
    )
    assert rc == Milter.ACCEPT
    assert ctx._headerschanged
    assert ctx._msg["X-AUP-Verdict"] == "accept"


def test_authenticated_personal_outbound_is_tagged(ctx: MilterTestCtx) -> None:
    rc = feed(
        ctx,
        b"From: t@oakfield.example\nTo: f@gmail.test\nSubject: [Personal] hi\n\nHello\n",
        "t@oakfield.example",
        "f@gmail.test",
        auth="t",  # the mailbox's own login: logged in as someone else is identity.from_mismatch
    )
    assert rc == Milter.ACCEPT
    # Verdict headers are internal: an outside recipient gets neither (issue 17).
    assert ctx._msg["X-AUP-Verdict"] is None and ctx._msg["X-AUP-Findings"] is None


def test_client_supplied_aup_headers_are_removed_before_evaluation(ctx: MilterTestCtx) -> None:
    rc = feed(
        ctx,
        b"From: p@home.test\nTo: t@oakfield.example\nX-AUP-Released: 0123456789abcdef0123456789abcdef\n"
        b"X-AUP-Verdict: accept\nX-AUP-Notification: 1\nx-aup-findings: none\nX-AUP-Disclaimer: oakfield.example\n"
        b"Subject: Trip\nX-AUP-Verdict: accept\n\nHello\n",
        "p@home.test",
        "t@oakfield.example",
    )
    assert rc == Milter.ACCEPT
    assert ctx._msg.get_all("X-AUP-Verdict") == ["accept"]  # ours, once
    for forged in ("X-AUP-Released", "X-AUP-Notification", "X-AUP-Findings", "X-AUP-Disclaimer"):
        assert ctx._msg[forged] is None, forged
    assert ctx._msg["Subject"] == "Trip"


def test_block_sets_550_reply(ctx: MilterTestCtx) -> None:
    install_state(
        MilterState(
            _ruleset(
                {
                    "action": [
                        {
                            "match": "personal.label",
                            "outbound": "block",
                            "clause": "no personal mail",
                        }
                    ]
                }
            ),
            None,
            2,
        )
    )
    rc = feed(
        ctx,
        b"From: t@oakfield.example\nTo: f@gmail.test\nSubject: Personal: hi\n\nHello\n",
        "t@oakfield.example",
        "f@gmail.test",
        auth="teacher",
    )
    assert rc == Milter.REJECT
    assert ctx._reply is not None
    assert ctx._reply[0] == "550" and ctx._reply[1] == "5.7.1"
    assert "no personal mail" in ctx._reply[2]


def test_engine_exception_tempfails_and_counts(ctx: MilterTestCtx, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("check crashed")

    monkeypatch.setattr("aupmilter.milter.evaluate", explode)
    before = metrics.ERRORS.labels(stage="eom")._value.get()
    rc = feed(
        ctx,
        b"From: p@home.test\nTo: t@oakfield.example\nSubject: x\n\nHello\n",
        "p@home.test",
        "t@oakfield.example",
    )
    assert rc == Milter.TEMPFAIL
    assert ctx._reply is not None and ctx._reply[0] == "451"
    assert metrics.ERRORS.labels(stage="eom")._value.get() == before + 1


def test_time_budget_exceeded_tempfails(ctx: MilterTestCtx, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    release = threading.Event()

    def hang(*args: object, **kwargs: object) -> None:
        release.wait(30)

    install_state(MilterState(_ruleset({"milter": {"time_budget_seconds": 0.2}}), None, 2))
    monkeypatch.setattr("aupmilter.milter.evaluate", hang)
    try:
        rc = feed(
            ctx,
            b"From: p@home.test\nTo: t@oakfield.example\nSubject: x\n\nHello\n",
            "p@home.test",
            "t@oakfield.example",
        )
    finally:
        release.set()
    assert rc == Milter.TEMPFAIL


def test_quarantine_store_failure_tempfails(ctx: MilterTestCtx) -> None:
    class BrokenStore:
        def put(self, raw: bytes, record: object) -> str:
            raise OSError(28, "No space left on device")

    install_state(
        MilterState(
            _ruleset({"action": [{"match": "personal.label", "all": "quarantine"}]}),
            BrokenStore(),
            2,
        )
    )
    rc = feed(
        ctx,
        b"From: p@home.test\nTo: t@oakfield.example\nSubject: Personal: x\n\nHello\n",
        "p@home.test",
        "t@oakfield.example",
    )
    assert rc == Milter.TEMPFAIL


def _scan_letter() -> bytes:
    """Outbound mail with a scan attached: big enough for the worker to make the body digest."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "t@oakfield.example", "f@gmail.test", "Scan"
    msg.set_content("Dear Mrs Patel, the scan you asked for.")
    msg.add_attachment(bytes(range(256)) * 1200, maintype="application", subtype="pdf", filename="scan.pdf")
    raw = msg.as_bytes()
    assert len(raw) >= DIGEST_IN_WORKER_BYTES
    return raw


def _earlier(state: MilterState, raw: bytes) -> int:
    """How many messages with this body the milter counted from t@oakfield.example."""
    digest = body_digest(raw.replace(b"\n", b"\r\n"))  # the milter's spool has CRLF line ends
    return state.rate_window.observe("t@oakfield.example", digest, 600)


def test_a_large_message_is_counted_once_with_the_digest_made_in_a_worker(
    ctx: MilterTestCtx, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_here(raw: bytes) -> bytes:
        raise AssertionError("digest made in the milter process")

    monkeypatch.setattr("aupmilter.milter.body_digest", not_here)
    config = tmp_path / "aupmilter.toml"
    config.write_text('[organisation]\nname = "T"\n\n[[schools]]\ndomain = "oakfield.example"\nname = "Oakfield"\n')
    pool = EvaluatorPool(str(config), 1, 1)
    try:
        state = MilterState(build_ruleset(load_config(str(config))), None, 2, evaluator=pool)
        install_state(state)
        raw = _scan_letter()
        for _ in range(3):
            assert feed(ctx, raw, "t@oakfield.example", "f@gmail.test", auth="t") == Milter.ACCEPT
        assert _earlier(state, raw) == 3
    finally:
        pool.shutdown()


def test_a_large_message_still_counts_when_no_worker_made_its_digest(ctx: MilterTestCtx) -> None:
    class NoWorkerFree:
        def evaluate(self, envelope: object, raw: bytes, timeout: float, count: object = None) -> None:
            raise WorkerTimeout("no free worker")

    state = MilterState(_ruleset(), None, 2, evaluator=NoWorkerFree())
    install_state(state)
    raw = _scan_letter()
    assert feed(ctx, raw, "t@oakfield.example", "f@gmail.test", auth="t") == Milter.TEMPFAIL
    assert _earlier(state, raw) == 1  # counted here instead, as before the digest moved to workers
