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

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from aupmilter.checks import CheckSettings
from aupmilter.checks.confidential.identifiers import identifier_prefix
from aupmilter.checks.confidential.rules import CATEGORY, KINDS, load_rules
from aupmilter.checks.confidential.scanner import Scanner, Source, Tally
from aupmilter.extraction.bounds import TextLimits
from aupmilter.extraction.text import attachment_text
from aupmilter.message import MessageView
from aupmilter.model import Direction, Envelope, Finding, domain_of

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


class ConfidentialCheck:
    name: ClassVar[str] = "confidential"

    def __init__(self, settings: CheckSettings) -> None:
        self.rules = load_rules(settings.rules_dir)
        limits = self.rules.limits
        self.text_limits = TextLimits(
            limits.max_attachment_bytes, limits.max_extracted_chars, limits.max_xml_bytes, limits.max_pdf_pages
        )
        self.scanner = Scanner(self.rules.kinds, limits.max_distinct)

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
        return self.scanner.scan(sources)

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
        notes = [f"{label} {identifier_prefix(kind, first_value)}(x{count}{'+' if tally.capped else ''})"]
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
