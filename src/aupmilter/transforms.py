"""Rewrites applied to mail that is let through: the per-school disclaimer, then DKIM signing.

Built once per configuration load.  Order matters: any change to the body or signed headers must
happen before the signature, so signing is always the last transform, computed over the message
exactly as it will leave (original plus every effect so far, see :mod:`aupmilter.render`).

Signing happens when the gateway changed something a DKIM signature covers (the body, or a
signed header such as a tagged Subject) on mail from a domain with a key: a signature made
upstream is then broken, and ours replaces it.  The key is chosen by the From: domain (what
DMARC aligns with), else the envelope sender's; a key for a parent domain signs its
subdomains.  Mail we did not change keeps whatever signatures it had.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import dkim as dkimpy

from aupmilter.checks import discover
from aupmilter.checks.disclaimer import DisclaimerSettings, parse_settings
from aupmilter.dkim import DkimKey, load_keys, sign
from aupmilter.elision import NOT_SCANNED
from aupmilter.marker import MARKER_HEADER, MarkerKey, marker_value
from aupmilter.message import parse_addresses
from aupmilter.model import AddHeader, ChangeHeader, Decision, Direction, Effect, Envelope, ReplaceBody
from aupmilter.render import apply_effects, raw_header_value, split_message
from aupmilter.rewrite import Ambiguous, Untouchable, rewrite

log = logging.getLogger("aupmilter.transforms")

if TYPE_CHECKING:
    from aupmilter.config import Config, DkimSettings
    from aupmilter.engine import Transform
    from aupmilter.message import MessageView

#: Header fields a DKIM signature may cover (dkimpy's RFC 6376 list): changing one breaks it.
_SIGNABLE = frozenset(h.decode() for h in dkimpy.DKIM.SHOULD)


def build(config: Config, marker_key: MarkerKey | None = None) -> list[Transform]:
    """Every transform this configuration asks for, in order: those the enabled checks declare
    (``CheckSpec.transforms``, in the checks' run order: the inbound phishing banner, then the
    disclaimer), then DKIM signing, always last: it signs what every other one made."""
    built: list[Transform] = []
    for spec in discover().values():
        if config.check_enabled(spec.name):
            for target in spec.transforms:
                built.extend(_builder(target)(config, marker_key))
    keys = load_keys(config)
    if keys:
        built.append(DkimTransform(config.dkim, keys))
    return built


TransformBuilder = Callable[["Config", "MarkerKey | None"], Sequence["Transform"]]


def _builder(target: str) -> TransformBuilder:
    """``"module:function"`` named by a check's SPEC: by name, because transforms sit above the
    checks (they ask the policy, they rewrite MIME) and a check may not import them."""
    module_name, _, attr = target.partition(":")
    found: TransformBuilder = getattr(importlib.import_module(module_name), attr)
    return found


def build_disclaimer(config: Config, marker_key: MarkerKey | None) -> list[Transform]:
    """The disclaimer check's transform: the school disclaimer on mail it applies to."""
    settings = parse_settings(config.checks.get("disclaimer", {}), config)
    return [DisclaimerTransform(config, settings, marker_key)]


class DisclaimerTransform:
    def __init__(self, config: Config, settings: DisclaimerSettings, marker_key: MarkerKey | None = None) -> None:
        self.config = config
        self.settings = settings
        self.marker_key = marker_key

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
        # Unchanged bytes (no effect so far, the usual case): the view's scan for large bodies holds.
        elisions = message.elisions if current is message.raw else NOT_SCANNED
        try:
            result = rewrite(current, disclaimer, domain, wrap_signed=self.settings.signed == "wrap", elisions=elisions)
        except (Untouchable, Ambiguous):
            return []  # the disclaimer check records why (disclaimer.skipped_*)
        except Exception as exc:
            # A message we cannot rewrite still goes out, unchanged: a missing disclaimer is a
            # lesser harm than mail that tempfails forever.  No traceback: its text could quote
            # message content, which default logs must not carry.
            log.error(
                "queue_id=%s disclaimer rewrite failed (%s); sent without it", envelope.queue_id, type(exc).__name__
            )
            return []
        if result is None:
            return []
        return self._authenticated(current, result.effects, domain)

    def _authenticated(self, current: bytes, effects: Sequence[Effect], domain: str) -> list[Effect]:
        """The rewrite's effects with its marker carrying a MAC over the body as it will leave."""
        key = self.marker_key.get() if self.marker_key is not None else None
        if key is None:
            return list(effects)  # no site key here (an offline check): a bare marker, never trusted
        # The body as it will leave: the rewrite's new body (apply_effects takes the last one).
        replaced = [e for e in effects if isinstance(e, ReplaceBody)]
        if replaced:
            value = marker_value(domain, replaced[-1].body, key, replaced[-1].opaque)
        else:
            value = marker_value(domain, split_message(current)[2], key)
        return [
            AddHeader(e.name, value, e.prepend) if isinstance(e, AddHeader) and e.name == MARKER_HEADER else e
            for e in effects
        ]


def changes_signed_content(effects: Sequence[Effect]) -> bool:
    """Does any effect touch what a DKIM signature covers?"""
    for effect in effects:
        if isinstance(effect, ReplaceBody):
            return True
        if isinstance(effect, AddHeader | ChangeHeader) and effect.name.lower() in _SIGNABLE:
            return True
    return False


def key_for(keys: Mapping[str, DkimKey], *domains: str) -> DkimKey | None:
    """The key for the first domain that has one, its own or a parent domain's."""
    for domain in domains:
        labels = domain.lower().strip(".").split(".")
        for i in range(len(labels) - 1):
            key = keys.get(".".join(labels[i:]))
            if key is not None:
                return key
    return None


class DkimTransform:
    def __init__(self, settings: DkimSettings, keys: Mapping[str, DkimKey]) -> None:
        self.settings = settings
        self.keys = keys

    def applies(self, direction: Direction | None) -> bool:
        if direction is Direction.OUTBOUND:
            return True
        return direction is Direction.INTERNAL and self.settings.scope == "all_outbound"

    def __call__(
        self,
        envelope: Envelope,
        message: MessageView,
        decision: Decision,
        effects: Sequence[Effect],
    ) -> Sequence[Effect]:
        if not self.applies(envelope.direction):
            return []
        if self.settings.sign == "changed" and not changes_signed_content(effects):
            return []  # we changed nothing an existing signature covers
        final = apply_effects(message.raw, effects)
        from_value = raw_header_value(final, "From")
        if from_value is None:
            return []  # RFC 6376 5.4: From must be signed; a signature without it never verifies
        from_domain = ""
        addresses = parse_addresses(from_value)
        if addresses and "@" in addresses[0][1]:
            from_domain = addresses[0][1].rpartition("@")[2]
        key = key_for(self.keys, from_domain, envelope.sender_domain)
        if key is None:
            return []
        # Where the rewrite copied attachment bodies through: the signer need not search them.
        replaced = [e for e in effects if isinstance(e, ReplaceBody)]
        shift = len(final) - len(replaced[-1].body) if replaced else 0
        opaque = tuple((start + shift, end + shift) for start, end in replaced[-1].opaque) if replaced else ()
        try:
            value = sign(final, key, opaque=opaque)
        except Exception as exc:
            log.warning("queue_id=%s DKIM signing failed (%s); sent unsigned", envelope.queue_id, type(exc).__name__)
            return []
        return [AddHeader("DKIM-Signature", value, prepend=True)]
