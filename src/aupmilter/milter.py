"""The milter adapter: pymilter callbacks collect bytes; end-of-message asks the engine.

Thin on purpose (see docs/architecture.md): callbacks only record the envelope, the macros
(``{auth_authen}``, ``i``) and the client address, and spool headers and body
(in memory up to a bound, then a temporary file).  At end-of-message the engine decides and the
effects become milter operations.  Any exception, or a decision that takes longer than the
per-message budget, gets the configured failure action — ``tempfail`` by default — so Postfix
keeps the message and retries: a failing milter never silently accepts or drops mail.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import logging
import tempfile
import threading
import time
from typing import Any

import Milter

from aupmilter import antivirus, metrics
from aupmilter.antivirus import ScannerUnavailable
from aupmilter.direction import classify
from aupmilter.elision import ELIDE_MIN_BYTES
from aupmilter.engine import Ruleset, evaluate
from aupmilter.message import MessageView
from aupmilter.model import Action, AddHeader, ChangeHeader, Decision, Envelope, ReplaceBody
from aupmilter.ownheaders import strip_client_headers
from aupmilter.ratewindow import RateWindow, body_digest, counted_window, with_count
from aupmilter.runlog import log_decision

log = logging.getLogger("aupmilter.milter")

REPLACE_CHUNK = 65536
#: From this size the repeat counter's body digest is made in the worker (from its parse, which
#: finds the large base64 bodies the digest can skip) rather than here, where every pass over the
#: message holds the GIL; below it the digest costs less than the round trip to ask for it.
DIGEST_IN_WORKER_BYTES = ELIDE_MIN_BYTES


class MilterState:
    """What the daemon shares with every connection: the current ruleset and the store.

    ``ruleset`` is swapped whole on reload (a single attribute assignment, atomic under the GIL),
    so a message in flight finishes under the policy it started with.
    """

    def __init__(
        self, ruleset: Ruleset, store: Any, workers: int = 8, notifier: Any = None, evaluator: Any = None
    ) -> None:
        self.ruleset = ruleset
        self.store = store
        self.notifier = notifier
        #: Worker processes (aupmilter.workers.EvaluatorPool), or None to decide in this process.
        self.evaluator = evaluator
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="aupmilter-eval")
        #: Repeated identical messages per sender (mass_mailing): state the pure engine cannot keep,
        #: so it lives here and reaches the engine as a fact on the Envelope.  Kept across reloads.
        self.rate_window = RateWindow()


_state: MilterState | None = None
_state_lock = threading.Lock()


def install_state(state: MilterState) -> None:
    global _state
    with _state_lock:
        _state = state


def current_state() -> MilterState:
    if _state is None:
        raise RuntimeError("milter state not installed")
    return _state


class AupMilter(Milter.Base):  # type: ignore[misc]
    """One instance per SMTP connection (pymilter's factory creates it)."""

    def __init__(self) -> None:
        self.client_addr: str | None = None
        self._reset_message()

    def _reset_message(self) -> None:
        state = _state
        limit = state.ruleset.config.milter.spool_memory_bytes if state else 1 << 20
        self.sender = ""
        self.recipients: list[str] = []
        old = getattr(self, "spool", None)
        if old is not None:
            old.close()  # a spilled spool is a temp file: never leak it across messages
        # Lives across callbacks (envfrom .. eom), so no context manager.
        self.spool: Any = tempfile.SpooledTemporaryFile(max_size=limit)  # noqa: SIM115
        self.size = 0
        self.too_big = False

    # --- collection --------------------------------------------------------------------------

    def connect(self, hostname: str, family: int, hostaddr: Any) -> int:
        metrics.CONNECTIONS.inc()
        self._counted = True
        if isinstance(hostaddr, tuple) and hostaddr:
            self.client_addr = str(hostaddr[0])
        elif isinstance(hostaddr, str) and hostaddr:
            self.client_addr = hostaddr
        return Milter.CONTINUE  # type: ignore[no-any-return]

    def envfrom(self, mailfrom: str, *params: str) -> int:
        self._reset_message()
        self.sender = mailfrom.strip("<>")
        return Milter.CONTINUE  # type: ignore[no-any-return]

    @Milter.noreply  # type: ignore[untyped-decorator]
    def envrcpt(self, rcpt: str, *params: str) -> int:
        self.recipients.append(rcpt.strip("<>"))
        return Milter.CONTINUE  # type: ignore[no-any-return]

    @Milter.noreply  # type: ignore[untyped-decorator]
    @Milter.decode("bytes")  # type: ignore[untyped-decorator]
    def header(self, name: bytes | str, value: bytes | str) -> int:
        bname = name if isinstance(name, bytes) else name.encode("utf-8", "surrogateescape")
        bvalue = value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")
        self._write(bname + b": " + bvalue.replace(b"\n", b"\r\n").replace(b"\r\r", b"\r") + b"\r\n")
        return Milter.CONTINUE  # type: ignore[no-any-return]

    @Milter.noreply  # type: ignore[untyped-decorator]
    def eoh(self) -> int:
        self._write(b"\r\n")
        return Milter.CONTINUE  # type: ignore[no-any-return]

    @Milter.noreply  # type: ignore[untyped-decorator]
    def body(self, chunk: bytes) -> int:
        self._write(chunk)
        return Milter.CONTINUE  # type: ignore[no-any-return]

    def _write(self, data: bytes) -> None:
        self.size += len(data)
        state = _state
        if state and self.size > state.ruleset.config.milter.max_message_bytes:
            self.too_big = True
            return
        self.spool.write(data)

    # --- decision ------------------------------------------------------------------------------

    def eom(self) -> int:
        started = time.perf_counter()
        queue_id = self.getsymval("i") or None
        try:
            return self._eom(queue_id)
        except ScannerUnavailable as exc:
            # [antivirus] failure_action = "tempfail": Postfix keeps the message and retries.
            log.error("queue_id=%s stage=antivirus %s; tempfail", queue_id, exc)
            metrics.observe_scans(exc.observations)
            metrics.ERRORS.labels(stage="antivirus").inc()
            metrics.FAILURE_REPLIES.labels(reply="tempfail").inc()
            self.setreply("451", "4.7.1", "Virus scanner temporarily unavailable, try again later")
            return Milter.TEMPFAIL  # type: ignore[no-any-return]
        except Exception:
            log.exception("queue_id=%s stage=eom error; applying failure action", queue_id)
            metrics.ERRORS.labels(stage="eom").inc()
            return self._failure()
        finally:
            metrics.PROCESSING.observe(time.perf_counter() - started)
            self._reset_message()

    def _eom(self, queue_id: str | None) -> int:
        state = current_state()
        ruleset = state.ruleset
        config = ruleset.config
        metrics.SPOOL_BYTES.inc(self.size)
        if self.too_big:
            self.setreply("552", "5.3.4", "Message too big for policy inspection")
            return Milter.REJECT  # type: ignore[no-any-return]
        self.spool.seek(0)
        # Client-supplied X-AUP-* headers go before anything looks at the message (ownheaders).
        stripped = strip_client_headers(self.spool.read(), ruleset.marker_key.get() if ruleset.marker_key else None)
        raw = stripped.raw
        envelope = Envelope(
            sender=self.sender,
            recipients=tuple(self.recipients),
            auth_user=self.getsymval("{auth_authen}") or None,
            client_addr=self.client_addr,
            queue_id=queue_id,
            received_at=dt.datetime.now(dt.UTC),
        )
        # Classified once here: the repeat counter needs the direction, and the engine then
        # takes it from the envelope instead of working it out again.
        envelope = dataclasses.replace(envelope, direction=classify(config, envelope))
        budget = config.milter.time_budget_seconds
        message: MessageView | None = None
        evaluator = state.evaluator
        window, repeat_window = state.rate_window, counted_window(envelope, ruleset)
        digested: list[bytes] = []

        def count(digest: bytes) -> int:
            assert repeat_window is not None
            digested.append(digest)
            return window.observe(envelope.sender, digest, repeat_window)

        counted = repeat_window is not None and evaluator is not None and len(raw) >= DIGEST_IN_WORKER_BYTES
        if repeat_window is not None and not counted:
            envelope = with_count(envelope, count(body_digest(raw)))
        try:
            if evaluator is not None:
                decision, timings, scans = evaluator.evaluate(envelope, raw, budget, count if counted else None)
                for name, seconds in timings:
                    _observe_check(name, seconds)
                metrics.observe_scans(scans)
            else:
                message, decision = state.pool.submit(_evaluate, envelope, raw, ruleset).result(timeout=budget)
        except TimeoutError:  # the in-process future's and the worker pool's alike
            log.error("queue_id=%s stage=evaluate over time budget %.1fs", queue_id, budget)
            metrics.ERRORS.labels(stage="budget").inc()
            return self._failure()
        finally:
            if counted and not digested:  # the worker failed first: the message still counts
                count(body_digest(raw))
        return self._apply(envelope, raw, message, decision, ruleset, stripped.deletions)

    def _apply(
        self,
        envelope: Envelope,
        raw: bytes,
        message: MessageView | None,
        decision: Decision,
        ruleset: Ruleset,
        deletions: tuple[ChangeHeader, ...] = (),
    ) -> int:
        config = ruleset.config
        _count(decision, config.org_domains)
        log_decision(config, envelope, decision)
        if decision.action is not Action.QUARANTINE:
            _report(envelope, decision, None)
        if decision.action is Action.BLOCK:
            reply = decision.smtp_reply
            assert reply is not None
            self.setreply(reply.code, reply.xcode, reply.text.replace("%", "%%"))
            return Milter.REJECT  # type: ignore[no-any-return]
        # Postfix's copy loses the client's X-AUP-* headers too (held copies included).
        for deletion in deletions:
            self.chgheader(deletion.name, deletion.index, "")
        if decision.action is Action.QUARANTINE:
            # Decided in a worker: parse here only for what the quarantine record needs.
            return self._quarantine(envelope, message or MessageView(raw), decision, ruleset)
        for effect in decision.effects:
            if isinstance(effect, AddHeader):
                self.addheader(effect.name, effect.value, 0 if effect.prepend else -1)
            elif isinstance(effect, ChangeHeader):
                self.chgheader(effect.name, effect.index, effect.value or "")
            elif isinstance(effect, ReplaceBody):
                for i in range(0, max(len(effect.body), 1), REPLACE_CHUNK):
                    self.replacebody(effect.body[i : i + REPLACE_CHUNK])
        return Milter.ACCEPT  # type: ignore[no-any-return]

    def _quarantine(self, envelope: Envelope, message: MessageView, decision: Decision, ruleset: Ruleset) -> int:
        category = _deciding_category(decision)
        if ruleset.config.quarantine.mode == "hold":
            self.quarantine(f"aupmilter: {', '.join(decision.rule_ids)}"[:200])
            metrics.QUARANTINED.labels(category=category).inc()
            return Milter.ACCEPT  # type: ignore[no-any-return]
        from aupmilter.quarantine import QuarantineRecord, StoreError

        state = current_state()
        record = QuarantineRecord.from_decision(envelope, message, decision, dt.datetime.now(dt.UTC))
        try:
            item_id = state.store.put(message.raw, record)  # durable before we answer
        except StoreError as exc:
            # Names the folder, its owner and mode: what the admin has to fix (no traceback).
            log.error("queue_id=%s stage=quarantine store write failed: %s", envelope.queue_id, exc)
            metrics.ERRORS.labels(stage="quarantine").inc()
            return self._failure()
        except Exception:
            log.exception("queue_id=%s stage=quarantine store write failed", envelope.queue_id)
            metrics.ERRORS.labels(stage="quarantine").inc()
            return self._failure()
        metrics.QUARANTINED.labels(category=category).inc()
        _report(envelope, decision, item_id)
        return Milter.DISCARD  # type: ignore[no-any-return]

    def _failure(self) -> int:
        state = _state
        action = state.ruleset.config.milter.failure_action if state else "tempfail"
        metrics.FAILURE_REPLIES.labels(reply=action).inc()
        if action == "accept":
            return Milter.ACCEPT  # type: ignore[no-any-return]
        if action == "reject":
            self.setreply("550", "5.7.1", "Message could not be checked against the e-mail policy")
            return Milter.REJECT  # type: ignore[no-any-return]
        self.setreply("451", "4.7.1", "Policy check temporarily unavailable, try again later")
        return Milter.TEMPFAIL  # type: ignore[no-any-return]

    def abort(self) -> int:
        self._reset_message()
        return Milter.CONTINUE  # type: ignore[no-any-return]

    def close(self) -> int:
        if getattr(self, "_counted", False):
            metrics.CONNECTIONS.dec()
            self._counted = False
        self.spool.close()
        return Milter.CONTINUE  # type: ignore[no-any-return]


def _evaluate(envelope: Envelope, raw: bytes, ruleset: Ruleset) -> tuple[MessageView, Decision]:
    message = MessageView(raw)
    with antivirus.collect() as scans:
        try:
            return message, evaluate(envelope, message, ruleset, timer=_observe_check)
        finally:
            metrics.observe_scans(scans)


def _observe_check(name: str, seconds: float) -> None:
    metrics.CHECK_SECONDS.labels(check=name).observe(seconds)


def _report(envelope: Envelope, decision: Decision, item_id: str | None) -> None:
    """Hand the decision to the notifier (a queue: never blocks, never fails the message)."""
    state = _state
    if state is not None and state.notifier is not None and decision.findings:
        state.notifier.submit(envelope, decision, item_id)


def _deciding_category(decision: Decision) -> str:
    """The category of the finding whose policy entry decided (the engine records it)."""
    return decision.deciding.category if decision.deciding else "none"


def _count(decision: Decision, org_domains: tuple[str, ...]) -> None:
    school = metrics.school_label(decision.schools[0] if decision.schools else None, org_domains)
    metrics.MESSAGES.labels(direction=str(decision.direction), action=str(decision.action), school=school).inc()
    for f in decision.findings:
        # Virus signature names are unbounded (the scanner's database): counted by category.
        rule = f.category if f.category == "virus" else f.rule
        metrics.FINDINGS.labels(category=f.category, rule=rule).inc()


FLAGS = Milter.ADDHDRS | Milter.CHGHDRS | Milter.CHGBODY | Milter.QUARANTINE
