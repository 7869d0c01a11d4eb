"""Antivirus: every decoded attachment and body part goes to the scanner daemon (clamd).

Configured in the site's ``[antivirus]`` section (see :mod:`aupmilter.antivirus` for the
protocol).  An infected part is a finding ``virus.<signature>`` (category ``virus``) with the
signature as evidence; the policy rows in ``rules/policy.d/antivirus.toml`` decide (block
outbound, quarantine inbound).  Archives and documents are sent whole — clamd unpacks them with
its own limits — so a virus three zips deep is found by the scanner as well as by our walk.

When the scanner cannot answer, ``failure_action`` decides: ``tempfail`` (default) raises
:class:`~aupmilter.antivirus.ScannerUnavailable` out of the engine, so the milter answers 451
and Postfix retries later; ``policy`` records ``antivirus.unavailable`` and lets the policy rows
decide.  Never a silent accept.  Parts over ``max_scan_bytes`` (or past ``max_parts``) are not
sent and are recorded as ``antivirus.skipped``.

Content-blind in the sealing sense (no person reads anything), so it also scans sealed
Personal mail.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from email.message import Message
from typing import ClassVar

from aupmilter import antivirus
from aupmilter.antivirus import Observation, ScanError, ScannerUnavailable
from aupmilter.checks import CheckSettings, CheckSpec
from aupmilter.message import MessageView
from aupmilter.model import Envelope, Finding

#: Signature names become rule ids: keep them printable and bounded.
_SIGNATURE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:")


class AntivirusCheck:
    name: ClassVar[str] = "antivirus"

    def __init__(self, settings: CheckSettings) -> None:
        av = settings.config.antivirus
        self.settings = av
        self.scanner = antivirus.connect(av.scanner, av.socket, av.connect_timeout_seconds, av.scan_timeout_seconds)

    def run(self, envelope: Envelope, message: MessageView) -> Iterable[Finding]:
        findings: list[Finding] = []
        for n, (label, location, data) in enumerate(_parts(message)):
            if not data:
                continue
            if n >= self.settings.max_parts or len(data) > self.settings.max_scan_bytes:
                why = "too many parts" if n >= self.settings.max_parts else f"{len(data)} bytes"
                antivirus.record(Observation("skipped", 0.0, "skipped"))
                findings.append(
                    Finding("antivirus.skipped", "antivirus.skipped", 1.0, f"{label}: not scanned ({why})", location)
                )
                continue
            started = time.perf_counter()
            try:
                signature = self.scanner.scan(data)
            except ScanError as exc:
                antivirus.record(Observation("error", time.perf_counter() - started, exc.kind))
                if self.settings.failure_action == "tempfail":
                    raise ScannerUnavailable(f"{self.scanner.name}: {exc}") from None
                findings.append(
                    Finding("antivirus.unavailable", "antivirus.unavailable", 1.0, f"{label}: {exc.kind}", location)
                )
                continue
            elapsed = time.perf_counter() - started
            if signature is None:
                antivirus.record(Observation("clean", elapsed))
                continue
            antivirus.record(Observation("infected", elapsed))
            clean = "".join(c if c in _SIGNATURE_CHARS else "_" for c in signature)[:120]
            findings.append(Finding(f"virus.{clean}", "virus", 1.0, f"{label}: {clean}", location))
        return findings


def _parts(message: MessageView) -> Iterator[tuple[str, str, bytes]]:
    """(label for evidence, location, decoded bytes): attachments, then text bodies as sent
    (HTML before it is turned into text: scanners have HTML and script signatures)."""
    for n, attachment in enumerate(message.attachments):
        yield attachment.filename or f"(unnamed part {n + 1})", attachment.location, attachment.data
    for n, part in enumerate(_text_bodies(message.msg, message.max_parts, message.max_depth)):
        try:
            payload = part.get_payload(decode=True)
        except Exception:
            continue
        if isinstance(payload, bytes) and payload.strip():
            yield f"body part {n + 1} ({part.get_content_type()})", "body", payload


def _text_bodies(msg: Message, max_parts: int, max_depth: int) -> Iterator[Message]:
    """Text leaves, walked iteratively within the view's bounds (hostile nesting is deep)."""
    stack: list[tuple[Message, int]] = [(msg, 0)]
    seen = 0
    while stack and seen < max_parts:
        part, depth = stack.pop()
        seen += 1
        if part.is_multipart():
            children = part.get_payload()
            if isinstance(children, list) and depth < max_depth:
                stack.extend((c, depth + 1) for c in reversed(children) if isinstance(c, Message))
            continue
        if part.get_content_maintype() != "text":
            continue
        try:
            if part.get_filename() is not None or part.get_content_disposition() == "attachment":
                continue  # already scanned as an attachment
        except Exception:
            continue
        yield part


SPEC = CheckSpec(
    summary="Every decoded part sent to clamd (configured in [antivirus], off by default).",
    factory=AntivirusCheck,
    reads_content=False,
    order=30,
    emits={
        "virus.*": "clamd found a virus; the last part is the signature name.",
        "antivirus.skipped": "A part was not scanned (too large, too many parts).",
        "antivirus.unavailable": "The scanner failed and [antivirus] failure_action = policy.",
    },
)
