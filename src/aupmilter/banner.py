"""The visible phishing warning: a short banner at the *top* of the body of tagged inbound mail.

Issue 13: phishing cues "tag with a visible warning banner option".  Headers (``X-AUP-Findings``)
are invisible to the member of staff deciding whether to click; a line above the message is
what they read.  It is off unless a school is listed in ``[checks.phishing] banner_schools``,
because changing an inbound body breaks the sender's DKIM signature: enable it only where the
mailbox platform behind the gateway does not re-verify DKIM (or trusts the gateway's verdict).

The MIME surgery is :mod:`aupmilter.rewrite`'s, with the same rules as the disclaimer: only
the body text parts change (plain and HTML alternatives both), every other part is re-emitted
from its original bytes, charsets and transfer encodings are kept, format=flowed is respected,
and signed/encrypted or structurally ambiguous mail is left alone.  The difference is where the
text goes: first in a plain part, just after the ``<body>`` start tag in HTML.

When: the decision tags the message (transforms only run on accepted or tagged mail), it has
``phishing`` findings, the direction is inbound, and at least one recipient school that asked
for the banner would itself tag those findings under its own policy overlay (a school that set
phishing to ``accept`` does not get a banner because another school on the same message did).
A message already carrying the banner's first words near the top of a part is not bannered
again, so a second pass through the gateway adds nothing.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from email.message import Message
from html.parser import HTMLParser
from typing import TYPE_CHECKING

from aupmilter.checks.phishing import CATEGORY, PhishingOptions, load_rules, parse_options
from aupmilter.model import Action, AddHeader, Decision, Direction, Effect, Envelope
from aupmilter.policy import decide
from aupmilter.render import apply_effects
from aupmilter.rewrite import (
    body_parts,
    decode_part,
    edit_effects,
    flowed_safe,
    is_signed_or_encrypted,
    parse_for_surgery,
    parser_offset,
    set_text,
    structure_defects,
)

if TYPE_CHECKING:
    from aupmilter.config import Config
    from aupmilter.engine import Transform
    from aupmilter.message import MessageView

log = logging.getLogger("aupmilter.banner")

MARKER_HEADER = "X-AUP-Banner"
#: How far into a part to look for an existing banner (idempotence).
_LOOK = 2000


def build(config: Config, marker_key: object = None) -> list[Transform]:
    """The phishing check's transform (its ``SPEC.transforms``): the banner, when some school
    asked for it.  ``marker_key`` is the disclaimer's and unused here."""
    if not config.check_enabled("phishing"):
        return []
    options = parse_options(config.checks.get("phishing", {}), config)
    if not options.banner_schools:
        return []
    return [BannerTransform(config, options, load_rules(config.rules_dir).banner_text)]


class BannerTransform:
    def __init__(self, config: Config, options: PhishingOptions, text: str) -> None:
        self.config = config
        self.options = options
        self.text = text
        self.html = (
            '<div style="border:2px solid #b00020;background:#fff4f4;color:#000;padding:8px 12px;'
            'margin:0 0 12px 0;font-family:sans-serif;font-size:14px" role="alert">'
            f"<strong>{html.escape(text)}</strong></div>"
        )

    def wanted(self, envelope: Envelope, decision: Decision) -> bool:
        if envelope.direction is not Direction.INBOUND or decision.action is not Action.TAG:
            return False
        findings = [f for f in decision.findings if f.category == CATEGORY]
        if not findings:
            return False
        for domain in decision.schools:
            school = self.config.school_for_domain(domain)
            if school is None or school.domain not in self.options.banner_schools:
                continue
            if decide(findings, Direction.INBOUND, self.config, school).action is Action.TAG:
                return True
        return False

    def __call__(
        self,
        envelope: Envelope,
        message: MessageView,
        decision: Decision,
        effects: Sequence[Effect],
    ) -> Sequence[Effect]:
        if not self.wanted(envelope, decision):
            return []
        try:
            return prepend_banner(apply_effects(message.raw, effects), self.text, self.html)
        except Exception as exc:
            # The verdict header still marks the message; a banner that cannot be written must
            # not hold mail up.  No traceback: its text could quote message content.
            log.error(
                "queue_id=%s phishing banner failed (%s); delivered without it", envelope.queue_id, type(exc).__name__
            )
            return []


def prepend_banner(raw: bytes, text: str, markup: str) -> list[Effect]:
    """Effects putting the banner first in every body text part; ``[]`` when it cannot or need not."""
    msg, elided = parse_for_surgery(raw)
    if is_signed_or_encrypted(msg) or structure_defects(msg):
        return []
    marker = text[:40]
    targets = []
    for part in body_parts(msg):
        body, codec, _ = decode_part(part)
        if codec is None or html.unescape(body[:_LOOK]).find(marker) != -1:
            continue
        targets.append(part)
    if not targets:
        return []
    for part in targets:
        _prepend(part, text, markup)
    return [*edit_effects(raw, msg, elided), AddHeader(MARKER_HEADER, CATEGORY)]


def _prepend(part: Message, text: str, markup: str) -> None:
    body, codec, clean = decode_part(part)
    assert codec is not None  # filtered by the caller
    if part.get_content_type() == "text/html":
        at = body_start(body)
        new = body[:at] + markup + body[at:]
    else:
        flowed = str(part.get_param("format") or "").lower() == "flowed"
        nl = "\r\n" if "\r\n" in body else "\n"
        new = flowed_safe(text, flowed) + nl + nl + body
    set_text(part, new, codec, clean)


class _BodyStart(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.at: tuple[int, int, int] | None = None  # line, column, length of the tag
        self.head_end: tuple[int, int, int] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body" and self.at is None:
            line, col = self.getpos()
            self.at = (line, col, len(self.get_starttag_text() or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "head" and self.head_end is None:
            line, col = self.getpos()
            self.head_end = (line, col, len(f"</{tag}>"))


def body_start(markup: str) -> int:
    """Offset just after the real ``<body ...>`` start tag (tokenized: a ``<body>`` inside a
    comment does not count), else after ``</head>``, else 0."""
    finder = _BodyStart()
    try:
        finder.feed(markup)
        finder.close()
    except (AssertionError, ValueError):  # pragma: no cover - html.parser is very lenient
        return 0
    found = finder.at or finder.head_end
    if found is None:
        return 0
    line, col, length = found
    at = parser_offset(markup, line, col)
    if finder.head_end is found:
        return at + len(markup[at:].split(">", 1)[0]) + 1
    return at + length
