"""``rules/confidential.toml``: the identifier kinds, their validation data, scores and limits, read strictly."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aupmilter import schema
from aupmilter.schema import Invalid, setting
from aupmilter.webmail import load_webmail_domains

# --- rules file ----------------------------------------------------------------------------------

KINDS = ("upn", "ni", "nhs", "card", "bank")
#: kind -> (category suffix, label used in evidence).  Rule ids are stable: policy rows use them.
CATEGORY = {
    "upn": ("pupil_data", "UPN"),
    "ni": ("ni_number", "NI number"),
    "nhs": ("nhs_number", "NHS number"),
    "card": ("payment_card", "card"),
    "bank": ("bank_account", "bank account"),
}


@dataclass(frozen=True)
class Limits:
    """``[limits]``: bounds on the work done per message."""

    max_text_chars: int = setting(4_000_000, minimum=1, doc="Characters scanned per message (bodies + extracted text).")
    max_attachment_bytes: int = setting(26_214_400, minimum=1, doc="Attachments larger than this are not opened.")
    max_extracted_chars: int = setting(2_000_000, minimum=1, doc="Characters of text taken from one attachment.")
    max_xml_bytes: int = setting(
        16_777_216, minimum=1, doc="Uncompressed bytes read from XLSX/DOCX XML per attachment."
    )
    max_pdf_pages: int = setting(40, minimum=1, doc="Pages of a PDF whose text is extracted.")
    max_distinct: int = setting(5_000, minimum=1, doc='Distinct identifiers counted per kind (then "5000+").')


@dataclass(frozen=True)
class Brand:
    name: str
    ranges: tuple[tuple[int, int, int], ...]  # (prefix length, low, high)
    lengths: frozenset[int]

    def matches(self, digits: str) -> bool:
        if len(digits) not in self.lengths:
            return False
        return any(lo <= int(digits[:n]) <= hi for n, lo, hi in self.ranges)


@dataclass(frozen=True)
class KindRules:
    enabled: bool = True
    bulk_min: int = 5
    ignore: frozenset[str] = frozenset()
    ranges: tuple[tuple[int, int, int], ...] = ()  # UPN LA codes, NHS prefixes
    context: re.Pattern[str] | None = None
    sort_context: re.Pattern[str] | None = None
    context_window: int = 60
    pair_window: int = 40
    brands: tuple[Brand, ...] = ()
    dummy_max_distinct: int = 2


@dataclass(frozen=True)
class Rules:
    kinds: dict[str, KindRules]
    scores: dict[str, float]
    limits: Limits
    webmail: frozenset[str]
    scan_inbound: bool


def _ranges(specs: tuple[str, ...], key: str, width: int | None) -> tuple[tuple[int, int, int], ...]:
    """Parse ``["4", "51-55", "2221-2720"]``: prefix length and inclusive numeric bounds."""
    out: list[tuple[int, int, int]] = []
    for spec in specs:
        lo, _, hi = spec.strip().partition("-")
        hi = hi or lo
        if not (lo.isdigit() and hi.isdigit() and len(lo) == len(hi) and int(lo) <= int(hi)):
            raise Invalid(key, f"bad range {spec!r} (expected N or N-M, same width)")
        if width is not None and len(lo) != width:
            raise Invalid(key, f"{spec!r}: expected {width} digits")
        out.append((len(lo), int(lo), int(hi)))
    return tuple(out)


def _words(words: tuple[str, ...]) -> re.Pattern[str] | None:
    if not words:
        return None
    alternation = "|".join(re.escape(w.strip()) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![^\W_])(?:{alternation})(?![^\W_])", re.IGNORECASE)


@dataclass(frozen=True)
class ScoresRule:
    single: float = setting(1.0, minimum=0, doc="Score of one identifier.")
    bulk: float = setting(4.0, minimum=0, doc="Score of bulk_min identifiers or more.")
    webmail_single: float = setting(0.5, minimum=0, doc="Added when one identifier goes to personal webmail.")
    webmail_bulk: float = setting(6.0, minimum=0, doc="Added when bulk identifiers go to personal webmail.")


@dataclass(frozen=True)
class DestinationsRule:
    use_webmail_list: bool = setting(True, doc="Treat the shared webmail.toml list as personal webmail.")
    webmail_domains: tuple[str, ...] = setting((), nonblank=True, doc="More personal webmail domains.")


@dataclass(frozen=True)
class KindRule:
    """One identifier kind; each kind's table adds its own keys."""

    enabled: bool = setting(True, doc="Look for this kind at all.")
    bulk_min: int = setting(5, minimum=1, doc="Distinct identifiers that make a message bulk.")
    ignore: tuple[str, ...] = setting((), nonblank=True, doc="Published test or dummy values never counted.")

    def built(self, **extra: Any) -> KindRules:
        ignore = frozenset(re.sub(r"[\s-]", "", v).upper() for v in self.ignore)
        return KindRules(enabled=self.enabled, bulk_min=self.bulk_min, ignore=ignore, **extra)


