"""Disclaimer settings and the presence check (the rewrite itself is a transform).

Policies 000, 001, 002, 003: "the standard disclaimer should always be used on every email".
The check records what the gateway could not do (``disclaimer.skipped_signed``: a signed or
encrypted message is never modified; ``disclaimer.skipped_malformed``: broken MIME or text not
valid in its charset, see :func:`aupmilter.rewrite.skip_reason`); :mod:`aupmilter.transforms`
applies the disclaimer to mail that is let through, then signs it.  Texts come from
``rules/disclaimers/<school domain>.txt|.html`` (fallback ``default.*``) with the placeholders
``{school_name}``, ``{sender}``, ``{org_name}``.  Both read the same validated ``[checks.disclaimer]``
options, parsed here once per configuration load:

    [checks.disclaimer]
    scope = "external"          # outbound mail only; "all_outbound" adds internal mail
    signed = "skip"             # or "wrap": the signed original becomes the second part
    marker_key_file = ""        # site key of the authenticated X-AUP-Disclaimer marker (aupmilter.marker)

DKIM signing is not a disclaimer option: it has its own ``[dkim]`` section (:mod:`aupmilter.dkim`)
and signs after every transform, with or without a disclaimer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from aupmilter import schema
from aupmilter.checks import CheckSettings, CheckSpec
from aupmilter.config import Config
from aupmilter.errors import ConfigError
from aupmilter.message import MessageView
from aupmilter.model import Direction, Envelope, Finding
from aupmilter.rewrite import PLACEHOLDERS, Ambiguous, Disclaimer, Untouchable, render_disclaimer, skip_reason
from aupmilter.schema import Invalid, setting

#: What the gateway could not do, by why (:func:`aupmilter.rewrite.skip_reason`): the rewrite
#: says which kind of message it left alone, this check names the finding.
SKIPPED_SIGNED = "disclaimer.skipped_signed"
SKIPPED_MALFORMED = "disclaimer.skipped_malformed"


@dataclass(frozen=True)
class DisclaimerSettings:
    scope: str = "external"
    signed: str = "skip"
    #: (plain, html) template per school domain, and "default": read and validated at load, so
    #: a bad template is a start-up error and no message waits on the disk.
    templates: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def applies(self, direction: Direction) -> bool:
        if direction is Direction.OUTBOUND:
            return True
        return direction is Direction.INTERNAL and self.scope == "all_outbound"

    def disclaimer_for(self, config: Config, sender: str, domain: str) -> Disclaimer:
        school = config.school_for_domain(domain)
        text, markup = self.templates.get(school.domain if school else "default") or self.templates["default"]
        return render_disclaimer(
            text,
            markup,
            school_name=school.name if school else config.org_name,
            sender=sender,
            org_name=config.org_name,
        )


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")  # not CSS: "p{color:red}" has a colon


def load_templates(directory: Path, domains: Iterable[str], source: str) -> dict[str, tuple[str, str]]:
    """``default.txt``/``.html`` (required) and ``<domain>.txt``/``.html`` (optional, each falls
    back to the default) with only the known placeholders."""
    found: dict[str, tuple[str, str]] = {}
    for name in ("default", *domains):
        pair: list[str] = []
        for ext in ("txt", "html"):
            path = directory / f"{name}.{ext}"
            if not path.exists():
                if name == "default":
                    raise ConfigError(source, "disclaimers", f"no disclaimer template {path}")
                pair.append(found["default"][len(pair)])
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(source, "disclaimers", f"cannot read {path}: {exc}") from None
            unknown = sorted(set(_PLACEHOLDER.findall(text)) - set(PLACEHOLDERS))
            if unknown:
                known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
                raise ConfigError(
                    source, "disclaimers", f"{path}: unknown placeholder {{{unknown[0]}}} (known: {known})"
                )
            if not text.strip():
                raise ConfigError(source, "disclaimers", f"{path} is empty")
            pair.append(text)
        found[name] = (pair[0], pair[1])
    return found


@dataclass(frozen=True)
class DisclaimerOptions:
    """``[checks.disclaimer]``."""

    scope: str = setting(
        "external",
        choices=("external", "all_outbound"),
        doc="external: outbound mail; all_outbound: also internal mail.",
    )
    signed: str = setting(
        "skip",
        choices=("skip", "wrap"),
        doc="skip (default): signed/encrypted mail untouched; wrap: wrapped whole after the disclaimer.",
    )
    marker_key_file: str = setting(
        "",
        doc="Site key authenticating the X-AUP-Disclaimer marker; empty = disclaimer-marker.key beside the"
        " quarantine folder, created 0600 by aupmilter run. Gateways that relay to each other share it.",
    )
    dkim: dict[str, Any] = setting({}, doc='Moved: DKIM has its own section, [dkim."<domain>"].')

    def validate(self) -> None:
        if self.dkim:
            raise Invalid("dkim", 'DKIM has its own section now: [dkim."<domain>"] selector, key_file')


def parse_settings(options: Mapping[str, Any], config: Config) -> DisclaimerSettings:
    """``[checks.disclaimer]`` read by :class:`DisclaimerOptions`, plus the school templates (the
    transforms read the same table, so this is one function for both)."""
    given = {k: v for k, v in options.items() if k != "enabled"}
    return resolve_settings(schema.read(DisclaimerOptions, given, config.source, "checks.disclaimer"), config)


def resolve_settings(opts: DisclaimerOptions, config: Config) -> DisclaimerSettings:
    """Read options plus the school templates they apply."""
    source = f"{config.source}: checks.disclaimer"
    templates = load_templates(config.rules_dir / "disclaimers", (s.domain for s in config.schools), source)
    return DisclaimerSettings(opts.scope, opts.signed, templates)


class DisclaimerCheck:
    name: ClassVar[str] = "disclaimer"

    def __init__(self, settings: CheckSettings) -> None:
        self.settings = resolve_settings(settings.parsed or DisclaimerOptions(), settings.config)
        self.config = settings.config

    def run(self, envelope: Envelope, message: MessageView) -> Iterable[Finding]:
        if envelope.direction is None or not self.settings.applies(envelope.direction):
            return []
        if not self.config.is_org_domain(envelope.sender_domain):
            return []  # the transform only writes school disclaimers
        try:
            # Parsed once by MessageView: no second parse of a 25 MB mail.  The same function
            # decides in the rewrite, so the finding is exactly why nothing was added.
            disclaimer = self.settings.disclaimer_for(self.config, envelope.sender, envelope.sender_domain)
            reason = skip_reason(message.msg, disclaimer, wrap_signed=self.settings.signed == "wrap")
        except Exception:
            reason = Ambiguous("unparseable MIME structure")
        if reason is None:
            return []
        rule = SKIPPED_SIGNED if isinstance(reason, Untouchable) else SKIPPED_MALFORMED
        return [Finding(rule, "disclaimer", 0.0, f"{reason}: disclaimer not added", "mime")]


SPEC = CheckSpec(
    summary="Why a school's disclaimer could not be added (the disclaimer itself is a transform).",
    factory=DisclaimerCheck,
    reads_content=False,
    order=100,
    options=DisclaimerOptions,
    rules_files=("disclaimers/",),
    transforms=("aupmilter.transforms:build_disclaimer",),
    emits={
        SKIPPED_SIGNED: "Signed or encrypted mail left untouched (signed = skip).",
        SKIPPED_MALFORMED: "MIME the disclaimer could not be added to safely.",
    },
)
