"""``rules/phishing.toml`` and the site's ``[checks.phishing]`` options, read strictly."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import Any

import regex

from aupmilter import schema
from aupmilter.config import Config
from aupmilter.errors import ConfigError
from aupmilter.model import Direction
from aupmilter.schema import Invalid, setting

_TOP_KEYS = {"domains", "brands", "link_mismatch", "lookalike", "harvest", "model", "banner", "cue"}
_SECTION_KEYS = {
    "domains": {
        "public_suffixes",
        "wildcard_suffixes",
        "text_tlds",
        "redirectors",
        "shorteners",
        "free_hosts",
        "suspicious_tlds",
    },
    "model": {"enabled", "threshold"},
    "link_mismatch": {"score", "max_links"},
    "lookalike": {"score", "min_label_length"},
    "harvest": {"threshold", "min_cues", "sign_in_domains"},
    "banner": {"text"},
}


@dataclass(frozen=True)
class Cue:
    id: str
    weight: float
    pattern: regex.Pattern[str]


@dataclass(frozen=True)
class Domains:
    """Registrable-domain arithmetic from the rules file's ``[domains]`` table (no network)."""

    suffixes: frozenset[str]
    wildcards: frozenset[str]
    text_tlds: frozenset[str]
    redirectors: tuple[str, ...]

    def registrable(self, host: str) -> str:
        """The domain a registrant controls: ``a.b.co.uk`` -> ``b.co.uk``; IPs are themselves."""
        host = host.strip(".")
        labels = host.split(".")
        if labels[-1].isdigit() or ":" in host:
            return host
        for i in range(len(labels)):
            suffix = ".".join(labels[i:])
            if suffix in self.wildcards:
                return ".".join(labels[max(i - 2, 0) :])
            if suffix in self.suffixes:
                return ".".join(labels[max(i - 1, 0) :])
        return ".".join(labels[-2:])

    def is_redirector(self, host: str) -> bool:
        return any(host == r or host.endswith("." + r) for r in self.redirectors)


@dataclass(frozen=True)
class PhishingRules:
    """``rules/phishing.toml``, validated (unknown keys are errors naming the file and key)."""

    domains: Domains
    mismatch_score: float
    max_links: int
    lookalike_score: float
    min_label_length: int
    threshold: float
    min_cues: int
    sign_in_domains: tuple[str, ...]
    banner_text: str
    cues: tuple[Cue, ...]
    brands: dict[str, tuple[str, ...]]
    shorteners: frozenset[str]
    free_hosts: frozenset[str]
    suspicious_tlds: frozenset[str]
    model_enabled: bool
    model_threshold: float


