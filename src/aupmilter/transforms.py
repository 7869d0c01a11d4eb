"""Rewrites applied to mail that is let through: the per-school disclaimer, then DKIM signing.

Built once per configuration load.  Order matters: any change to the body or signed headers must
happen before the signature, so signing is always the last transform, computed over the message
exactly as it will leave (original plus every effect so far, see :mod:`aupmilter.render`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aupmilter.checks.disclaimer import DisclaimerSettings, parse_settings
from aupmilter.dkim import sign
from aupmilter.model import AddHeader, Decision, Effect, Envelope
from aupmilter.render import apply_effects
from aupmilter.rewrite import Ambiguous, Untouchable, rewrite

log = logging.getLogger("aupmilter.transforms")

if TYPE_CHECKING:
    from aupmilter.config import Config
    from aupmilter.engine import Transform
    from aupmilter.message import MessageView


def build(config: Config) -> list[Transform]:
    if not config.check_enabled("disclaimer"):
        return []
    settings = parse_settings(config.checks.get("disclaimer", {}), config, f"{config.source}: checks.disclaimer")
    return [DisclaimerTransform(config, settings), DkimTransform(settings)]


class DisclaimerTransform:
    def __init__(self, config: Config, settings: DisclaimerSettings) -> None:
        self.config = config
        self.settings = settings

    def __call__(
        self,
        envelope: Envelope,
        message: MessageView,
        decision: Decision,
        effects: Sequence[Effect],
    ) -> Sequence[Effect]:
        if envelope.direction is None or not self.settings.applies(envelope.direction):
            return []
        domain = envelope.sender_domain
        if not self.config.is_org_domain(domain):
            return []
        disclaimer = self.settings.disclaimer_for(self.config, envelope.sender, domain)
        current = apply_effects(message.raw, effects)
        try:
            result = rewrite(current, disclaimer, domain, wrap_signed=self.settings.signed == "wrap")
        except (Untouchable, Ambiguous):
            return []  # the disclaimer check records why (disclaimer.skipped_*)
        except Exception:
            # A message we cannot rewrite still goes out, unchanged (and unsigned by us): a
            # missing disclaimer is a lesser harm than mail that tempfails forever.
            log.exception("queue_id=%s disclaimer rewrite failed; sent without it", envelope.queue_id)
            return []
        return result.effects if result else []


class DkimTransform:
    def __init__(self, settings: DisclaimerSettings) -> None:
        self.settings = settings

    def __call__(
        self,
        envelope: Envelope,
        message: MessageView,
        decision: Decision,
        effects: Sequence[Effect],
    ) -> Sequence[Effect]:
        key = self.settings.dkim.get(envelope.sender_domain)
        if key is None or envelope.direction is None or not self.settings.applies(envelope.direction):
            return []
        if not any(isinstance(e, AddHeader) and e.name == "X-AUP-Disclaimer" for e in effects):
            return []  # we changed nothing that an existing signature covers
        final = apply_effects(message.raw, effects).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        try:
            value = sign(final, key)
        except Exception:
            log.warning("queue_id=%s DKIM signing failed; sent unsigned", envelope.queue_id, exc_info=True)
            return []
        return [AddHeader("DKIM-Signature", value, prepend=True)]
