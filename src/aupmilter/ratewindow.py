"""A bounded, in-memory sliding-window counter of repeated identical messages, for the adapter.

Why it lives here and not in a check: the engine is a pure function (same inputs, same
decision) and may run in spawned worker processes, so a check can keep no clock and no state.
"Repeated identical bodies from one sender in a window" (policy 001 4.4.3, 002, 003: do not
contribute to system congestion) needs both, so the milter *adapter* process keeps this counter,
consults it at end-of-message and hands the engine one number, the fact the ``mass_mailing``
check declares (:data:`~aupmilter.checks.mass_mailing.RECENT_IDENTICAL`); the check turns it
into a finding with thresholds from its rules.

Privacy: entries are keyed by an HMAC (random key made per process, never written anywhere) of
the sender and a digest of the body, so the table holds no address and no text in clear, and a
key is useless outside this process.  Only timestamps are stored against it.

Bounds: at most ``max_keys`` keys (least recently used evicted first) and at most ``per_key``
timestamps per key (so a count saturates there; every shipped threshold is far below it).

What "identical" means (:func:`body_digest`): the body bytes as the client sent them, with the
things a mail client changes on every send taken out — MIME boundary strings, ``Content-ID``
headers and ``cid:`` references (Outlook's inline signature logos), quoted-printable soft line
breaks — and whitespace runs collapsed.  It deliberately does *not* decode MIME: that would mean
parsing every message in the adapter process, which holds the GIL that the worker processes
exist to escape, and the same client encodes the same text the same way anyway.  A message
personalised per recipient (a mail merge's "Dear Mrs Patel", a pupil's name) is *not*
identical, on purpose: a personalised letter to each parent is ordinary school business, not
congestion, and counting near-duplicates would flag every mail merge.  What this catches is
the same message sent again and again — a batch split to stay under the recipient threshold,
or a compromised account's burst; per-recipient-varied spam is for Postfix's rate limits.

For a large message the digest is made in the worker that evaluates it, from the elision its
parse found (:func:`body_digest` with ``elided``; same digest, fewer passes); the count itself is
still taken here, in the milter process, when the worker asks (:mod:`aupmilter.workers`).

The counter is per milter process and in memory: it resets on restart, and with several
gateway nodes each node counts only the share of a sender's mail that reaches it.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from aupmilter.checks.mass_mailing import RECENT_IDENTICAL, REPEAT_COUNT_MAX, MassMailingCheck
from aupmilter.direction import classify
from aupmilter.elision import Elided
from aupmilter.model import Direction, Envelope

if TYPE_CHECKING:
    from aupmilter.engine import Ruleset

# Patterns start with a literal so the scan runs at memory speed over a large attachment (case-
# insensitive variants are ~10x slower, and this runs in the adapter process).  A rare spelling
# they miss ("BOUNDARY=", "CID:") only means a repeat may go uncounted, never a false count.
_BOUNDARY = re.compile(rb"""oundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))""")
_CONTENT_ID = re.compile(rb"ontent-I[Dd]:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*")
_CID = re.compile(rb"""cid:[^\s"'<>()]+""")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_WHITESPACE = b" \t\r\n\x0b\x0c"
_MAX_BOUNDARIES = 32

#: Timestamps kept per key: counts saturate here, so it is the highest repeat threshold the
#: check accepts.
PER_KEY_CAP = REPEAT_COUNT_MAX


def body_digest(raw: bytes, elided: Elided | None = None) -> bytes:
    """SHA-256 of the normalised body of ``raw`` (see the module docstring for what is removed).

    ``elided``: :func:`~aupmilter.elision.elide` of ``raw`` (a worker has it from parsing), whose
    large base64 bodies then only lose their line ends instead of going through every pass: no
    pattern below can match in them or across their edges (:func:`_opaque_runs`)."""
    end = _HEADER_END.search(raw)
    start = end.end() if end else len(raw)
    found = {m.group(1) or m.group(2) for m in _BOUNDARY.finditer(raw)}
    # A bound on the replace passes: a hostile message cannot buy thousands of them.  Ties in
    # length go by value, so every process (each worker has its own hash seed) picks the same.
    boundaries = sorted(found, key=lambda b: (-len(b), b))[:_MAX_BOUNDARIES]
    hasher = hashlib.sha256()
    for run_start, run_end in _opaque_runs(raw, elided):
        hasher.update(_normalise(raw[start:run_start], boundaries))
        hasher.update(raw[run_start:run_end].translate(None, _WHITESPACE))
        start = run_end
    hasher.update(_normalise(raw[start:], boundaries))
    return hasher.digest()


