"""Finding validated identifiers in text: the patterns, the context rules, the distinct count.

A pattern only proposes a candidate; the issuer's rule (:mod:`.identifiers`) and the rules
file's ranges, ignore lists, context words and card brands decide.  Distinct values are counted
per kind, up to ``max_distinct``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from aupmilter.checks.confidential.identifiers import is_valid_nhs, is_valid_ni, is_valid_upn, luhn_valid
from aupmilter.checks.confidential.rules import KINDS, KindRules

_UPN_RE = re.compile(r"(?<![A-Z0-9])([A-HJ-NP-RT-Z])(\d{11}[0-9A-HJ-NP-RT-Z])(?![A-Z0-9])", re.IGNORECASE)
_NI_RE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2})( ?)(\d{2})\2(\d{2})\2(\d{2})\2([A-Da-d])(?![A-Za-z0-9])")
# Boundaries: not inside a longer number, a decimal (``.``) or a date/fraction (``/``); a comma
# is a CSV field separator, so it bounds a value like a space does.
_NHS_RE = re.compile(r"(?<![\d./])(\d{3})([ -]?)(\d{3})\2(\d{4})(?!\d|[./-]\d)")
_CARD_RE = re.compile(r"(?<![\d./-])\d(?:[ -]?\d){12,18}(?!\d|[./-]\d)")
_SORT_RE = re.compile(r"(?<![\d./-])(\d{2})([- ]?)(\d{2})\2(\d{2})(?!\d|[./-]\d)")
# Six digits, possibly spaced or hyphenated ("12 34 56", "12-34-56", "1234 5678"): every pattern
# below needs at least this, so text without it skips them all.
_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d){5}")
_ACCOUNT_RE = re.compile(r"(?<![\d./-])\d{8}(?!\d|[./-]\d)")


@dataclass(frozen=True)
class Source:
    """One text to scan.  Its line index is built only when a match asks for its block's header
    line (NHS context): most texts have no identifier at all and never need it."""

    location: str
    text: str

    @staticmethod
    def of(location: str, text: str) -> Source:
        return Source(location, text)

    @cached_property
    def _index(self) -> tuple[list[int], list[int]]:
        """Line starts and, per line, the first line of its block (no blank line between)."""
        text = self.text
        starts = [0, *(m.end() for m in re.finditer(r"\n", text))]
        blocks: list[int] = []
        block = 0
        for i, s in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else len(text)
            if not text[s:end].strip():
                block = i + 1
            blocks.append(min(block, i))
        return starts, blocks

    def header_of(self, pos: int) -> str:
        """The first line of the table-like block containing ``pos`` (a CSV's header row)."""
        lines, blocks = self._index
        line = bisect.bisect_right(lines, pos) - 1
        first = blocks[line]
        start = lines[first]
        end = lines[first + 1] if first + 1 < len(lines) else len(self.text)
        return self.text[start : min(end, start + 2000)]


def _near(pattern: re.Pattern[str] | None, src: Source, start: int, end: int, window: int) -> bool:
    """A context word within ``window`` characters of the match, or in its block's header line."""
    if pattern is None:
        return False
    if pattern.search(src.text, max(0, start - window), min(len(src.text), end + window)):
        return True
    return pattern.search(src.header_of(start)) is not None


@dataclass
class Tally:
    """Distinct identifiers of one kind: first example, where each was seen, capped count."""

    values: dict[str, str] = field(default_factory=dict)  # identifier -> first location
    capped: bool = False

    def add(self, value: str, location: str, cap: int) -> None:
        if value in self.values:
            return
        if len(self.values) >= cap:
            self.capped = True
            return
        self.values[value] = location


class Scanner:
    """The identifier kinds of one rules file, ready to scan texts."""

    def __init__(self, kinds: Mapping[str, KindRules], max_distinct: int) -> None:
        self.kinds = kinds
        self.max_distinct = max_distinct

    def scan(self, sources: Iterable[Source]) -> dict[str, Tally]:
        """Distinct valid identifiers per kind, each with the first place it was seen."""
        tallies = {k: Tally() for k in KINDS}
        cap = self.max_distinct
        for src in sources:
            for kind, value in self._matches(src):
                tallies[kind].add(value, src.location, cap)
        return tallies

    def _matches(self, src: Source) -> Iterator[tuple[str, str]]:
        r = self.kinds
        text = src.text
        if not _DIGIT_RUN.search(text):
            return  # every identifier has six or more digits in a run; most prose has none
        if r["upn"].enabled:
            for m in _UPN_RE.finditer(text):
                upn = (m.group(1) + m.group(2)).upper()
                if is_valid_upn(upn) and _in_ranges(upn[1:4], r["upn"].ranges) and upn not in r["upn"].ignore:
                    yield ("upn", upn)
        if r["ni"].enabled:
            for m in _NI_RE.finditer(text):
                nino = (m.group(1) + m.group(3) + m.group(4) + m.group(5) + m.group(6)).upper()
                if is_valid_ni(nino) and nino not in r["ni"].ignore:
                    yield ("ni", nino)
        if r["nhs"].enabled:
            nhs = r["nhs"]
            for m in _NHS_RE.finditer(text):
                number = m.group(1) + m.group(3) + m.group(4)
                if (
                    is_valid_nhs(number)
                    and _in_ranges(number[:3], nhs.ranges)
                    and number not in nhs.ignore
                    and _near(nhs.context, src, m.start(), m.end(), nhs.context_window)
                ):
                    yield ("nhs", number)
        if r["card"].enabled:
            for m in _CARD_RE.finditer(text):
                card = self._card(m.group())
                if card:
                    yield ("card", card)
        if r["bank"].enabled:
            yield from self._bank(src)

    def _card(self, raw: str) -> str | None:
        rules = self.kinds["card"]
        separators = set(re.findall(r"[ -]", raw))
        if len(separators) > 1:
            return None
        digits = re.sub(r"[ -]", "", raw)
        if separators:
            groups = re.split(r"[ -]", raw)
            # Cards are printed in groups of 4 (4-6-5 / 4-6-4 for Amex and Diners): a run of
            # short groups is a phone number or a table of figures.
            if not (2 <= len(groups) <= 5 and len(groups[0]) == 4 and all(3 <= len(g) <= 6 for g in groups[1:-1])):
                return None
        if not luhn_valid(digits) or digits in rules.ignore:
            return None
        if len(set(digits[6:-1])) <= rules.dummy_max_distinct:
            return None
        brand = next((b for b in rules.brands if b.matches(digits)), None)
        return None if brand is None else f"{brand.name}:{digits}"

    def _bank(self, src: Source) -> Iterator[tuple[str, str]]:
        rules = self.kinds["bank"]
        text = src.text
        for m in _SORT_RE.finditer(text):
            sep = m.group(2)
            if sep != "-" and not _near(rules.sort_context, src, m.start(), m.end(), rules.context_window):
                continue
            if not _near(rules.context, src, m.start(), m.end(), rules.context_window):
                continue
            lo, hi = max(0, m.start() - rules.pair_window), min(len(text), m.end() + rules.pair_window)
            for acc in _ACCOUNT_RE.finditer(text, lo, hi):
                if acc.start() < m.end() and acc.end() > m.start():
                    continue  # the sort code's own digits
                value = f"{m.group(1)}{m.group(3)}{m.group(4)}/{acc.group()}"
                if value not in rules.ignore:
                    yield ("bank", value)
                break


def _in_ranges(prefix: str, ranges: Sequence[tuple[int, int, int]]) -> bool:
    return any(lo <= int(prefix[:n]) <= hi for n, lo, hi in ranges)
