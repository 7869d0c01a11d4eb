"""Confidential data leaving: validated UK identifiers in bodies and attachments, counted.

What the policies say: staff must not transmit "confidential information about the Trust and
any of its staff, pupils or associated third parties" (000 8.2); 001 8.2.5 adds "parents,
Academy Councillors, trustees ... or suppliers (except as authorised in the proper performance
of your duties)"; 002 (d) and 003 say the same.  A gateway cannot read intent, but it can see the
identifiers that make a message a record about people, and how many of them there are: one
National Insurance number in a payroll query is ordinary work; a spreadsheet of 300 Unique Pupil
Numbers to a personal webmail address is a data breach.

Every identifier is *validated* with its issuer's own rule, which is what keeps phone numbers,
order numbers, dates and ISBNs out:

* **UPN** (DfE, "Unique Pupil Numbers (UPNs): guidance for schools and local authorities";
  UK Government Data Standards Catalogue, Unique Pupil Number v2.0): 13 characters, a check
  letter, a 3-digit LA code, 4-digit establishment number, 2-digit year, 3-digit serial (or 2
  digits and a letter for a temporary UPN).  The check letter: characters 2-13 weighted 2..13
  (a temporary UPN's final letter counts as its index in the table), summed, modulo 23, mapped
  to ``ABCDEFGHJKLMNPQRTUVWXYZ`` (I, O and S are never used).  Characters 2-4 must be an LA code.
* **National Insurance number** (HMRC National Insurance Manual NIM39110): two prefix letters,
  six digits, a suffix A-D.  The first letter is never D F I Q U V; the second never D F I O Q U
  V; the prefixes BG GB KN NK NT TN ZZ are never issued.  No check digit exists.
* **NHS number** (NHS Data Dictionary, "NHS Number"): ten digits, the last a modulus 11 check:
  digits 1-9 weighted 10..2, 11 minus the remainder, 11 becomes 0, 10 means the number is
  invalid.  Issued from the 3xx, 4xx, 6xx and 7xx ranges (999 is reserved for test data).
  Random ten-digit numbers pass about one time in eleven, so an NHS number needs a context word.
* **Payment card** (ISO/IEC 7812-1 Luhn check; issuer ranges from the card schemes): 13-19
  digits, optionally in groups separated by spaces or dashes, a Luhn-valid number in a known
  scheme's range and length.  Published test numbers and dummies are ignored.
* **Bank details**: a sort code ``NN-NN-NN`` with an 8-digit account number nearby and a bank
  word (sort code, account number, BACS...).  A sort code alone is a bank's public number.
  Vocalink's account-number modulus check needs its licensed weight table; not done (documented).

Text comes from the subject and every text part (HTML as visible text, attached messages
included) and from attachments: CSV/TXT as text, XLSX (shared strings + worksheets) and DOCX
(``word/document.xml``) read from the zip with :mod:`pyexpat` under byte caps and with document
type declarations refused (no entity expansion at all, defusedxml's rule), PDF text via pypdf
(page-capped), all in :mod:`aupmilter.extraction`.  Everything is bounded per message
(``[limits]`` in the rules file): what is not scanned is not seen, never an error.

Distinct identifiers are counted per kind across the message; fewer than the kind's
``bulk_min`` give ``confidential.<kind>.single``, more give ``confidential.<kind>.bulk``.  Any
consumer webmail recipient adds a score bonus, so the policy's tiers can hold a bulk list to an
outside organisation and refuse one to a personal mailbox.  Evidence is masked: the kind, a few
leading characters that identify nobody, and the count (``UPN B801…(x300)``).  The identifier
itself is confidential: it never appears in a finding, a log line or a metric.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar

from aupmilter.checks import CheckSettings
from aupmilter.checks.confidential.rules import CATEGORY, KINDS, load_rules
from aupmilter.extraction.bounds import TextLimits
from aupmilter.extraction.text import attachment_text
from aupmilter.message import MessageView
from aupmilter.model import Direction, Envelope, Finding, domain_of

# --- identifier algorithms (pure, unit-tested) ---------------------------------------------------

#: UPN check-letter table: index = remainder modulo 23 (no I, O or S).
UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
_NI_BAD_FIRST = frozenset("DFIQUV")
_NI_BAD_SECOND = frozenset("DFIOQUV")
_NI_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def upn_check_letter(tail: str) -> str | None:
    """The check letter for the 12 characters after it, ``None`` if they cannot be a UPN tail.

    ``tail`` is 12 digits (permanent UPN) or 11 digits and a letter from the table (temporary
    UPN), weighted 2..13 by position, the temporary letter counting as its index in the table.
    """
    if len(tail) != 12 or not tail[:11].isdigit():
        return None
    last = tail[11]
    if last.isdigit():
        last_value = int(last)
    elif last in UPN_LETTERS:
        last_value = UPN_LETTERS.index(last)
    else:
        return None
    total = sum(int(c) * w for c, w in zip(tail[:11], range(2, 13), strict=True)) + last_value * 13
    return UPN_LETTERS[total % 23]


def is_valid_upn(upn: str) -> bool:
    """Check letter right (LA code not checked here: that is the rules file's list)."""
    upn = upn.upper()
    return len(upn) == 13 and upn_check_letter(upn[1:]) == upn[0]


def is_valid_ni(nino: str) -> bool:
    """HMRC allocation rules for a NINO written as 9 characters, suffix required."""
    nino = nino.upper().replace(" ", "")
    if len(nino) != 9 or not (nino[:2].isalpha() and nino[2:8].isdigit() and nino[8] in "ABCD"):
        return False
    first, second = nino[0], nino[1]
    return first not in _NI_BAD_FIRST and second not in _NI_BAD_SECOND and nino[:2] not in _NI_BAD_PREFIXES


def nhs_check_digit(first9: str) -> int | None:
    """Modulus 11 check digit for nine digits; ``None`` when the result is 10 (never issued)."""
    total = sum(int(c) * w for c, w in zip(first9, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def is_valid_nhs(number: str) -> bool:
    digits = number.replace(" ", "").replace("-", "")
    if len(digits) != 10 or not digits.isdigit():
        return False
    return nhs_check_digit(digits[:9]) == int(digits[9])


def luhn_valid(digits: str) -> bool:
    """ISO/IEC 7812-1 Luhn: double every second digit from the right, sum digits, mod 10."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


# --- text sources ----------------------------------------------------------------------------------


@dataclass
class Budget:
    """Characters of text still allowed for this message (shared by bodies and attachments)."""

    chars: int
    capped: bool = False

    def take(self, text: str) -> str:
        if len(text) > self.chars:
            self.capped = True
            text = text[: self.chars]
        self.chars -= len(text)
        return text


# --- scanning ----------------------------------------------------------------------------------------

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


class ConfidentialCheck:
    name: ClassVar[str] = "confidential"
    reads_content: ClassVar[bool] = True

    def __init__(self, settings: CheckSettings) -> None:
        settings.reject_unknown(())
        self.rules = load_rules(settings.rules_dir)
        limits = self.rules.limits
        self.text_limits = TextLimits(
            limits.max_attachment_bytes, limits.max_extracted_chars, limits.max_xml_bytes, limits.max_pdf_pages
        )

    # -- sources -------------------------------------------------------------------------------

    def sources(self, message: MessageView) -> tuple[list[Source], bool]:
        """Every text to scan (bodies, then attachments), under the per-message budget."""
        limits = self.rules.limits
        budget = Budget(limits.max_text_chars)
        out: list[Source] = []
        seen: set[str] = set()
        for location, text in message.iter_all_text():
            if text in seen:  # text/plain and text/html alternatives usually say the same thing
                continue
            seen.add(text)
            taken = budget.take(text)
            if taken:
                out.append(Source.of(location, taken))
        for att in message.attachments:
            if budget.chars <= 0:
                budget.capped = True
                break
            _kind, text = attachment_text(att, self.text_limits)
            taken = budget.take(text)
            if taken:
                out.append(Source.of(att.location, taken))
        return out, budget.capped

    # -- matching ------------------------------------------------------------------------------

    def scan(self, sources: Iterable[Source]) -> dict[str, Tally]:
        """Distinct valid identifiers per kind (public for tests and the corpus measurement)."""
        tallies = {k: Tally() for k in KINDS}
        cap = self.rules.limits.max_distinct
        for src in sources:
            for kind, value in self._matches(src):
                tallies[kind].add(value, src.location, cap)
        return tallies

    def _matches(self, src: Source) -> Iterator[tuple[str, str]]:
        r = self.rules.kinds
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
        rules = self.rules.kinds["card"]
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
        rules = self.rules.kinds["bank"]
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

    # -- decision ------------------------------------------------------------------------------

    def run(self, envelope: Envelope, message: MessageView) -> Iterable[Finding]:
        if envelope.direction is Direction.INBOUND and not self.rules.scan_inbound:
            return []
        sources, capped = self.sources(message)
        tallies = self.scan(sources)
        webmail = any(domain_of(r) in self.rules.webmail for r in envelope.recipients)
        findings: list[Finding] = []
        for kind in KINDS:
            tally = tallies[kind]
            if not tally.values:
                continue
            findings.append(self._finding(kind, tally, webmail, capped))
        return findings

    def _finding(self, kind: str, tally: Tally, webmail: bool, capped: bool) -> Finding:
        category, label = CATEGORY[kind]
        count = len(tally.values)
        volume = "bulk" if count >= self.rules.kinds[kind].bulk_min else "single"
        score = self.rules.scores[volume] + (self.rules.scores[f"webmail_{volume}"] if webmail else 0.0)
        first_value, first_location = next(iter(tally.values.items()))
        places = len(set(tally.values.values()))
        notes = [f"{label} {mask(kind, first_value)}(x{count}{'+' if tally.capped else ''})"]
        if places > 1:
            notes.append(f"in {places} parts")
        if webmail:
            notes.append("to consumer webmail")
        if capped:
            notes.append("scan capped")
        return Finding(
            f"confidential.{category}.{volume}",
            f"confidential.{category}",
            round(score, 2),
            "; ".join(notes),
            first_location,
        )


def _in_ranges(prefix: str, ranges: Sequence[tuple[int, int, int]]) -> bool:
    return any(lo <= int(prefix[:n]) <= hi for n, lo, hi in ranges)


def mask(kind: str, value: str) -> str:
    """A few leading characters that identify nobody, then an ellipsis.

    UPN: check letter + LA code (an area, not a pupil); NI: the prefix letters; NHS: the issuing
    range; card: the scheme only; bank: the first two sort-code digits (the bank).
    """
    if kind == "upn":
        return value[:4] + "…"
    if kind == "ni":
        return value[:2] + "…"
    if kind == "nhs":
        return value[:3] + "…"
    if kind == "card":
        return value.partition(":")[0] + " …"
    return value[:2] + "-…"