def _normalise(body: bytes, boundaries: list[bytes]) -> bytes:
    for boundary in boundaries:
        body = body.replace(b"--" + boundary, b"--")
    body = _CONTENT_ID.sub(b"", body)
    body = _CID.sub(b"cid:", body)
    body = body.replace(b"=\r\n", b"").replace(b"=\n", b"")
    # Deleting whitespace (not collapsing it) is one C-speed pass; it equates "a b" with "ab",
    # which cannot make two different messages look identical in any way that matters here.
    return body.translate(None, _WHITESPACE)


def _opaque_runs(raw: bytes, elided: Elided | None) -> list[tuple[int, int]]:
    """Spans of ``raw`` that :func:`_normalise` leaves as they are but for their whitespace.

    Each is an elided base64 body but its last line: whole lines of ``[A-Za-z0-9+/]`` and line
    ends (elision allows ``=`` only in the last line), starting just after a blank line.  Every
    pattern needs a character such a span cannot hold (``-`` of a boundary and of Content-ID,
    ``:`` of cid:, ``=`` of a soft break), no pattern crosses a line end into one (a boundary
    holds no line end, Content-ID's continuation needs a space or tab after it, cid: stops at
    whitespace), and what precedes it still ends in that line end after every pass: so the passes
    over the text between the spans give what they gave over the whole body."""
    if elided is None or elided.raw is not raw:
        return []
    runs = []
    for elision in elided.elisions.values():
        last_line = raw.rfind(b"\n", elision.start, elision.end) + 1
        if last_line > elision.start:
            runs.append((elision.start, last_line))
    return runs


class RateWindow:
    """Sliding-window counts per (sender, body digest), keyed by HMAC; thread-safe; bounded.

    ``clock`` is injected (monotonic seconds) so tests drive time; the milter uses
    :func:`time.monotonic`, which a wall-clock change cannot move backwards.
    """

    def __init__(
        self,
        max_keys: int = 5000,
        per_key: int = PER_KEY_CAP,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_keys < 1 or per_key < 1:
            raise ValueError("max_keys and per_key must be positive")
        self.max_keys = max_keys
        self.per_key = per_key
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._entries: collections.OrderedDict[bytes, collections.deque[float]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def key(self, sender: str, digest: bytes) -> bytes:
        """The table key: HMAC of the lower-cased sender and the body digest (nothing in clear)."""
        message = sender.lower().encode("utf-8", "surrogateescape") + b"\0" + digest
        return hmac.new(self._key, message, "sha256").digest()

    def observe(self, sender: str, digest: bytes, window_seconds: float) -> int:
        """Record one message now; return how many *earlier* ones with the same key fall inside
        the last ``window_seconds`` (so the first message sees 0, the third sees 2)."""
        key = self.key(sender, digest)
        with self._lock:
            now = self._clock()
            stamps = self._entries.get(key)
            if stamps is None:
                stamps = collections.deque(maxlen=self.per_key)
                self._entries[key] = stamps
            else:
                self._entries.move_to_end(key)
            horizon = now - window_seconds
            while stamps and stamps[0] <= horizon:
                stamps.popleft()
            earlier = len(stamps)
            stamps.append(now)
            while len(self._entries) > self.max_keys:
                self._entries.popitem(last=False)
            return earlier


def repeat_window_seconds(ruleset: Ruleset) -> float | None:
    """The configured repeat window, or ``None`` when the mass-mailing check is off (no counting,
    no state kept)."""
    check = next((c for c in ruleset.checks if isinstance(c, MassMailingCheck)), None)
    return None if check is None else float(check.repeat_window_seconds)


def counted_window(envelope: Envelope, ruleset: Ruleset) -> float | None:
    """The repeat window in seconds if this message is counted: mail our own senders send
    (outbound or internal, non-null sender) while the mass-mailing check is on; else ``None``
    (inbound spam waves are not a staff acceptable-use matter)."""
    seconds = repeat_window_seconds(ruleset)
    if seconds is None or not envelope.sender:
        return None
    direction = envelope.direction or classify(ruleset.config, envelope)  # the milter fills it in
    return None if direction is Direction.INBOUND else seconds


def with_count(envelope: Envelope, earlier: int) -> Envelope:
    """``envelope`` with the ``RECENT_IDENTICAL`` fact for ``earlier`` repeats (none for 0)."""
    return envelope if earlier == 0 else envelope.with_fact(RECENT_IDENTICAL, earlier)


def annotate(window: RateWindow, envelope: Envelope, raw: bytes, ruleset: Ruleset) -> Envelope:
    """``envelope`` with the mass-mailing check's ``RECENT_IDENTICAL`` fact filled in, for mail
    :func:`counted_window` counts; anything else is returned unchanged and not counted."""
    seconds = counted_window(envelope, ruleset)
    if seconds is None:
        return envelope
    return with_count(envelope, window.observe(envelope.sender, body_digest(raw), seconds))
