"""``rules/phishing.toml`` and the site's ``[checks.phishing]`` options, read strictly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import regex

from aupmilter import schema
from aupmilter.config import Config
from aupmilter.errors import ConfigError
from aupmilter.model import Direction
from aupmilter.schema import Invalid, WeightedPattern, setting


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


def _domains(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.lower().strip(".") for v in values)


@dataclass(frozen=True)
class DomainsRule:
    public_suffixes: tuple[str, ...] = setting((), doc="Suffixes under which anyone registers (co.uk).")
    wildcard_suffixes: tuple[str, ...] = setting((), doc="Suffixes one level deeper (sch.uk: x.sch.uk is a suffix).")
    text_tlds: tuple[str, ...] = setting((), doc="TLDs that make link text look like a domain.")
    redirectors: tuple[str, ...] = setting((), doc="Click trackers and safe-link services (not mismatches).")
    shorteners: tuple[str, ...] = setting((), doc="URL shorteners.")
    free_hosts: tuple[str, ...] = setting((), doc="Free hosting where anyone can publish a login page.")
    suspicious_tlds: tuple[str, ...] = setting((), doc="TLDs favoured by throwaway phishing domains.")


@dataclass(frozen=True)
class LinkMismatchRule:
    score: float = setting(3.0, doc="Score of a link whose text names another site.")
    max_links: int = setting(500, minimum=1, doc="Links examined per message.")


@dataclass(frozen=True)
class LookalikeRule:
    score: float = setting(4.0, doc="Score of a look-alike domain.")
    min_label_length: int = setting(5, minimum=1, doc="Shorter labels are not compared (too many near misses).")


@dataclass(frozen=True)
class HarvestRule:
    threshold: float = setting(3.0, doc="Summed cue weight that is credential harvesting.")
    min_cues: int = setting(1, minimum=1, doc="Different cues needed.")
    sign_in_domains: tuple[str, ...] = setting((), doc="Genuine sign-in pages (never harvesting).")


@dataclass(frozen=True)
class ModelSettingsRule:
    enabled: bool = setting(True, doc="Use the learned weighting (phishing.suspicious).")
    threshold: float = setting(0.5, doc="P(phishing) at which it raises a finding (0 < t < 1).")

    def validate(self) -> None:
        if not 0 < self.threshold < 1:
            raise Invalid("threshold", "must be between 0 and 1")


@dataclass(frozen=True)
class BannerRule:
    text: str = setting(doc="The warning put first in the body of tagged inbound phishing.", nonblank=True)


@dataclass(frozen=True)
class PhishingFile:
    """``rules/phishing.toml``."""

    banner: BannerRule = setting(doc="The visible warning.")
    domains: DomainsRule = setting(DomainsRule(), doc="Domain arithmetic and lists (no network).")
    brands: dict[str, tuple[str, ...]] = setting({}, doc="Brand name = the domains it genuinely sends from.")
    link_mismatch: LinkMismatchRule = setting(LinkMismatchRule(), doc="Links whose text names another site.")
    lookalike: LookalikeRule = setting(LookalikeRule(), doc="Domains resembling a school's or a brand's.")
    harvest: HarvestRule = setting(HarvestRule(), doc="Credential harvesting cues.")
    model: ModelSettingsRule = setting(ModelSettingsRule(), doc="The learned weighting.")
    cue: tuple[WeightedPattern, ...] = setting((), doc="Named, weighted patterns.")

    def validate(self) -> None:
        seen: set[str] = set()
        for i, cue in enumerate(self.cue):
            if cue.id in seen:
                raise Invalid(f"cue[{i}].id", f"duplicate cue id {cue.id!r}")
            seen.add(cue.id)


def load_rules(rules_dir: Path) -> PhishingRules:
    data = schema.read_file(PhishingFile, rules_dir / "phishing.toml")
    d = data.domains
    return PhishingRules(
        domains=Domains(
            frozenset(_domains(d.public_suffixes)),
            frozenset(_domains(d.wildcard_suffixes)),
            frozenset(_domains(d.text_tlds)),
            _domains(d.redirectors),
        ),
        mismatch_score=data.link_mismatch.score,
        max_links=data.link_mismatch.max_links,
        lookalike_score=data.lookalike.score,
        min_label_length=data.lookalike.min_label_length,
        threshold=data.harvest.threshold,
        min_cues=data.harvest.min_cues,
        sign_in_domains=_domains(data.harvest.sign_in_domains),
        banner_text=" ".join(data.banner.text.split()),
        cues=tuple(Cue(c.id, c.weight, c.compiled()) for c in data.cue),
        brands={" ".join(b.lower().split()): _domains(domains) for b, domains in data.brands.items()},
        shorteners=frozenset(_domains(d.shorteners)),
        free_hosts=frozenset(_domains(d.free_hosts)),
        suspicious_tlds=frozenset(_domains(d.suspicious_tlds)),
        model_enabled=data.model.enabled,
        model_threshold=data.model.threshold,
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


def parse_options(options: dict[str, Any] | Any, config: Config) -> PhishingOptions:
    """``[checks.phishing]`` as written in the site file, read by :class:`PhishingSettings`."""
    given = {k: v for k, v in options.items() if k != "enabled"}
    return resolve_options(schema.read(PhishingSettings, given, config.source, "checks.phishing"), config)


def resolve_options(raw: PhishingSettings, config: Config) -> PhishingOptions:
    """Read options resolved against the trust: school domains checked, "*" expanded."""
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
