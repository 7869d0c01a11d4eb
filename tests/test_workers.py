"""The worker pool, with real spawned worker processes: answers, engine errors, a stuck worker
replaced, a dead worker replaced, reload-style shutdown."""

from __future__ import annotations

import os
import signal
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from aupmilter.milter import DIGEST_IN_WORKER_BYTES
from aupmilter.model import Action, Envelope
from aupmilter.ratewindow import body_digest
from aupmilter.workers import EvaluatorPool, RemoteError, WorkerFailed, WorkerTimeout

CONFIG = """
[organisation]
name = "Test Trust"
plugins = ["tests.harness.misbehaving_check:MisbehavingCheck"]

[[schools]]
domain = "oakfield.example"
name = "Oakfield"
"""

INBOUND = Envelope("parent@home.test", ("teacher@oakfield.example",), client_addr="198.51.100.7")


def _back_to_full_strength(pool: EvaluatorPool) -> bool:
    """Wait (not a timing assertion: up to a minute) until the replacement worker is idle."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(pool._all) == pool.workers and pool._idle.qsize() == pool.workers:
            return True
        time.sleep(0.05)
    return False


def _mail(subject: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "parent@home.test"
    msg["To"] = "teacher@oakfield.example"
    msg["Subject"] = subject
    msg.set_content("Dear Ms Hartley, Amelia will be late tomorrow. Kind regards")
    return msg.as_bytes()


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> EvaluatorPool:
    path: Path = tmp_path_factory.mktemp("workers") / "aupmilter.toml"
    path.write_text(CONFIG)
    started = EvaluatorPool(str(path), 1, 2)
    yield started  # type: ignore[misc]
    started.shutdown()


def test_a_worker_decides_and_reports_timings(pool: EvaluatorPool) -> None:
    decision, timings, scans = pool.evaluate(INBOUND, _mail("Late tomorrow"), 60)
    assert decision.action is Action.ACCEPT
    assert {"offensive", "attachments", "misbehaving"} <= {name for name, _ in timings}
    assert scans == []


def test_an_engine_error_is_raised_here_with_the_workers_traceback(pool: EvaluatorPool) -> None:
    with pytest.raises(RuntimeError, match="injected check failure") as caught:
        pool.evaluate(INBOUND, _mail("CRASH-CHECK"), 60)
    assert isinstance(caught.value.__cause__, RemoteError)
    assert "misbehaving_check.py" in str(caught.value.__cause__)
    # the worker that raised is still in service
    assert pool.evaluate(INBOUND, _mail("after the crash"), 60)[0].action is Action.ACCEPT


def test_a_stuck_worker_is_replaced_and_the_others_go_on(pool: EvaluatorPool) -> None:
    with pytest.raises(WorkerTimeout):
        pool.evaluate(INBOUND, _mail("HANG-CHECK"), 1.0)
    for n in range(4):  # the other worker, then the replacement too
        assert pool.evaluate(INBOUND, _mail(f"next {n}"), 60)[0].action is Action.ACCEPT
    assert _back_to_full_strength(pool)


def test_a_worker_killed_while_idle_is_replaced_without_failing_a_message(pool: EvaluatorPool) -> None:
    victim = pool._idle.get()
    os.kill(victim.process.pid, signal.SIGKILL)
    victim.process.join(10)
    pool._idle.put(victim)
    for n in range(4):
        assert pool.evaluate(INBOUND, _mail(f"after kill {n}"), 60)[0].action is Action.ACCEPT
    assert victim not in pool._all and _back_to_full_strength(pool)


def test_a_worker_dying_mid_message_fails_that_message_only(pool: EvaluatorPool) -> None:
    with pytest.raises(WorkerFailed, match="worker process ended"):
        pool.evaluate(INBOUND, _mail("DIE-CHECK"), 60)
    for n in range(4):
        assert pool.evaluate(INBOUND, _mail(f"afterwards {n}"), 60)[0].action is Action.ACCEPT
    assert _back_to_full_strength(pool)


def _letter_with_scan() -> bytes:
    """Outbound mail big enough for the digest to be made in the worker, with an elided scan."""
    msg = EmailMessage()
    msg["From"] = "teacher@oakfield.example"
    msg["To"] = "parent@home.test"
    msg["Subject"] = "Report attached"
    msg.set_content("Dear Mrs Patel, please find the report attached.")
    msg.add_attachment(os.urandom(400_000), maintype="application", subtype="pdf", filename="scan.pdf")
    return msg.as_bytes().replace(b"\n", b"\r\n")


def test_the_worker_asks_the_repeat_counter_with_the_same_digest(pool: EvaluatorPool) -> None:
    raw = _letter_with_scan()
    assert len(raw) >= DIGEST_IN_WORKER_BYTES
    outbound = Envelope("teacher@oakfield.example", ("parent@home.test",), auth_user="teacher")
    asked: list[bytes] = []

    def count(digest: bytes) -> int:
        asked.append(digest)
        return 9  # nine identical ones before: past the shipped report_at (5)

    decision = pool.evaluate(outbound, raw, 60, count)[0]
    assert asked == [body_digest(raw)]  # what the milter process would have computed itself
    assert "mass_mailing.repeated" in decision.rule_ids
    assert "mass_mailing.repeated" not in pool.evaluate(outbound, raw, 60, lambda digest: 0)[0].rule_ids
    assert "mass_mailing.repeated" not in pool.evaluate(outbound, raw, 60)[0].rule_ids  # not asked: no count


def test_a_failing_repeat_counter_fails_the_message_and_replaces_the_worker(pool: EvaluatorPool) -> None:
    def broken(digest: bytes) -> int:
        raise ValueError("no counter")

    outbound = Envelope("teacher@oakfield.example", ("parent@home.test",), auth_user="teacher")
    with pytest.raises(WorkerFailed, match="repeat counting failed"):
        pool.evaluate(outbound, _letter_with_scan(), 60, broken)
    for n in range(4):  # no worker is left waiting for an answer it will not get
        assert pool.evaluate(INBOUND, _mail(f"after the counter {n}"), 60)[0].action is Action.ACCEPT
    assert _back_to_full_strength(pool)


def test_a_bad_configuration_stops_the_pool_from_starting(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(CONFIG.replace("misbehaving_check:MisbehavingCheck", "no_such_module:Nothing"))
    with pytest.raises(WorkerFailed, match="could not build the ruleset"):
        EvaluatorPool(str(path), 1, 1)


def test_reload_shutdown_lets_idle_workers_exit(tmp_path: Path) -> None:
    path = tmp_path / "aupmilter.toml"
    path.write_text(CONFIG)
    old = EvaluatorPool(str(path), 1, 1)
    [worker] = old._all
    old.shutdown(terminate=False)
    assert not worker.process.is_alive()
    with pytest.raises(WorkerTimeout):
        old.evaluate(INBOUND, _mail("too late"), 0.2)
