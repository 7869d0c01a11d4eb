"""Offensive language: abusive, obscene, discriminatory, racist, harassing and threatening text.

Policy 004: "Offensive Language is not permitted and emails containing offensive language will
be blocked and reported"; 000/001/002/003 forbid "abusive, obscene, discriminatory, racist,
harassing, derogatory" messages.  Three kinds of evidence, each explainable:

* :mod:`.hate` — targeted abuse, hate and threats: *who* a sentence is about (a protected
  characteristic or an individual) and *what* it says of them (derogation, dehumanisation,
  threats, negated positives), with negation and counter-speech (quoting, reporting,
  condemning) taken into account.  Findings ``offensive.hate.<characteristic>``,
  ``offensive.threat.<characteristic|individual>``, ``offensive.abuse.personal``.
* :mod:`.lexicon` — listed words and phrases (profanity, sexual terms, slurs, harassment).
* a small linear model (:mod:`.model`) — the statistical second opinion for what no
  list names; alone it only ever tags (``offensive.model``).

Scores say how sure and how serious: a mild word 1 (a list never adds up past its ``cap``, so
five "dumb"s are still one weak hit), all weak evidence together never more than
:data:`WEAK_CEILING` (below the quarantine tier), a strong swear word 4.5, a slur 6-8, targeted
hate or a threat 10.  The policy (rules/policy.d/offensive.toml) maps tiers to actions.
Findings on quoted or forwarded text are ``offensive_quoted.*`` so forwarding and receiving can
be treated differently (000/002: "should not be forwarded"; 004 §2.2.1).

Evidence names the frame, the target and the masked words (``threat against religion: k**l …
m****ms in body``), never the sentence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from aupmilter.checks import CheckSettings, CheckSpec
from aupmilter.checks.offensive.hate import HateDetector, Hit
from aupmilter.checks.offensive.lexicon import Lexicon, LexiconFile, Term, starred
from aupmilter.checks.offensive.model import OffensiveModel
from aupmilter.checks.offensive.spelling import load_real_words
from aupmilter.errors import ConfigError
from aupmilter.message import MessageView
from aupmilter.model import Envelope, Finding
from aupmilter.quoting import OWN

LOCATION_WEIGHT = {"subject": 1.5, "body": 1.0, "attachment-name": 1.0}
#: Rules whose evidence is weak or ambiguous ("crap", "dumb", "porn", the model alone): together
#: they never reach the quarantine tier (4) of the shipped policy.
WEAK_RULES = ("offensive.profanity.mild", "offensive.insult", "offensive.sexual", "offensive.model")
WEAK_CEILING = 3.5
#: Score of each frame kind (see module docstring).
FRAME_SCORE = {"threat": 10.0, "hate": 10.0, "exclusion": 8.0, "abuse": 5.0, "named": 6.0}


@dataclass(frozen=True)
class _ModelSettings:
    model: OffensiveModel
    threshold: float
    rule: str
    score: float


class OffensiveCheck:
    name: ClassVar[str] = "offensive"

    def __init__(self, settings: CheckSettings) -> None:
        directory = settings.rules_dir / "lexicon"
        real_words = load_real_words(directory / "realwords.txt")
        self.lexicon = Lexicon(directory, real_words)
        self.hate = HateDetector(directory)
        self.model = _load_model(directory, self.lexicon.index, self.hate)

    # --- compatibility: the lexicon's scan is the word-level API tests and benchmarks use --------

    def scan(self, text: str) -> list[Term]:
        return self.lexicon.scan(text)

    def hits(self, text: str) -> list[Hit]:
        return self.hate.scan(text)

    def flags(self, text: str) -> bool:
        """Would this text (as a message body of the sender's own) get any offensive finding?"""
        if self._listed(text) or self.hate.scan(text):
            return True
        # (scan ran first: the model skips sentences whose frames the rules found negated)
        return self.model is not None and self.model.model.max_sentence_probability(text) >= self.model.threshold

    def _listed(self, text: str) -> list[Term]:
        """Listed words *used* in ``text``: mentions (quoted or reported) are blanked out first,
        but only when there is a listed word at all (most mail has none), and the text is read
        again only when something was blanked (the scan is a function of the text alone)."""
        words = self.lexicon.scan(text)
        if not words:
            return words
        used = self.hate.unmentioned(text)
        return words if used is text else self.lexicon.scan(used)

    # --- per message ----------------------------------------------------------------------------

    def run(self, envelope: Envelope, message: MessageView) -> Iterable[Finding]:
        found = _Evidence()
        # Forms of one multipart/alternative (text and HTML) say the same words: each form's
        # evidence is kept apart and the strongest form counts, so an HTML client's message is
        # judged like the same message in plain text (summed, the two copies of a word scored
        # as a repeat: two strong swear words read as four, blocked instead of held).  A form
        # whose lines are those of a form already read is not read again.
        forms: dict[int, dict[int, _Evidence]] = defaultdict(dict)
        read_in: dict[int, dict[str, int]] = defaultdict(dict)

        def read(into: _Evidence, text: str, where: str, quoted: bool, with_model: bool) -> None:
            words = self._listed(text)
            hits = self.hate.scan(text)
            for term in words:
                into.terms[(_quoted(term.rule, quoted), where)].append(term)
            for hit in hits:
                into.frames[(_quoted(_rule_of(hit), quoted), where)].append(hit)
            if with_model and not words and not hits and self.model is not None:
                p = self.model.model.max_sentence_probability(text)
                if p >= self.model.threshold:
                    term = Term(self.model.rule, self.model.score, f"model p={p:.2f}")
                    into.terms[(self.model.rule, where)].append(term)

        if message.subject:
            read(found, message.subject, "subject", quoted=False, with_model=True)
        for part in message.text_parts:
            into = found
            if part.alternative is not None:
                group, branch = part.alternative
                lines = _lines(part.text)
                if read_in[group].setdefault(lines, branch) != branch:
                    continue  # another form of this message already said exactly this
                into = forms[group].setdefault(branch, _Evidence())
            base = "body" if part.location == "body" else part.location
            for kind, text in message.quoted_segments(part):
                read(into, text, base if kind == OWN else f"{kind}:{base}", quoted=kind != OWN, with_model=kind == OWN)
        for branches in forms.values():
            found.add_strongest(list(branches.values()))
        for attachment in message.attachments:
            if attachment.filename:
                for term in self.lexicon.scan(attachment.filename.rsplit(".", 1)[0]):
                    found.terms[(term.rule, "attachment-name")].append(term)

        findings = [_term_finding(rule, where, terms) for (rule, where), terms in found.terms.items()]
        findings += [
            _frame_finding(rule, where, hits, self.hate.labels) for (rule, where), hits in found.frames.items()
        ]
        return _weak_ceiling(findings)


@dataclass
class _Evidence:
    """Listed words and frames found, by (rule, location)."""

    terms: defaultdict[tuple[str, str], list[Term]] = field(default_factory=lambda: defaultdict(list))
    frames: defaultdict[tuple[str, str], list[Hit]] = field(default_factory=lambda: defaultdict(list))

    def add_strongest(self, forms: list[_Evidence]) -> None:
        """Add, for each (rule, location), the evidence of the form where it scores highest
        (the first such form on a tie): the alternatives of one message are one message."""
        for key in dict.fromkeys(k for form in forms for k in form.terms):
            terms: list[list[Term]] = [form.terms.get(key, []) for form in forms]
            strongest_terms = max(terms, key=_term_score)
            self.terms[key] += strongest_terms
        for key in dict.fromkeys(k for form in forms for k in form.frames):
            frames: list[list[Hit]] = [form.frames.get(key, []) for form in forms]
            strongest_frames = max(frames, key=_frame_score)
            self.frames[key] += strongest_frames


def _lines(text: str) -> str:
    """The text's non-blank lines, stripped: what a plain and an HTML form of the same words
    share (the HTML's visible text differs in blank lines and indentation only)."""
    return "\n".join(stripped for line in text.splitlines() if (stripped := line.strip()))


def _term_score(terms: list[Term]) -> float:
    """:func:`_term_finding`'s score before the location's weight (the same for one key)."""
    if not terms:
        return 0.0
    return min(sum(t.score * (1.0 if i == 0 else 0.5) for i, t in enumerate(terms)), terms[0].cap)


def _frame_score(hits: list[Hit]) -> float:
    return max((FRAME_SCORE[_kind(h)] for h in hits), default=0.0)


def _quoted(rule: str, quoted: bool) -> str:
    return rule.replace("offensive.", "offensive_quoted.", 1) if quoted else rule


def _rule_of(hit: Hit) -> str:
    if hit.kind == "abuse":
        return "offensive.abuse.personal"
    if hit.kind == "threat":
        return f"offensive.threat.{hit.target}"
    return f"offensive.hate.{hit.target}"


def _weight(where: str) -> float:
    return LOCATION_WEIGHT.get(where.split(":")[-1], 1.0)


def _term_finding(rule: str, where: str, terms: list[Term]) -> Finding:
    score = _term_score(terms) * _weight(where)
    shown = ", ".join(dict.fromkeys(t.display if t.display.startswith("model ") else starred(t.display) for t in terms))
    count = f" x{len(terms)}" if len(terms) > 1 else ""
    return Finding(rule, ".".join(rule.split(".")[:2]), round(score, 2), f"{shown}{count} in {where}", where)


def _kind(hit: Hit) -> str:
    """The scoring kind: a threat against a named person is reviewed, not refused (figures of speech)."""
    if hit.frame == "exclusion":
        return "exclusion"
    return "named" if "named person" in hit.frame else hit.kind


def _frame_finding(rule: str, where: str, hits: list[Hit], labels: dict[str, str]) -> Finding:
    score = _frame_score(hits) * _weight(where)
    shown = "; ".join(
        dict.fromkeys(
            f"{h.frame} against {labels.get(h.target, h.target)}: {' '.join(starred(w) for w in h.words)}" for h in hits
        )
    )
    return Finding(rule, ".".join(rule.split(".")[:2]), round(score, 2), f"{shown} in {where}", where)


def _weak_ceiling(findings: list[Finding]) -> list[Finding]:
    """Weak evidence together stays below the quarantine tier: many mild words are still mild."""
    weak = [f for f in findings if f.rule.startswith(WEAK_RULES)]
    total = sum(f.score for f in weak)
    if total <= WEAK_CEILING:
        return findings
    factor = WEAK_CEILING / total
    return [
        Finding(f.rule, f.category, round(f.score * factor, 2), f.evidence, f.location) if f in weak else f
        for f in findings
    ]


def _load_model(directory: Path, index: LexiconFile, detector: HateDetector) -> _ModelSettings | None:
    """The ``[model]`` table of lexicon.toml (already read by the lexicon) and its weights."""
    cfg = index.model
    if not cfg.enabled:
        return None
    try:
        model = OffensiveModel.load(directory / cfg.file, detector)
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(str(directory / "lexicon.toml"), "model.file", f"cannot load model: {exc}") from None
    return _ModelSettings(model, cfg.threshold, cfg.rule, cfg.score)


_OFFENSIVE_FAMILIES = {
    "profanity.strong": "Strong swear words.",
    "profanity.mild": "Mild swear words (weak evidence; tag only).",
    "insult": "Insults aimed at someone.",
    "sexual": "Sexual or obscene language.",
    "slur.*": "Slurs: race and religion, sexuality and gender, disability.",
    "harassment": "Harassing phrases.",
    "hate.*": "Hate against a protected characteristic (Equality Act 2010), by frame.",
    "threat.*": "Threats against a group or an individual.",
    "abuse.personal": "Personal abuse aimed at the reader or a named person.",
    "model": "The learned model's opinion (tag only).",
}
SPEC = CheckSpec(
    summary="Offensive language: abusive, obscene, discriminatory, harassing, threatening text.",
    factory=OffensiveCheck,
    reads_content=True,
    order=40,
    rules_files=("lexicon/lexicon.toml", "lexicon/hate.toml", "lexicon/targets.toml", "lexicon/homonyms.toml"),
    emits={
        **{f"offensive.{k}": v for k, v in _OFFENSIVE_FAMILIES.items()},
        **{f"offensive_quoted.{k}": f"{v} In quoted or forwarded text." for k, v in _OFFENSIVE_FAMILIES.items()},
    },
)
