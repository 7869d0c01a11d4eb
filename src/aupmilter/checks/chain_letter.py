"""Chain letters and junk: explainable, scored cues an IT officer can read and tune.

Gateway products have no chain-letter detector; the policies forbid them in every school.  The
genre is recognisable by its mechanics, not its topic: an explicit number of people to forward
to, a deadline, a threat or promise, a list to add your name to, a claim of tracking, "this is
not a joke".  Each cue in ``rules/chain_letter.toml`` is a named, weighted pattern; a family's
cues add up, and a finding needs the family's threshold from at least two different cues, so a
newsletter's "please share with parents" or an IT notice *warning* about chain letters stays
clean.  Structural cues come from the message itself: nested forward depth in the subject
(``Fwd: Fw: FW:``), several forwarded-message blocks, long quoted recipient lists.

Evidence names every cue that contributed and a short excerpt of what it matched, e.g.
``forward_count "send this to 10 people"; deadline "within 24 hours"``.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import regex

from aupmilter.checks import CheckSettings
from aupmilter.errors import ConfigError
from aupmilter.message import MessageView
from aupmilter.model import Envelope, Finding

MAX_TEXT = 200_000
_FWD_PREFIX = regex.compile(r"\b(?:fwd?|fw)\s*:", regex.IGNORECASE)
_FORWARD_BLOCK = regex.compile(
    r"^\s*(?:-{2,}\s*(?:forwarded|original)\s+message\s*-{2,}|begin forwarded message:|from:\s.+)$",
    regex.IGNORECASE | regex.MULTILINE,
)
_ADDRESS = regex.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass(frozen=True)
class Cue:
    id: str
    family: str  # a family, or "chain_letter.*" for mechanics shared by every chain family
    weight: float
    pattern: regex.Pattern[str]
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Family:
    threshold: float
    min_cues: int


class ChainLetterCheck:
    name: ClassVar[str] = "chain_letter"
    reads_content: ClassVar[bool] = True

    def __init__(self, settings: CheckSettings) -> None:
        settings.reject_unknown(())
        path = settings.rules_dir / "chain_letter.toml"
        try:
            data: dict[str, Any] = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(str(path), "", f"cannot load: {exc}") from None
        unknown = set(data) - {"families", "cue"}
        if unknown:
            raise ConfigError(str(path), sorted(unknown)[0], "unknown key")
        self.families = {
            name: Family(float(spec["threshold"]), int(spec.get("min_cues", 2)))
            for name, spec in data.get("families", {}).items()
        }
        self.cues: list[Cue] = []
        for i, raw in enumerate(data.get("cue", [])):
            extra = set(raw) - {"id", "family", "weight", "pattern", "needs"}
            if extra:
                raise ConfigError(str(path), f"cue[{i}].{sorted(extra)[0]}", "unknown key")
            family = raw.get("family", "")
            if family != "chain_letter.*" and family not in self.families:
                raise ConfigError(str(path), f"cue[{i}].family", f"unknown family {family!r}")
            try:
                pattern = regex.compile(raw["pattern"], regex.IGNORECASE)
            except (KeyError, regex.error) as exc:
                raise ConfigError(str(path), f"cue[{i}].pattern", f"invalid pattern: {exc}") from None
            needs = tuple(str(n).lower() for n in raw.get("needs", []))
            self.cues.append(Cue(raw["id"], family, float(raw["weight"]), pattern, needs))
        self.chain_families = [f for f in self.families if f.startswith("chain_letter.")]

    def cue_hits(self, message: MessageView) -> list[tuple[Cue, str]]:
        """Every cue that matched, with a short excerpt (for explanations and unit tests)."""
        text = _flatten(message)
        low = text.lower()
        hits: list[tuple[Cue, str]] = []
        for cue in self.cues:
            if cue.needs and not any(n in low for n in cue.needs):
                continue
            m = cue.pattern.search(text)
            if m:
                hits.append((cue, m.group()[:60]))
        return hits

    def structural(self, message: MessageView) -> list[tuple[str, float, str]]:
        found: list[tuple[str, float, str]] = []
        depth = len(_FWD_PREFIX.findall(message.subject))
        if depth >= 3:
            found.append(("forward_depth", 2.0, f"{depth} forward prefixes in subject"))
        body = message.body_text[:MAX_TEXT]
        blocks = len(_FORWARD_BLOCK.findall(body))
        if blocks >= 3:
            found.append(("forwarded_blocks", 2.0, f"{blocks} forwarded-message blocks"))
        for line in body.splitlines():
            if len(_ADDRESS.findall(line)) >= 6:
                found.append(("recipient_list", 2.0, "long quoted recipient list"))
                break
        return found

    def run(self, envelope: Envelope, message: MessageView) -> Iterable[Finding]:
        hits = self.cue_hits(message)
        if not hits:
            return []
        totals: dict[str, float] = defaultdict(float)
        evidence: dict[str, list[str]] = defaultdict(list)
        for cue, excerpt in hits:
            targets = self.chain_families if cue.family == "chain_letter.*" else [cue.family]
            for family in targets:
                totals[family] += cue.weight
                evidence[family].append(f'{cue.id} "{" ".join(excerpt.split())}"')
        specific = [f for f in self.chain_families if any(c.family == f for c, _ in hits)]
        generic = [c for c, _ in hits if c.family == "chain_letter.*" and c.weight > 0]
        structure = self.structural(message)
        if not specific and len(generic) + len(structure) >= 3:
            # Pure chain mechanics (count, deadline, forward depth...) with no story: still a chain.
            specific = ["chain_letter.luck"]
        findings: list[Finding] = []
        if specific:
            for name, weight, note in structure:
                for family in specific:
                    totals[family] += weight
                    evidence[family].append(f"{name} ({note})")
            best = max(specific, key=lambda f: totals[f])
            spec = self.families[best]
            positive = [e for e in evidence[best] if not e.startswith("warning_about_chains")]
            if totals[best] >= spec.threshold and len(positive) >= spec.min_cues:
                findings.append(
                    Finding(
                        best,
                        "chain_letter",
                        round(totals[best], 1),
                        "; ".join(evidence[best])[:400],
                        "body",
                    )
                )
        for family in (f for f in self.families if f.startswith("junk.")):
            spec = self.families[family]
            if totals[family] >= spec.threshold and len(evidence[family]) >= spec.min_cues:
                findings.append(
                    Finding(
                        family,
                        family,
                        round(totals[family], 1),
                        "; ".join(evidence[family])[:400],
                        "body",
                    )
                )
        return findings


def _flatten(message: MessageView) -> str:
    parts = [message.subject] + [p.text for p in message.text_parts]
    text = "\n".join(parts)[:MAX_TEXT]
    return " ".join(text.replace("’", "'").split())
