"""The copy a quarantine release sends: the message as it would have left had it not been held.

Released mail goes back through Postfix's milter-free listener (so it is not quarantined again),
which also means no milter adds the disclaimer or signs it: a released outbound message used to
leave bare and fail DMARC at the recipient (issue 17).  So the release applies the same outbound
effects itself — subject tag, per-school disclaimer (with its authenticated marker), DKIM
signature last — through :func:`aupmilter.engine.outgoing_effects`, the function the milter's
decision uses.  The message is treated as *tagged*: it had findings, and a person let it through.

``X-AUP-Released`` (the item id) is added for inbound and internal mail; mail to outside
recipients carries no internal headers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aupmilter import transforms
from aupmilter.engine import outgoing_effects
from aupmilter.marker import MarkerKey, key_path
from aupmilter.message import MessageView
from aupmilter.model import Action, Decision, Direction, Envelope
from aupmilter.render import apply_effects

if TYPE_CHECKING:
    from aupmilter.config import Config
    from aupmilter.quarantine.store import Item

RELEASED_HEADER = "X-AUP-Released"


class Releaser:
    """Built once per process from the config (reads the disclaimer texts and DKIM keys, so a
    bad key is a start-up error of the UI or the command, not a failed release)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        marker_key = MarkerKey(key_path(config)) if config.check_enabled("disclaimer") else None
        self.transforms = transforms.build(config, marker_key)

    def __call__(self, item: Item, raw: bytes) -> bytes:
        record = item.record
        direction = Direction(record.direction)
        envelope = Envelope(
            sender=record.sender,
            recipients=record.recipients,
            received_at=record.received_at,
            queue_id=record.queue_id,
            direction=direction,
        )
        decision = Decision(
            action=Action.TAG,
            findings=record.findings,
            reason=f"released from quarantine ({record.reason})",
            direction=direction,
            schools=record.schools,
            sealed=record.sealed,
        )
        message = MessageView(raw)
        out = apply_effects(raw, outgoing_effects(envelope, message, decision, self.config, self.transforms))
        if direction is Direction.OUTBOUND:
            return out
        eol = b"\r\n" if b"\r\n" in out[:2000] else b"\n"
        return f"{RELEASED_HEADER}: {item.id}".encode() + eol + out