@dataclass(frozen=True)
class UpnRule(KindRule):
    la_codes: tuple[str, ...] = setting((), nonblank=True, doc="Local authority codes a UPN may start with.")

    def validate(self) -> None:
        _ranges(self.la_codes, "la_codes", 3)


@dataclass(frozen=True)
class NhsRule(KindRule):
    prefixes: tuple[str, ...] = setting((), nonblank=True, doc="Number ranges NHS numbers are issued from.")
    context: tuple[str, ...] = setting((), nonblank=True, doc="Words one of which must be near the number.")
    context_window: int = setting(60, minimum=0, doc="Characters around the number searched for context.")

    def validate(self) -> None:
        _ranges(self.prefixes, "prefixes", 3)
        if not self.context:
            raise Invalid("context", "at least one context word is needed")


@dataclass(frozen=True)
class BrandRule:
    name: str = setting("card", doc="Card brand shown in evidence.")
    prefixes: tuple[str, ...] = setting((), nonblank=True, doc="IIN prefixes or ranges.")
    lengths: tuple[int, ...] = setting((), doc="Card number lengths (13-19).")

    def validate(self) -> None:
        if not self.lengths or not all(13 <= n <= 19 for n in self.lengths):
            raise Invalid("lengths", "expected a list of lengths between 13 and 19")
        if not _ranges(self.prefixes, "prefixes", None):
            raise Invalid("prefixes", "at least one prefix is needed")

    def built(self) -> Brand:
        return Brand(self.name, _ranges(self.prefixes, "prefixes", None), frozenset(self.lengths))


@dataclass(frozen=True)
class CardRule(KindRule):
    brands: tuple[BrandRule, ...] = setting((), doc="Card brands recognised by prefix and length.")
    dummy_max_distinct: int = setting(2, minimum=0, doc="At most this many distinct digits: a dummy number.")


@dataclass(frozen=True)
class BankRule(KindRule):
    pair_window: int = setting(40, minimum=1, doc="Characters between a sort code and an account number.")
    context: tuple[str, ...] = setting((), nonblank=True, doc="Words one of which must be near the pair.")
    sort_context: tuple[str, ...] = setting((), nonblank=True, doc="Words that name a sort code.")
    context_window: int = setting(80, minimum=0, doc="Characters around the pair searched for context.")

    def validate(self) -> None:
        if not self.context:
            raise Invalid("context", "at least one context word is needed")


@dataclass(frozen=True)
class ConfidentialFile:
    """``rules/confidential.toml``."""

    scan_inbound: bool = setting(False, doc="Also look at inbound mail (default: only mail leaving).")
    scores: ScoresRule = setting(ScoresRule(), doc="Scores per finding.")
    destinations: DestinationsRule = setting(DestinationsRule(), doc="Where personal webmail is.")
    limits: Limits = setting(Limits(), doc="Bounds on the work per message.")
    upn: UpnRule = setting(UpnRule(), doc="Unique pupil numbers.")
    ni: KindRule = setting(KindRule(), doc="National Insurance numbers.")
    nhs: NhsRule = setting(NhsRule(context=("nhs",)), doc="NHS numbers.")
    card: CardRule = setting(CardRule(), doc="Payment card numbers.")
    bank: BankRule = setting(BankRule(context=("sort code",)), doc="UK bank sort code and account pairs.")


def load_rules(rules_dir: Path) -> Rules:
    """Parse ``confidential.toml`` strictly (and the shared ``webmail.toml`` list if used)."""
    data = schema.read_file(ConfidentialFile, rules_dir / "confidential.toml")
    webmail = {d.lower().rstrip(".") for d in data.destinations.webmail_domains}
    if data.destinations.use_webmail_list:
        webmail |= load_webmail_domains(rules_dir)
    kinds = {
        "upn": data.upn.built(ranges=_ranges(data.upn.la_codes, "la_codes", 3)),
        "ni": data.ni.built(),
        "nhs": data.nhs.built(
            ranges=_ranges(data.nhs.prefixes, "prefixes", 3),
            context=_words(data.nhs.context),
            context_window=data.nhs.context_window,
        ),
        "card": data.card.built(
            brands=tuple(b.built() for b in data.card.brands), dummy_max_distinct=data.card.dummy_max_distinct
        ),
        "bank": data.bank.built(
            context=_words(data.bank.context),
            sort_context=_words(data.bank.sort_context),
            context_window=data.bank.context_window,
            pair_window=data.bank.pair_window,
        ),
    }
    scores = {f.name: getattr(data.scores, f.name) for f in dataclasses.fields(ScoresRule)}
    return Rules(kinds, scores, data.limits, frozenset(webmail), data.scan_inbound)
