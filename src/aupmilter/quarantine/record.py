"""What the quarantine keeps about a message besides its bytes.

For a *sealed* message (labelled Personal/Private where the school protects them, issue 7) the
subject is never stored in the clear metadata: only sender, recipients, date and the findings,
which is what policy 002 lets monitoring look at.  The subject stays inside the raw message,
which no code path returns without an audited unseal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from aupmilter.message import MessageView
from aupmilter.model import Decision, Envelope, Finding


@dataclass(frozen=True)
class QuarantineRecord:
    sender: str
    recipients: tuple[str, ...]
    direction: str
    schools: tuple[str, ...]
    action: str
    reason: str
    findings: tuple[Finding, ...]
    sealed: bool
    subject: str | None
    queue_id: str | None
    received_at: dt.datetime

    @classmethod
    def from_decision(
        cls, envelope: Envelope, message: MessageView, decision: Decision, now: dt.datetime
    ) -> QuarantineRecord:
        return cls(
            sender=envelope.sender,
            recipients=tuple(envelope.recipients),
            direction=str(decision.direction),
            schools=tuple(decision.schools),
            action=str(decision.action),
            reason=decision.reason,
            findings=tuple(decision.findings),
            sealed=decision.sealed,
            subject=None if decision.sealed else message.subject[:998],
            queue_id=envelope.queue_id,
            received_at=now.astimezone(dt.UTC),
        )

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.category for f in self.findings))

    def to_json(self) -> dict[str, Any]:
        return {
            "sender": self.sender,
            "recipients": list(self.recipients),
            "direction": self.direction,
            "schools": list(self.schools),
            "action": self.action,
            "reason": self.reason,
            "findings": [f.to_json() for f in self.findings],
            "sealed": self.sealed,
            "subject": self.subject,
            "queue_id": self.queue_id,
            "received_at": self.received_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QuarantineRecord:
        return cls(
            sender=data["sender"],
            recipients=tuple(data["recipients"]),
            direction=data["direction"],
            schools=tuple(data["schools"]),
            action=data["action"],
            reason=data["reason"],
            findings=tuple(Finding(**f) for f in data["findings"]),
            sealed=bool(data["sealed"]),
            subject=data["subject"],
            queue_id=data["queue_id"],
            received_at=dt.datetime.fromisoformat(data["received_at"]),
        )
