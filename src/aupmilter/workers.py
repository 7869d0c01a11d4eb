"""Evaluation in worker processes, so the milter uses every core.

Every pymilter callback holds the GIL; checks are pure Python and CPU-bound, so in one process
messages are decided one at a time whatever the number of libmilter threads.  The adapter
therefore hands ``(envelope, raw bytes)`` to a pool of worker processes, each holding its own
ruleset built from the same configuration, and gets the picklable :class:`Decision` back.

Each worker has its own pipe; the libmilter thread that has the message takes an idle worker,
writes the request and waits on that pipe itself (the read releases the GIL).  There is no
dispatcher: a :class:`concurrent.futures.ProcessPoolExecutor` costs two more threads (queue
feeder, result manager) and their GIL hand-offs on every message, which measured as half of the
milter process's own CPU (docs/performance.md).

Workers are started with ``spawn`` (the milter process has libmilter threads; forking a
threaded process is unsafe) and warmed up at start, so the first message does not wait for an
import.  A worker past the per-message budget is killed and replaced in the background (its
message gets the failure action; the other workers go on); a worker that dies is replaced the
same way.  On reload a new pool replaces the old one: messages in flight finish on the old
workers, which then exit.  Per-check timings and virus-scan observations travel back with the
decision for the metrics (a worker's own registry is never scraped).

The repeat counter (:mod:`aupmilter.ratewindow`) keeps its state in the milter process, but for a
large message the body digest it is asked with is made here, from the parse's elision: the
worker sends the digest back on its pipe, the milter thread answers with the count, and the
worker puts it on the envelope before evaluating.  One round trip of a few bytes instead of
several passes over megabytes in the process that holds the GIL.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from aupmilter import antivirus
from aupmilter.antivirus import Observation
from aupmilter.config import load_config
from aupmilter.elision import Elided
from aupmilter.engine import Ruleset, evaluate
from aupmilter.message import MessageView
from aupmilter.model import Decision, Envelope
from aupmilter.ratewindow import body_digest, with_count
from aupmilter.ruleset import build_ruleset

log = logging.getLogger("aupmilter.workers")

#: What a worker sends back: the decision, per-check timings and the virus scans it made.
Outcome = tuple[Decision, list[tuple[str, float]], list[Observation]]
#: The repeat counter, asked with a body digest: how many earlier messages had it.
Counter = Callable[[bytes], int]

#: Seconds a new worker may take to import and build its ruleset.
START_TIMEOUT = 120.0
#: Messages between two "collect, then freeze" passes of the cyclic garbage collector.
FREEZE_EVERY = 100


class WorkerTimeout(TimeoutError):
    """The message was not decided within its budget (the worker is being replaced)."""


class WorkerFailed(RuntimeError):
    """The worker died or answered with something that is not an outcome."""


class RemoteError(Exception):
    """The traceback of an exception raised in a worker, attached as ``__cause__``."""


# --- the worker process ---------------------------------------------------------------------


def _evaluate(ruleset: Ruleset, envelope: Envelope, raw: bytes, counter: Connection | None = None) -> Outcome:
    timings: list[tuple[str, float]] = []
    with antivirus.collect() as scans:
        try:
            message = MessageView(raw)
            if counter is not None:
                envelope = with_count(envelope, _repeats(counter, raw, message))
            decision = evaluate(envelope, message, ruleset, timer=lambda n, secs: timings.append((n, secs)))
        except antivirus.ScannerUnavailable as exc:
            exc.observations = list(scans)  # pickled with the exception: the failed scans still count
            raise
    return decision, timings, scans


def _repeats(conn: Connection, raw: bytes, message: MessageView) -> int:
    """Ask the milter process how many earlier messages had this body digest (its repeat counter
    keeps the state, see :mod:`aupmilter.ratewindow`); the digest is made here, from the parse's
    elision, so a large message costs the GIL-holding milter process no pass over it."""
    elided = message.elisions if isinstance(message.elisions, Elided) else None
    conn.send(("digest", body_digest(raw, elided)))
    earlier = conn.recv()
    if not isinstance(earlier, int):
        raise TypeError(f"expected a repeat count, got {type(earlier).__name__}")
    return earlier


def _serve(conn: Connection, config_path: str | None, generation: int) -> None:
    """A worker's life: build the ruleset, say ready, then answer requests until the pipe closes."""
    try:
        ruleset = build_ruleset(load_config(config_path), generation)
    except BaseException as exc:  # the parent logs it and does not start the pool
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    settle_garbage()
    conn.send(("ready", os.getpid()))
    decided = 0
    while True:
        try:
            envelope, counted = conn.recv()
            raw = conn.recv_bytes()  # as sent: not pickled, so not copied once more on each side
        except (EOFError, OSError):
            return
        try:
            reply: tuple[str, Any] = ("ok", _evaluate(ruleset, envelope, raw, conn if counted else None))
        except Exception as exc:
            reply = ("raise", (exc, traceback.format_exc()))
        try:
            conn.send(reply)
        except Exception as exc:  # an unpicklable exception: send what it said
            conn.send(("raise", (RuntimeError(f"{type(exc).__name__}: {exc}; was: {reply[1]!r}"[:2000]), "")))
        del envelope, raw, reply
        decided += 1
        if decided % FREEZE_EVERY == 0:
            settle_garbage()  # after the answer, between messages: no message waits for it


