"""Disclaimer settings and the presence check (the rewrite itself is a transform).

Policies 000, 001, 002, 003: "the standard disclaimer should always be used on every email".
The check records what the gateway could not do (``disclaimer.skipped_signed``: a signed or
encrypted message is never modified); :mod:`aupmilter.transforms` applies the disclaimer to mail
that is let through, then signs it.  Both read the same validated ``[checks.disclaimer]``
options, parsed here once per configuration load:

    [checks.disclaimer]
    scope = "external"          # outbound mail only; "all_outbound" adds internal mail
    signed = "skip"             # or "wrap": the signed original becomes the second part
    [checks.disclaimer.dkim."oakfield.example"]
    selector = "aup2026"
    key_file = "/etc/aupmilter/dkim/oakfield.example.pem"   # mode 600
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from aupmilter.checks import CheckSettings
from aupmilter.config import Config
from aupmilter.dkim import DkimKey, load_key
from aupmilter.errors import ConfigError
from aupmilter.message import MessageView
from aupmilter.model import Direction, Envelope, Finding
from aupmilter.rewrite import (
    MARKER_HEADER,
    Disclaimer,
    is_signed_or_encrypted,
    render_disclaimer,
    structure_defects,
)


@dataclass(frozen=True)
class DisclaimerSettings:
    scope: str = "external"
    signed: str = "skip"
    templates_dir: Path = Path()
    dkim: Mapping[str, DkimKey] = field(default_factory=dict)

    def applies(self, direction: Direction) -> bool:
        if direction is Direction.OUTBOUND:
            return True
        return direction is Direction.INTERNAL and self.scope == "all_outbound"

    def disclaimer_for(self, config: Config, sender: str, domain: str) -> Disclaimer:
        school = config.school_for_domain(domain)
        name = school.domain if school else "default"
        text = _template(self.templates_dir, name, "txt")
        markup = _template(self.templates_dir, name, "html")
        return render_disclaimer(
            text,
            markup,
            school_name=school.name if school else config.org_name,
            sender=sender,
            org_name=config.org_name,
        )


def _template(directory: Path, name: str, ext: str) -> str:
    for candidate in (directory / f"{name}.{ext}", directory / f"default.{ext}"):
        if candidate.exists():
            return candidate.read_text(encoding="utf-8")
    raise ConfigError(str(directory), f"default.{ext}", "no disclaimer template")


def parse_settings(options: Mapping[str, Any], config: Config, source: str) -> DisclaimerSettings:
    unknown = sorted(set(options) - {"enabled", "scope", "signed", "dkim"})
    if unknown:
        raise ConfigError(source, unknown[0], "unknown key")
    scope = options.get("scope", "external")
    if scope not in ("external", "all_outbound"):
        raise ConfigError(source, "scope", "must be 'external' or 'all_outbound'")
    signed = options.get("signed", "skip")
    if signed not in ("skip", "wrap"):
        raise ConfigError(source, "signed", "must be 'skip' or 'wrap'")
    keys: dict[str, DkimKey] = {}
    dkim_opts = options.get("dkim", {})
    if not isinstance(dkim_opts, dict):
        raise ConfigError(source, "dkim", "must be a table of domains")
    for domain, spec in dkim_opts.items():
        if (
            not isinstance(spec, dict)
            or set(spec) - {"selector", "key_file"}
            or not {"selector", "key_file"} <= set(spec)
        ):
            raise ConfigError(source, f"dkim.{domain}", "needs exactly selector and key_file")
        keys[domain.lower()] = load_key(domain.lower(), spec["selector"], spec["key_file"], source)
    templates = config.rules_dir / "disclaimers"
    _template(templates, "default", "txt")
    _template(templates, "default", "html")
    return DisclaimerSettings(scope, signed, templates, keys)


class DisclaimerCheck:
    name: ClassVar[str] = "disclaimer"
    reads_content: ClassVar[bool] = False

    def __init__(self, settings: CheckSettings) -> None:
        self.settings = parse_settings(settings.options, settings.config, settings.source)

    def run(self, envelope: Envelope, message: MessageView) -> Iterable[Finding]:
        if envelope.direction is None or not self.settings.applies(envelope.direction):
            return []
        if message.header(MARKER_HEADER) is not None:
            return []
        try:
            parsed = message.msg  # parsed once by MessageView: no second parse of a 25 MB mail
            signed = is_signed_or_encrypted(parsed)
            broken = structure_defects(parsed)
        except Exception:
            signed, broken = False, {"unparseable"}
        if self.settings.signed == "skip" and signed:
            return [
                Finding(
                    "disclaimer.skipped_signed",
                    "disclaimer",
                    0.0,
                    "signed or encrypted: disclaimer not added",
                    "mime",
                )
            ]
        if broken:
            evidence = f"ambiguous MIME structure ({', '.join(sorted(broken))}): disclaimer not added"
            return [Finding("disclaimer.skipped_malformed", "disclaimer", 0.0, evidence, "mime")]
        return []