def load_rules(config: Config) -> PhishingRules:
    path = config.rules_dir / "phishing.toml"
    source = str(path)
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(source, "", f"cannot load: {exc}") from None
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ConfigError(source, sorted(unknown)[0], "unknown key")
    for section, allowed in _SECTION_KEYS.items():
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError(source, section, "must be a table")
        extra = set(table) - allowed
        if extra:
            raise ConfigError(source, f"{section}.{sorted(extra)[0]}", "unknown key")

    def strings(section: str, key: str) -> tuple[str, ...]:
        value = data.get(section, {}).get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(source, f"{section}.{key}", "must be a list of strings")
        return tuple(v.lower().strip(".") for v in value)

    def number(section: str, key: str, default: float) -> float:
        value = data.get(section, {}).get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(source, f"{section}.{key}", f"expected a number, got {value!r}")
        return float(value)

    cues: list[Cue] = []
    seen: set[str] = set()
    raw_cues = data.get("cue", [])
    if not isinstance(raw_cues, list):
        raise ConfigError(source, "cue", "must be an array of tables ([[cue]])")
    for i, raw in enumerate(raw_cues):
        extra = set(raw) - {"id", "weight", "pattern"}
        if extra:
            raise ConfigError(source, f"cue[{i}].{sorted(extra)[0]}", "unknown key")
        cue_id = raw.get("id")
        if not isinstance(cue_id, str) or not cue_id:
            raise ConfigError(source, f"cue[{i}].id", "is required")
        if cue_id in seen:
            raise ConfigError(source, f"cue[{i}].id", f"duplicate cue id {cue_id!r}")
        seen.add(cue_id)
        weight = raw.get("weight")
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise ConfigError(source, f"cue[{i}].weight", "must be a number")
        try:
            pattern = regex.compile(raw["pattern"], regex.IGNORECASE)
        except (KeyError, TypeError, regex.error) as exc:
            raise ConfigError(source, f"cue[{i}].pattern", f"invalid pattern: {exc}") from None
        cues.append(Cue(cue_id, float(weight), pattern))
    brands: dict[str, tuple[str, ...]] = {}
    raw_brands = data.get("brands", {})
    if not isinstance(raw_brands, dict):
        raise ConfigError(source, "brands", "must be a table of brand = [domains]")
    for brand, domains in raw_brands.items():
        if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
            raise ConfigError(source, f"brands.{brand}", "must be a list of domains")
        brands[" ".join(brand.lower().split())] = tuple(d.lower().strip(".") for d in domains)
    model = data.get("model", {})
    enabled = model.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(source, "model.enabled", "must be true or false")
    threshold = number("model", "threshold", 0.5)
    if not 0 < threshold < 1:
        raise ConfigError(source, "model.threshold", "must be between 0 and 1")
    banner = data.get("banner", {}).get("text", "")
    if not isinstance(banner, str) or not banner.strip():
        raise ConfigError(source, "banner.text", "must be a non-empty string")
    return PhishingRules(
        domains=Domains(
            frozenset(strings("domains", "public_suffixes")),
            frozenset(strings("domains", "wildcard_suffixes")),
            frozenset(strings("domains", "text_tlds")),
            strings("domains", "redirectors"),
        ),
        mismatch_score=number("link_mismatch", "score", 3.0),
        max_links=int(number("link_mismatch", "max_links", 500)),
        lookalike_score=number("lookalike", "score", 4.0),
        min_label_length=int(number("lookalike", "min_label_length", 5)),
        threshold=number("harvest", "threshold", 3.0),
        min_cues=int(number("harvest", "min_cues", 1)),
        sign_in_domains=strings("harvest", "sign_in_domains"),
        banner_text=" ".join(banner.split()),
        cues=tuple(cues),
        brands=brands,
        shorteners=frozenset(strings("domains", "shorteners")),
        free_hosts=frozenset(strings("domains", "free_hosts")),
        suspicious_tlds=frozenset(strings("domains", "suspicious_tlds")),
        model_enabled=enabled,
        model_threshold=threshold,
    )


@dataclass(frozen=True)
class PhishingOptions:
    """``[checks.phishing]`` in aupmilter.toml."""

    directions: frozenset[Direction]
    banner_schools: frozenset[str]
    lookalike_allow: frozenset[str]


@dataclass(frozen=True)
class PhishingSettings:
    """``[checks.phishing]`` as written; :func:`parse_options` resolves it against the trust."""

    directions: tuple[str, ...] = setting(
        ("inbound",),
        doc='Directions the phishing cues read (default ["inbound"]): IT\'s own reminders are genuine.',
    )
    banner_schools: tuple[str, ...] = setting(
        (),
        doc='School domains (or "*") whose tagged inbound phishing gets a visible warning first in the body;'
        " breaks the sender's DKIM.",
    )
    lookalike_allow: tuple[str, ...] = setting(
        (), doc="Genuine domains that resemble a school's (a neighbour, a supplier): never look-alikes."
    )

    def validate(self) -> None:
        for text in self.directions:
            if text.lower().strip() not in {d.value for d in Direction}:
                raise Invalid("directions", f"unknown direction {text!r} (inbound, outbound, internal)")


def parse_options(options: dict[str, Any] | Any, config: Config, source: str) -> PhishingOptions:
    """``[checks.phishing]`` read by :class:`PhishingSettings`, school domains checked."""
    given = {k: v for k, v in options.items() if k != "enabled"}
    raw = schema.read(PhishingSettings, given, config.source, "checks.phishing")
    directions = frozenset(Direction(d.lower().strip()) for d in raw.directions)
    banner = [d.lower().strip() for d in raw.banner_schools]
    known = {s.domain for s in config.schools}
    for domain in banner:
        if domain != "*" and domain not in known:
            raise ConfigError(
                config.source, "checks.phishing.banner_schools", f"{domain!r} is not a school domain of this trust"
            )
    if "*" in banner:
        banner = sorted(known)
    allow = frozenset(d.lower().strip() for d in raw.lookalike_allow)
    return PhishingOptions(directions, frozenset(banner), allow)