def settle_garbage() -> None:
    """Collect cyclic garbage, then move every surviving object out of the collector's sight.

    The checks' per-word memos grow to hundreds of thousands of objects; each time the old
    generation grows by a quarter Python scans all of it, a 30-50 ms pause inside whichever
    message is being decided (measured: p99 of the offensive check on new letters 41 ms with
    the default collector, 18 ms with this; ``bench/varied.py``).  What survives a full
    collection between messages is the ruleset and the memos, which are acyclic and freed by
    reference counting when a memo is cleared; freezing them costs nothing to correctness."""
    gc.collect()
    gc.freeze()


# --- the milter side ------------------------------------------------------------------------


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, context: Any, config_path: str | None, generation: int) -> None:
        self.conn, child = multiprocessing.Pipe(duplex=True)
        self.process: BaseProcess = context.Process(
            target=_serve, args=(child, config_path, generation), name="aupmilter-worker", daemon=True
        )
        self.process.start()
        child.close()

    def wait_ready(self, timeout: float) -> None:
        if not self.conn.poll(timeout):
            self.stop()
            raise WorkerFailed(f"worker did not start within {timeout:.0f}s")
        try:
            kind, detail = self.conn.recv()
        except (EOFError, OSError):
            self.stop()
            raise WorkerFailed("worker exited while starting") from None
        if kind != "ready":
            self.stop()
            raise WorkerFailed(f"worker could not build the ruleset: {detail}")

    def ask(self, envelope: Envelope, raw: bytes, timeout: float, count: Counter | None = None) -> Outcome:
        deadline = time.monotonic() + timeout
        try:
            self.conn.send((envelope, count is not None))
            self.conn.send_bytes(raw)
            while True:
                answered = self.conn.poll(max(deadline - time.monotonic(), 0.0))
                reply: tuple[str, Any] = self.conn.recv() if answered else ("", None)
                if reply[0] != "digest" or count is None:
                    break
                self.conn.send(_count(count, reply[1]))
        except (EOFError, OSError) as exc:
            raise WorkerFailed(f"worker process ended ({type(exc).__name__})") from None
        if not answered:  # (raised out here: a TimeoutError is an OSError)
            raise WorkerTimeout(f"no decision within {timeout:.1f}s")
        kind, payload = reply
        if kind == "ok":
            return payload  # type: ignore[no-any-return]
        if kind == "raise":
            raised, remote = payload
            if remote:
                raised.__cause__ = RemoteError(remote)
            raise raised
        raise WorkerFailed(f"unexpected answer from worker: {kind!r}")

    def stop(self, kill: bool = True) -> None:
        self.conn.close()  # an idle worker's recv() ends: it exits by itself
        if kill and self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


