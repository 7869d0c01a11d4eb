"""Chain letters and junk: explainable, scored cues an IT officer can read and tune.

Gateway products have no chain-letter detector; the policies forbid them in every school.  The
genre is recognisable by its mechanics, not its topic: an explicit number of people to forward
to, a deadline, a threat or promise, a list to add your name to, a claim of tracking, "this is
not a joke".  Each cue in ``rules/chain_letter.toml`` is a named, weighted pattern; a family's
cues add up, and a finding needs the family's threshold from at least ``min_cues`` different
cues, so a newsletter's "please share with parents" never fires alone, and an IT notice that
*warns* about chain letters carries a negative cue that outweighs the example it quotes.

Structural cues (weights and limits in the rules file's ``[structure]`` table) come from the
message itself: nested forward depth in the subject (``Fwd: Fw: FW:``), several forwarded or
quoted header blocks, a long quoted recipient list.  They only add to a chain family that the
words already point at (or, when three or more mechanics agree with no story, to
``chain_letter.luck``): plenty of legitimate threads are deeply forwarded.

Text is matched per segment (the subject, the sender's own words, quoted replies, forwarded
messages; ``aupmilter.quoting``) so evidence says where it was found: forwarding a chain letter
with "thought you'd like this" on top is still forwarding a chain letter, and the reviewer sees
that the words were in the forwarded part.  Evidence reads
``"send this to 10 people" (cue forward_count, forwarded)``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

import regex

from aupmilter import schema
from aupmilter.checks import CheckSettings, CheckSpec
from aupmilter.checks import chain_features as cf
from aupmilter.evidence import excerpt, flatten
from aupmilter.featmodel import FeatureModel
from aupmilter.message import MessageView
from aupmilter.model import Envelope, Finding
from aupmilter.quoting import OWN, split_quoted
from aupmilter.schema import Invalid, WeightedPattern, setting
from aupmilter.triggers import (
    anchor_starts,
    first_anchored,
    is_flat,
    lower_aligned,
    required_literals,
    satisfied,
    starts_at_boundary,
    word_automaton,
    word_starts,
)

MAX_TEXT = 200_000
GENERIC = "chain_letter.*"
_FWD_PREFIX = regex.compile(r"\b(?:fwd?|fw)\s*:", regex.IGNORECASE)
_HEADER_BLOCK = regex.compile(
    r"^\s*>?\s*(?:-{2,}\s*(?:forwarded|original)\s+message\s*-{2,}|begin forwarded message:"
    r"|from:\s.+|on .{3,200} wrote:)\s*$",
    regex.IGNORECASE | regex.MULTILINE,
)
_QUOTE_MARK = regex.compile(r"^[ \t]*(?:>[ \t]?)+", regex.MULTILINE)
_ADDRESS = regex.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_STRUCTURE_ORDER = ("forward_depth", "header_blocks", "recipient_list")
_STRUCTURE_KEYS = set(_STRUCTURE_ORDER)


@dataclass(frozen=True)
class Cue:
    """One named, weighted pattern; ``family`` is a family or ``chain_letter.*`` (every chain family)."""

    id: str
    family: str
    weight: float
    pattern: regex.Pattern[str]
    needs: tuple[str, ...] = ()
    #: Lower-case literals every match starts with (:func:`aupmilter.triggers.anchor_starts` with
    #: ``classes=True``: white space reads as one space, the segments being flattened), if proven.
    starts: frozenset[str] | None = None


@dataclass(frozen=True)
class Family:
    threshold: float
    min_cues: int


@dataclass(frozen=True)
class Structure:
    """A structural cue: fires when the measured count reaches ``minimum``."""

    weight: float
    minimum: int


@dataclass(frozen=True)
class Segment:
    location: str  # "subject", "body", "body:quoted", "body:forwarded", "message[1]/body"...
    text: str  # flattened: quote markers removed, whitespace collapsed


@dataclass(frozen=True)
class Hit:
    cue: Cue
    excerpt: str
    location: str

    def explain(self) -> str:
        where = "" if self.location in ("body", "subject") else f", {self.location.rpartition(':')[2]}"
        return f'"{self.excerpt}" (cue {self.cue.id}{where})'


@dataclass(frozen=True)
class FamilyRule:
    threshold: float = setting(doc="Summed cue weight at which the family is a finding.", minimum=0.0)
    min_cues: int = setting(2, minimum=1, doc="Different cues needed: no single phrase ever fires alone.")


@dataclass(frozen=True)
class StructureRule:
    weight: float = setting(doc="Weight added to a chain family the words already point at.")
    min_: int = setting(key="min", minimum=1, doc="Count at which the structural cue fires.")


@dataclass(frozen=True)
class CueRule(WeightedPattern):
    family: str = setting(doc='A family of [families], or "chain_letter.*" for every chain family.')
    needs: tuple[str, ...] = setting((), doc="Words of which one must appear before the pattern is tried.")


@dataclass(frozen=True)
class ModelRule:
    enabled: bool = setting(True, doc="Use the learned second opinion (false: cues only).")
    threshold: float = setting(0.6, doc="P(chain letter) at which the model raises a finding (0 < t < 1).")

    def validate(self) -> None:
        if not 0 < self.threshold < 1:
            raise Invalid("threshold", "must be a number between 0 and 1")


@dataclass(frozen=True)
class ChainLetterRules:
    """``rules/chain_letter.toml`` (see the file's header for what each table means)."""

    families: dict[str, FamilyRule] = setting({}, doc="Chain and junk families and their thresholds.")
    structure: dict[str, StructureRule] = setting(
        {}, doc="Structural cues: forward_depth, header_blocks, recipient_list."
    )
    cue: tuple[CueRule, ...] = setting((), doc="Named, weighted patterns.")
    model: ModelRule = setting(ModelRule(), doc="The learned second opinion.")

    def validate(self) -> None:
        for key in self.structure:
            if key not in _STRUCTURE_KEYS:
                raise Invalid(f"structure.{key}", "unknown structural cue")
        seen: set[str] = set()
        for i, cue in enumerate(self.cue):
            if cue.family != GENERIC and cue.family not in self.families:
                raise Invalid(f"cue[{i}].family", f"unknown family {cue.family!r}")
            if cue.id in seen:
                raise Invalid(f"cue[{i}].id", f"duplicate cue id {cue.id!r}")
            seen.add(cue.id)


class ChainLetterCheck:
    name: ClassVar[str] = "chain_letter"

    def __init__(self, settings: CheckSettings) -> None:
        rules = schema.read_file(ChainLetterRules, settings.rules_dir / "chain_letter.toml")
        self.model_threshold = rules.model.threshold
        self.model = FeatureModel.shipped("chain_letter") if rules.model.enabled else None
        self.families = {name: Family(spec.threshold, spec.min_cues) for name, spec in rules.families.items()}
        self.structure = {key: Structure(spec.weight, spec.min_) for key, spec in rules.structure.items()}
        self.cues = [
            Cue(
                raw.id,
                raw.family,
                raw.weight,
                pattern,
                tuple(n.lower() for n in raw.needs),
                anchor_starts(pattern, True),
            )
            for raw in rules.cue
            for pattern in [raw.compiled()]
        ]
        self.chain_families = [f for f in self.families if f.startswith("chain_letter.")]
        #: Cues whose every match begins at ``\b``: a start literal inside a word is not tried.
        self._boundary = [starts_at_boundary(cue.pattern, cue.starts) for cue in self.cues]
        #: For a cue that cannot be anchored, literals every match needs (a text lacking one is not searched).
        self._required = [required_literals(cue.pattern) if cue.starts is None else None for cue in self.cues]
        # Every cue's prefilter words and the literals its matches start with in one automaton:
        # which of them a message contains, and where, is then one pass over its text in C.
        # A school letter says "send", "post" and "within" often enough to pass most cues'
        # prefilter; the pattern is then tried only where its literal starts, not at every
        # position of every segment (the same first match: see ``start_literals``).
        self._need_words = frozenset(n for cue in self.cues for n in cue.needs)
        required = {w for sets in self._required for f in sets or () for w in f}
        self._needs = word_automaton(self._need_words | {w for cue in self.cues for w in cue.starts or ()} | required)

    # -- evidence --------------------------------------------------------------------------------

    def cue_hits(self, message: MessageView) -> list[Hit]:
        """Every cue that matched, with a short excerpt and where (for explanations and unit tests)."""
        segments = _segments(message)
        texts = [s.text for s in segments]
        joined = " ".join(texts)
        low = joined.lower()
        # Where each word ends, grouped by word: a cue's start offsets are gathered only if its
        # prefilter lets it be tried (most cues' are not, on most mail).
        ends: dict[str, list[int]] = defaultdict(list)
        for end, word in self._needs.iter(low) if self._needs is not None else ():
            ends[word].append(end)
        present = self._need_words.intersection(ends)
        # The start literals read white space as one space: the segments are flattened text.
        anchored = lower_aligned(joined, low) and all(map(is_flat, texts))
        offsets: list[int] = []
        at = 0
        for text in texts:
            offsets.append(at)
            at += len(text) + 1
        hits: list[Hit] = []
        for cue, boundary, needed in zip(self.cues, self._boundary, self._required, strict=True):
            if cue.needs and present.isdisjoint(cue.needs):
                continue  # cheap prefilter: most school mail costs no regular expression work
            if anchored and needed is not None and not satisfied(needed, ends.keys()):
                continue  # it lacks a literal every match needs
            if anchored and cue.starts is not None:
                spots = sorted({end - len(w) + 1 for w in cue.starts if w in ends for end in ends[w]})
                if boundary:
                    spots = word_starts(joined, spots)
                first = first_anchored(cue.pattern, texts, offsets, spots)
            else:
                first = next(((k, m) for k, text in enumerate(texts) if (m := cue.pattern.search(text))), None)
            if first is not None:
                k, m = first
                hits.append(Hit(cue, excerpt(m.group()), segments[k].location))
        return hits

    def structural(self, message: MessageView, needed: int = 0) -> list[tuple[str, float, str]]:
        """``(cue id, weight, note)`` for each structural cue the message shows.

        ``needed``: the caller uses the list only if it holds at least this many; once fewer can
        be found, the cues not read yet (the body-wide ones cost most) are not read."""
        found: list[tuple[str, float, str]] = []
        left = sum(1 for key in _STRUCTURE_ORDER if key in self.structure)
        spec = self.structure.get("forward_depth")
        if spec:
            left -= 1
            depth = len(_FWD_PREFIX.findall(message.subject))
            if depth >= spec.minimum:
                found.append(("forward_depth", spec.weight, f"{depth} forward prefixes in subject"))
        if len(found) + left < needed:
            return found
        body = message.body_text[:MAX_TEXT]
        spec = self.structure.get("header_blocks")
        if spec:
            left -= 1
            blocks = len(_HEADER_BLOCK.findall(body))
            if blocks >= spec.minimum:
                found.append(("header_blocks", spec.weight, f"{blocks} forwarded/quoted header blocks"))
        if len(found) + left < needed:
            return found
        spec = self.structure.get("recipient_list")
        if spec:
            longest = max((len(_ADDRESS.findall(line)) for line in body.splitlines()), default=0)
            if longest >= spec.minimum:
                found.append(("recipient_list", spec.weight, f"quoted list of {longest} addresses"))
        return found

    # -- decision --------------------------------------------------------------------------------

    def run(self, envelope: Envelope, message: MessageView) -> Iterable[Finding]:
        hits = self.cue_hits(message)
        findings = self._cue_findings(message, hits)
        if (
            self.model is not None
            and not any(f.category == "chain_letter" for f in findings)
            and message.msg.get_content_type() != "multipart/report"  # a bounce quotes someone else
        ):
            learned = self.model_finding(message, hits)
            if learned is not None:
                findings.insert(0, learned)
        return findings

    # -- the learned second opinion --------------------------------------------------------------

    def model_score(self, message: MessageView) -> tuple[float, str, list[str]]:
        """``(P(chain letter), likeliest family, the mechanics that pushed it up)``.

        0 unless the text asks to be passed on *and* gives a reason (:func:`chain_features.eligible`):
        every chain does both, so a newsletter with a prayer, a deadline and a raffle prize, or a
        bare "send this to 10 people", is not scored at all."""
        if self.model is None:
            return 0.0, "", []
        text = cf.message_text(message)
        named = cf.features(message.subject, text, quick=True)
        if not cf.eligible(named):
            return 0.0, "", []
        scored = self.model.score(named, text)
        family, _ = scored.best(exclude="clean")
        reasons = [cf.describe(name) for name, _ in scored.contributions[:4]]
        return 1.0 - scored.probabilities["clean"], family, reasons

    def model_finding(self, message: MessageView, hits: list[Hit]) -> Finding | None:
        p, family, reasons = self.model_score(message)
        if p < self.model_threshold:
            return None
        # A cue family the words already point at names the letter better than the model's guess.
        cue_families = [h.cue.family for h in hits if h.cue.weight > 0 and h.cue.family in self.chain_families]
        rule = max(sorted(set(cue_families)), key=cue_families.count) if cue_families else f"chain_letter.{family}"
        evidence = f"learned model {p:.2f}: " + "; ".join(reasons)
        cues = "; ".join(h.explain() for h in hits if h.cue.weight > 0)
        if cues:
            evidence += f"; {cues}"
        location = next((h.location for h in hits if h.cue.weight > 0), "body")
        return Finding(rule, "chain_letter", round(5.0 + 5.0 * p, 1), evidence[:400], location)

    # -- the named cues --------------------------------------------------------------------------

    def _cue_findings(self, message: MessageView, hits: list[Hit]) -> list[Finding]:
        if not any(h.cue.weight > 0 for h in hits):
            return []
        totals: dict[str, float] = defaultdict(float)
        contributions: dict[str, list[tuple[float, str, str]]] = defaultdict(list)  # weight, evidence, location

        def add(family: str, weight: float, evidence: str, location: str) -> None:
            totals[family] += weight
            contributions[family].append((weight, evidence, location))

        for hit in hits:
            for family in self.chain_families if hit.cue.family == GENERIC else [hit.cue.family]:
                add(family, hit.cue.weight, hit.explain(), hit.location)
        specific = [f for f in self.chain_families if any(h.cue.family == f and h.cue.weight > 0 for h in hits)]
        generic = [h for h in hits if h.cue.family == GENERIC and h.cue.weight > 0]
        # With no family to add to, the structure counts only if it makes three mechanics.
        structure = self.structural(message, 0 if specific else 3 - len(generic))
        if not specific and len(generic) + len(structure) >= 3:
            # Pure chain mechanics (count, deadline, forward depth...) with no story: still a chain.
            specific = ["chain_letter.luck"]
        findings: list[Finding] = []
        if specific:
            for cue_id, weight, note in structure:
                for family in specific:
                    add(family, weight, f"{note} (cue {cue_id})", "structure")
            best = max(specific, key=lambda f: (totals[f], -self.chain_families.index(f)))
            finding = self._finding(best, "chain_letter", totals[best], contributions[best])
            if finding:
                findings.append(finding)
        for family in (f for f in self.families if f.startswith("junk.")):
            finding = self._finding(family, family, totals[family], contributions[family])
            if finding:
                findings.append(finding)
        return findings

    def _finding(
        self, family: str, category: str, total: float, contributions: list[tuple[float, str, str]]
    ) -> Finding | None:
        spec = self.families[family]
        positive = [c for c in contributions if c[0] > 0]
        if total < spec.threshold or len(positive) < spec.min_cues:
            return None
        ordered = sorted(contributions, key=lambda c: -c[0])
        located = [c for c in ordered if c[0] > 0 and c[2] != "structure"]
        location = located[0][2] if located else "body"
        return Finding(family, category, round(total, 1), "; ".join(c[1] for c in ordered)[:400], location)


def _segments(message: MessageView) -> list[Segment]:
    """The subject and every text part split into own / quoted / forwarded text, flattened.

    A text/plain and text/html alternative usually say the same thing; identical flattened
    segments are kept once so a cue's location is the first place it was found.
    """
    out = [Segment("subject", flatten(message.subject))]
    seen: set[str] = set()
    budget = MAX_TEXT
    for part in message.text_parts:
        if budget <= 0:
            break
        text = part.text[:budget]
        budget -= len(text)
        # (the same split the offensive check reads, unless the budget cut this part short)
        whole = len(text) == len(part.text)
        for kind, chunk in message.quoted_segments(part) if whole else split_quoted(text):
            flat = flatten(_QUOTE_MARK.sub("", chunk))
            if not flat or flat in seen:
                continue
            seen.add(flat)
            out.append(Segment(part.location if kind == OWN else f"{part.location}:{kind}", flat))
    return out


SPEC = CheckSpec(
    summary="Chain letters and junk: named, weighted cues and a learned second opinion.",
    factory=ChainLetterCheck,
    reads_content=True,
    order=50,
    rules_files=("chain_letter.toml",),
    emits={
        "chain_letter.*": "A chain letter, by family (luck, pyramid, hoax, charity_hoax, prayer).",
        "junk.*": "Junk: jokes, broadcast appeals, advertising.",
    },
)
