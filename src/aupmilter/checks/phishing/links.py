"""Every link in a message: ``<a>``/``<area>``/``<form>`` targets with their visible text from the
HTML parts (read from the parsed tree: the text view has lost the hrefs; the tokens are the ones
the view read the visible text from, replayed), and URLs in plain text (Outlook's
``text <https://target/>`` keeps its text)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message

import regex

from aupmilter.checks.phishing import features as pf
from aupmilter.htmltext import replay
from aupmilter.message import MessageView

MAX_TEXT = 200_000
MAX_HTML = 2_000_000
_PLAIN_URL = regex.compile(r"https?://[^\s<>\"'\])]+", regex.IGNORECASE)
#: Outlook's plain-text rendering of a link: ``text <https://target/>``.
_PLAIN_LINK = regex.compile(r"(?P<text>[^\s<>]+)[ \t]*<(?P<url>https?://[^\s<>]+)>", regex.IGNORECASE)


@dataclass(frozen=True)
class Link:
    """One link: target, the visible text (``""`` for a bare URL or a form), where it was found."""

    href: str
    text: str
    location: str


def html_sources(message: MessageView, root_type: str | None = None) -> Iterator[tuple[str, str]]:
    """``(location, html)`` for each inline text/html part, decoded.

    :class:`MessageView` hands checks the *visible* text of HTML parts; link targets are gone by
    then, so this walks the already-parsed tree (``message.msg``, never re-parsing the bytes)
    with the same part and depth limits the view uses.  ``root_type``: the message's own
    ``get_content_type()`` when the caller has it (the header parser takes tens of microseconds
    per call)."""
    stack: list[tuple[Message, str, int]] = [(message.msg, "", 0)]
    seen = 0
    budget = MAX_HTML
    while stack and budget > 0:
        part, prefix, depth = stack.pop()
        seen += 1
        if seen > message.max_parts or depth > message.max_depth:
            break
        try:
            ctype = root_type if root_type is not None and part is message.msg else part.get_content_type()
            if part.is_multipart():
                children = part.get_payload()
                nested = f"{prefix}message/" if ctype.startswith("message/") else prefix
                if isinstance(children, list):
                    stack.extend((c, nested, depth + 1) for c in reversed(children) if isinstance(c, Message))
                continue
            if ctype != "text/html" or part.get_content_disposition() == "attachment" or part.get_filename():
                continue
            data = part.get_payload(decode=True)
            charset = part.get_content_charset() or "us-ascii"
        except Exception:  # hostile headers: the view records the defect; links are best effort
            continue
        if not isinstance(data, bytes):
            continue
        try:
            text = data.decode(charset, errors="replace")
        except (LookupError, ValueError):
            text = data.decode("utf-8", errors="replace")
        text = text[:budget]
        budget -= len(text)
        yield (f"{prefix}body", text)


class _Anchors(pf.HtmlScan):
    """Collects ``<a href>`` / ``<area href>`` targets with their visible text, and form actions,
    and (in the same parse) counts the HTML tricks the phishing model reads."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.found: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        super().handle_starttag(tag, attrs)
        values = {k: v for k, v in attrs if v is not None}
        if tag in ("script", "style"):
            self._hidden += 1
        elif tag == "a":
            self._close()
            if "href" in values:
                self._href, self._text = values["href"], []
        elif tag == "area" and "href" in values:
            self._add(values["href"], values.get("alt", ""))
        elif tag == "form" and "action" in values:
            self._add(values["action"], "")
        elif tag == "img" and self._href is not None:
            self._text.append(" " + values.get("alt", "") + " ")

    def handle_endtag(self, tag: str) -> None:
        super().handle_endtag(tag)
        if tag in ("script", "style"):
            self._hidden = max(0, self._hidden - 1)
        elif tag == "a":
            self._close()

    def handle_data(self, data: str) -> None:
        super().handle_data(data)
        if self._href is not None and not self._hidden:
            self._text.append(data)

    def close(self) -> None:
        """The end of the document closes an open ``<a>``."""
        self._close()

    def _close(self) -> None:
        if self._href is not None:
            self._add(self._href, "".join(self._text))
        self._href, self._text = None, []

    def _add(self, href: str, text: str) -> None:
        if len(self.found) < self.limit:
            self.found.append((href.strip(), " ".join(text.split())[:300]))


def extract_links(
    message: MessageView, limit: int = 500, counts: pf.HtmlCounts | None = None, root_type: str | None = None
) -> list[Link]:
    """Every link in the HTML parts (with visible text) and the plain-text parts; ``counts``,
    when given, gets the HTML tricks counted in the same parse (``root_type``: see
    :func:`html_sources`)."""
    links: list[Link] = []
    for location, markup in html_sources(message, root_type):
        parser = _Anchors(limit - len(links))
        read = message.html(markup)
        replay(read, parser)
        if read.complete:
            parser.close()
        if counts is not None:
            counts.add(parser)
        links += [Link(href, text, location) for href, text in parser.found]
        if len(links) >= limit:
            return links
    for part in message.text_parts:
        if part.content_type != "text/plain":
            continue
        text = part.text[:MAX_TEXT]
        labelled: set[str] = set()
        for m in _PLAIN_LINK.finditer(text):
            labelled.add(m.group("url"))
            links.append(Link(m.group("url"), m.group("text"), part.location))
        links += [Link(u, "", part.location) for u in _PLAIN_URL.findall(text) if u not in labelled]
        if len(links) >= limit:
            break
    return links[:limit]