def _count(count: Counter, digest: Any) -> int:
    try:
        return count(digest)
    except Exception as exc:  # the worker waits for an answer: it has to be replaced
        raise WorkerFailed(f"repeat counting failed ({type(exc).__name__})") from exc


class EvaluatorPool:
    """``workers`` processes; :meth:`evaluate` borrows an idle one for one message."""

    def __init__(self, config_path: str | None, generation: int, workers: int) -> None:
        self.workers = workers
        self.config_path, self.generation = config_path, generation
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._all: set[_Worker] = set()
        self._closed = False
        # Start every worker now (import + ruleset build), not on the first messages.
        started = [self._spawn() for _ in range(workers)]
        try:
            for worker in started:
                worker.wait_ready(START_TIMEOUT)
        except WorkerFailed:
            for worker in started:
                worker.stop()
            raise
        for worker in started:
            self._idle.put(worker)

    def _spawn(self) -> _Worker:
        worker = _Worker(self._context, self.config_path, self.generation)
        with self._lock:
            self._all.add(worker)
        return worker

    def _replace(self, broken: _Worker) -> None:
        """Kill ``broken`` and start its successor in a background thread: the libmilter thread
        answers its message now, and the other workers keep deciding meanwhile."""
        with self._lock:
            self._all.discard(broken)
        broken.stop(kill=True)

        def start() -> None:
            if self._closed:
                return
            try:
                worker = self._spawn()
                worker.wait_ready(START_TIMEOUT)
            except Exception:
                log.exception("could not replace a worker process; %d left", len(self._all))
                return
            self._release(worker)

        threading.Thread(target=start, name="aupmilter-worker-start", daemon=True).start()

    def _release(self, worker: _Worker) -> None:
        if self._closed:
            with self._lock:
                self._all.discard(worker)
            worker.stop(kill=False)
        else:
            self._idle.put(worker)

    def evaluate(self, envelope: Envelope, raw: bytes, timeout: float, count: Counter | None = None) -> Outcome:
        """Decide one message in a worker within ``timeout`` seconds (waiting for a free worker
        included).  Raises :class:`WorkerTimeout` past the budget, :class:`WorkerFailed` when a
        worker dies, and re-raises what the engine raised in the worker.

        ``count``: the repeat counter's ``observe`` for this message, called here (in the milter
        process, which keeps the counter) with the body digest the worker made; the worker puts
        the answer on the envelope before evaluating (:func:`aupmilter.ratewindow.with_count`)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                worker = self._idle.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                raise WorkerTimeout(f"no free worker within {timeout:.1f}s") from None
            if worker.process.is_alive():
                break
            self._replace(worker)  # died while idle (OOM killer, an admin): not this message's fault
        try:
            outcome = worker.ask(envelope, raw, deadline - time.monotonic(), count)
        except (WorkerTimeout, WorkerFailed):
            self._replace(worker)
            raise
        except BaseException:
            self._release(worker)  # the engine raised: the worker itself is fine
            raise
        self._release(worker)
        return outcome

    def shutdown(self, terminate: bool = True) -> None:
        """Stop the pool.  On reload (``terminate=False``) messages being decided finish on the
        old workers, which exit when handed back; idle ones exit now.  On exit every worker is
        killed (a stuck one must not outlive us)."""
        self._closed = True
        if terminate:
            with self._lock:
                workers = list(self._all)
                self._all.clear()
            for worker in workers:
                worker.stop(kill=True)
            return
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            with self._lock:
                self._all.discard(worker)
            worker.stop(kill=False)
