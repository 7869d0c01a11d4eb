"""Evaluation in worker processes, so the milter uses every core.

Every pymilter callback holds the GIL; checks are pure Python and CPU-bound, so in one process
messages are decided one at a time whatever the number of libmilter threads.  The adapter
therefore hands ``(envelope, raw bytes)`` to a pool of worker processes, each holding its own
ruleset built from the same configuration, and gets the picklable :class:`Decision` back.

Workers are started with ``spawn`` (the milter process has libmilter threads; forking a
threaded process is unsafe) and warmed up at start, so the first message does not wait for an
import.  A worker stuck past the per-message budget is left to finish or die while the other
workers go on; on reload a new pool replaces the old one, and on shutdown workers are
terminated.  Per-check timings and virus-scan observations travel back with the decision for
the metrics (a worker's own registry is never scraped).
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from typing import Any

from aupmilter import antivirus
from aupmilter.antivirus import Observation
from aupmilter.config import load_config
from aupmilter.engine import Ruleset, evaluate
from aupmilter.message import MessageView
from aupmilter.model import Decision, Envelope
from aupmilter.ruleset import build_ruleset

_RULESET: Ruleset | None = None


def _init(config_path: str | None, generation: int) -> None:
    global _RULESET
    _RULESET = build_ruleset(load_config(config_path), generation)


def _ready() -> int:
    return os.getpid()


def _evaluate(envelope: Envelope, raw: bytes) -> tuple[Decision, list[tuple[str, float]], list[Observation]]:
    assert _RULESET is not None, "worker not initialised"
    timings: list[tuple[str, float]] = []
    with antivirus.collect() as scans:
        try:
            decision = evaluate(envelope, MessageView(raw), _RULESET, timer=lambda n, secs: timings.append((n, secs)))
        except antivirus.ScannerUnavailable as exc:
            exc.observations = list(scans)  # pickled with the exception: the failed scans still count
            raise
    return decision, timings, scans


class EvaluatorPool:
    def __init__(self, config_path: str | None, generation: int, workers: int) -> None:
        self.workers = workers
        self.executor = concurrent.futures.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init,
            initargs=(config_path, generation),
        )
        # Start every worker now (import + ruleset build), not on the first messages.
        for future in [self.executor.submit(_ready) for _ in range(workers)]:
            future.result(timeout=120)

    def submit(self, envelope: Envelope, raw: bytes) -> concurrent.futures.Future[Any]:
        return self.executor.submit(_evaluate, envelope, raw)

    def shutdown(self, terminate: bool = True) -> None:
        """Stop the pool.  On reload (``terminate=False``) messages being decided finish on the
        old workers; on exit the workers are terminated (a stuck one must not outlive us)."""
        processes = list(getattr(self.executor, "_processes", {}).values())
        self.executor.shutdown(wait=False, cancel_futures=terminate)
        if terminate:
            for process in processes:
                process.terminate()
