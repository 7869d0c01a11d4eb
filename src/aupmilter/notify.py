"""Notifications to the people the policies name, and the event log reports are built from.

Runs in one background thread fed by a bounded queue: the mail path only enqueues, so a slow or
dead mail server can never delay or fail a message; a full queue drops the notification (counted
in ``aupmilter_notifications_total{outcome="dropped"}``), never the mail.

Notifications go by SMTP to the milter-free listener (``[quarantine] release_host/port``), so
they cannot loop back through the milter; they carry ``X-AUP-Notification: 1``.  Content:
date, direction, school, action, rule ids with their categories and counts, and a link to the
item in the review UI when it was quarantined — only words and names this program or the site's
configuration chose.  Nothing the sender chose appears: no subject, body, evidence (an
attachment name carrying a URL was quoted verbatim in the gateway's own mail, which staff trust),
and no addresses (an address is free text too); the linked item shows those to authorised
staff.  Per sender, at most one notification per window; the next says how many were coalesced.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import smtplib
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from aupmilter import metrics, schema
from aupmilter.config import Config, School
from aupmilter.model import Action, Decision, Direction, Envelope, Finding
from aupmilter.quarantine.store import Event
from aupmilter.schema import Invalid, setting

log = logging.getLogger("aupmilter.notify")

#: Events written to the report log in one transaction at most (one synchronous commit each).
EVENT_BATCH = 256


@dataclass(frozen=True)
class Rule:
    match: str
    directions: frozenset[str]
    roles: tuple[str, ...]
    min_action: Action


@dataclass(frozen=True)
class NotifyRow:
    """``[[notify]]``: who hears about which findings."""

    match: str = setting(doc="Rule id or category (prefix on dots) that triggers the notice.", nonblank=True)
    directions: tuple[str, ...] = setting(
        ("outbound", "internal"),
        choices=tuple(d.value for d in Direction),
        doc="Directions the notice applies to (inbound, outbound, internal).",
    )
    roles: tuple[str, ...] = setting((), doc="School contacts told ([schools.contacts] roles: it, dsl, headteacher).")
    min_action: str = setting("tag", doc="Only when the decision is at least this action.")

    def validate(self) -> None:
        try:
            Action.parse(self.min_action)
        except ValueError as exc:
            raise Invalid("min_action", str(exc)) from None


@dataclass(frozen=True)
class NotificationsFile:
    """``rules/notifications.toml``."""

    window_seconds: float = setting(3600.0, minimum=0, doc="At most one notice per rule and school in this window.")
    notify: tuple[NotifyRow, ...] = setting((), doc="Notification rows.")


def load_rules(config: Config) -> tuple[list[Rule], float]:
    data = schema.read_file(NotificationsFile, config.rules_dir / "notifications.toml")
    rules = [Rule(r.match, frozenset(r.directions), r.roles, Action.parse(r.min_action)) for r in data.notify]
    return rules, data.window_seconds


def _matches(rule: Rule, finding: Finding) -> bool:
    return any(n == rule.match or n.startswith(rule.match + ".") for n in (finding.rule, finding.category))


class Notifier:
    def __init__(self, config: Config, store: Any) -> None:
        self.store = store
        self.queue: queue.Queue[tuple[Envelope, Decision, str | None, dt.datetime]] = queue.Queue(maxsize=10_000)
        self.last_sent: dict[tuple[str, tuple[str, ...]], float] = {}
        self.coalesced: dict[tuple[str, tuple[str, ...]], int] = {}
        self.update(config)
        self.thread = threading.Thread(target=self._loop, name="aupmilter-notify", daemon=True)
        self.thread.start()

    def update(self, config: Config) -> None:
        rules, window = load_rules(config)
        self.config, self.rules, self.window = config, rules, window

    def submit(self, envelope: Envelope, decision: Decision, item_id: str | None) -> None:
        if not decision.findings:
            return
        try:
            self.queue.put_nowait((envelope, decision, item_id, dt.datetime.now(dt.UTC)))
        except queue.Full:
            metrics.NOTIFICATIONS.labels(outcome="dropped").inc()

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until everything queued so far was handled (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self.queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def _loop(self) -> None:
        while True:
            batch = [self.queue.get()]
            # Whatever queued up meanwhile goes into the same event-log transaction.
            while len(batch) < EVENT_BATCH:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._record(batch)
            except Exception:
                log.exception("event log write failed")
                metrics.NOTIFICATIONS.labels(outcome="error").inc()
            for envelope, decision, item_id, when in batch:
                try:
                    self._notify(envelope, decision, item_id, when)
                except Exception:
                    log.exception("notification failed")
                    metrics.NOTIFICATIONS.labels(outcome="error").inc()
                finally:
                    self.queue.task_done()

    def _record(self, batch: list[tuple[Envelope, Decision, str | None, dt.datetime]]) -> None:
        if self.store is None:
            return
        self.store.record_events(
            Event(
                when,
                str(decision.direction),
                str(decision.action),
                decision.schools[0] if decision.schools else "",
                tuple(f.category for f in decision.findings),
                tuple(f.rule for f in decision.findings),
            )
            for _envelope, decision, _item, when in batch
        )

    def _recipients(self, school: School | None, roles: set[str]) -> list[str]:
        if school is None:
            return []
        return sorted({addr for role in roles for addr in school.contacts.get(role, ())})

    def _notify(self, envelope: Envelope, decision: Decision, item_id: str | None, when: dt.datetime) -> None:
        direction = str(decision.direction)
        roles: set[str] = set()
        fired: list[Finding] = []
        for rule in self.rules:
            if direction not in rule.directions or decision.action < rule.min_action:
                continue
            hits = [f for f in decision.findings if _matches(rule, f)]
            if hits:
                roles |= set(rule.roles)
                fired += [f for f in hits if f not in fired]
        if not roles:
            return
        domain = (
            envelope.sender_domain
            if decision.direction is not Direction.INBOUND
            else (decision.schools[0] if decision.schools else "")
        )
        school = self.config.school_for_domain(domain)
        recipients = self._recipients(school, roles)
        if not recipients or school is None:
            metrics.NOTIFICATIONS.labels(outcome="no_contact").inc()
            return
        key = (envelope.sender.lower(), tuple(sorted(roles)))
        now = time.monotonic()
        if now - self.last_sent.get(key, -1e12) < self.window:
            self.coalesced[key] = self.coalesced.get(key, 0) + 1
            metrics.NOTIFICATIONS.labels(outcome="coalesced").inc()
            return
        self.last_sent[key] = now
        extra = self.coalesced.pop(key, 0)
        self._send(school, recipients, envelope, decision, fired, item_id, when, extra)

    def _send(
        self,
        school: School,
        recipients: list[str],
        envelope: Envelope,
        decision: Decision,
        fired: list[Finding],
        item_id: str | None,
        when: dt.datetime,
        coalesced: int,
    ) -> None:
        msg = EmailMessage()
        msg["From"] = f"aupmilter <aupmilter-noreply@{school.domain}>"
        msg["To"] = ", ".join(recipients)
        msg["Subject"] = (
            f"[AUP] {decision.action} {decision.direction} e-mail: {', '.join(dict.fromkeys(f.rule for f in fired))}"
        )
        msg["Date"] = format_datetime(when)
        msg["Message-ID"] = make_msgid(domain=school.domain)
        msg["X-AUP-Notification"] = "1"
        counts: dict[tuple[str, str], int] = {}
        for f in fired:
            counts[(f.rule, f.category)] = counts.get((f.rule, f.category), 0) + 1
        lines = [
            f"The e-mail gateway {decision.action}ed a message under {school.name}'s acceptable use policy.",
            "",
            f"When:       {when:%Y-%m-%d %H:%M} UTC",
            f"Direction:  {decision.direction}",
            f"Recipients: {len(envelope.recipients)}",
            f"Action:     {decision.action}",
            f"Sealed:     {'yes (labelled Personal/Private: content was not inspected)' if decision.sealed else 'no'}",
            "",
            "Findings (rule, category, count):",
            *[f"  - {rule} ({category}) x{n}" for (rule, category), n in counts.items()],
        ]
        if item_id:
            lines += [
                "",
                f"Review it (authorised staff only): {self.config.web.base_url.rstrip('/')}/item/{item_id}",
            ]
        if coalesced:
            lines += [
                "",
                f"{coalesced} similar event(s) from this sender were not notified separately in the last hour.",
            ]
        lines += [
            "",
            "This notification contains no text from the message, its sender or its attachments;",
            "sender, recipients and evidence are shown in the review UI to authorised staff.",
        ]
        msg.set_content("\n".join(lines) + "\n")
        q = self.config.quarantine
        try:
            with smtplib.SMTP(q.release_host, q.release_port, timeout=30) as smtp:
                smtp.send_message(msg, from_addr="", to_addrs=recipients)
            metrics.NOTIFICATIONS.labels(outcome="sent").inc()
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("notification not sent: %s", exc)
            metrics.NOTIFICATIONS.labels(outcome="failed").inc()
