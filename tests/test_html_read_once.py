"""Each HTML part is tokenised once (:func:`aupmilter.htmltext.read_html`) and the link reader
replays the tokens: the visible text, the links and the HTML tricks must be exactly what the two
parsers that each fed the markup themselves gave.

The old parsers are kept here, as they were but for one later, deliberate change: of a repeated
attribute the first counts, as a browser reads it (``reversed`` below; the new path drops the
repeats in the tokens, ``aupmilter.htmltext.first_attributes``).  Both paths run over every .eml
under tests/, the benchmark corpus, and generated hostile HTML (broken and unclosed markup,
words split by tags, script and style bodies, entities, comments, CDATA, NUL bytes, upper-case
tags, unquoted attributes, a huge document).
"""

from __future__ import annotations

import random
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import pytest
from bench.corpus import build

from aupmilter.checks.phishing import features as pf
from aupmilter.checks.phishing.links import (
    _PLAIN_LINK,
    _PLAIN_URL,
    MAX_TEXT,
    Link,
    _Anchors,
    extract_links,
    html_sources,
)
from aupmilter.htmltext import HtmlRead, read_html, replay
from aupmilter.message import MessageView

TESTS = Path(__file__).parent

# --- the reference: the two parsers as they were (htmltext._TextCollector, features.HtmlScan,
# links._Anchors), each feeding the markup itself -------------------------------------------------

_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    ]
)
_INVISIBLE_TAGS = frozenset({"script", "style", "head", "title", "template", "noscript"})


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE_TAGS:
            self._hidden_depth += 1
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE_TAGS:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.chunks.append(data)


def reference_html_to_text(html: str) -> str:
    collector = _TextCollector()
    try:
        collector.feed(html)
        collector.close()
    except (AssertionError, ValueError):
        pass
    text = "".join(collector.chunks)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


class _HtmlScan(HTMLParser):
    HIDDEN = pf.HtmlScan.HIDDEN
    TINY = pf.HtmlScan.TINY

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []
        self.hidden_chars = 0
        self.visible_words = 0
        self.forms = 0
        self.scripts = 0
        self.iframes = 0
        self.base = 0
        self.refresh = 0
        self.images = 0
        self.tiny = 0
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in reversed(attrs)}
        style = values.get("style", "")
        hidden = bool(self.HIDDEN.search(style)) or "hidden" in values or (self.stack[-1] if self.stack else False)
        if self.TINY.search(style):
            self.tiny += 1
        if tag in ("script", "style", "title", "head"):
            self._skip += 1
            if tag == "script":
                self.scripts += 1
        elif tag == "form":
            self.forms += 1
        elif tag == "iframe":
            self.iframes += 1
        elif tag == "base" and values.get("href"):
            self.base += 1
        elif tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.refresh += 1
        elif tag == "img":
            self.images += 1
        if tag not in ("br", "img", "hr", "meta", "base", "input", "link", "area", "col", "wbr"):
            self.stack.append(hidden)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title", "head"):
            self._skip = max(0, self._skip - 1)
        if self.stack and tag not in ("br", "img", "hr", "meta", "base", "input", "link", "area", "col", "wbr"):
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self.stack and self.stack[-1]:
            self.hidden_chars += len(data.strip())
        else:
            self.visible_words += len(data.split())


class _OldAnchors(_HtmlScan):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.found: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        super().handle_starttag(tag, attrs)
        values = {k: v for k, v in dict(reversed(attrs)).items() if v is not None}
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
        super().close()
        self._close()

    def _close(self) -> None:
        if self._href is not None:
            self._add(self._href, "".join(self._text))
        self._href, self._text = None, []

    def _add(self, href: str, text: str) -> None:
        if len(self.found) < self.limit:
            self.found.append((href.strip(), " ".join(text.split())[:300]))


_COUNTED = ("hidden_chars", "visible_words", "forms", "scripts", "iframes", "base", "refresh", "images", "tiny")


def reference_anchors(html: str, limit: int) -> tuple[list[tuple[str, str]], tuple[int, ...]]:
    parser = _OldAnchors(limit)
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):
        pass
    return parser.found, tuple(getattr(parser, name) for name in _COUNTED)


def reference_extract_links(message: MessageView, limit: int, counts: pf.HtmlCounts) -> list[Link]:
    """``extract_links`` as it was: a parser of its own over each HTML part."""
    links: list[Link] = []
    for location, markup in html_sources(message):
        parser = _OldAnchors(limit - len(links))
        try:
            parser.feed(markup)
            parser.close()
        except (AssertionError, ValueError):
            pass
        counts.present = True
        for name in _COUNTED:
            setattr(counts, name, getattr(counts, name) + getattr(parser, name))
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


class _ReferenceView(MessageView):
    """The view with each HTML part's text from the old collector (no tokens kept)."""

    def html(self, markup: str) -> HtmlRead:
        return HtmlRead(reference_html_to_text(markup), [])


# --- the inputs ---------------------------------------------------------------------------------


@cache
def eml_files() -> list[Path]:
    return sorted(TESTS.rglob("*.eml"))


@cache
def corpus_files(tmp: Path) -> list[Path]:
    return [path for path, _ in build(tmp).values()]


_FRAGMENTS = [
    "<b>f</b>uck",
    "sh<i>i</i>t",
    "<p>",
    "</p>",
    "<P CLASS=x>",
    "<BR>",
    "<br/>",
    "<br />",
    "<hr/>",
    "<div>",
    "</DIV>",
    "<a href=http://evil.test/login>",
    '<a href="https://bank.test/">',
    "<A HREF='http://x.test/a?b=1&amp;c=2'>",
    "<a>",
    "<a href>",
    "</a>",
    "<a href=http://self.test/ />",
    '<area href="http://area.test/" alt="Your bank">',
    "<area href=http://noalt.test/>",
    '<form action="http://harvest.test/post">',
    "<form>",
    "</form>",
    '<img src=x alt="Click here">',
    "<img alt=unquoted>",
    "<img/>",
    "<script>",
    "</script>",
    "<script>var a = '<a href=http://in.script/>x</a>';</script>",
    "<style>p { color: red }</style>",
    "<STYLE>",
    "</Style>",
    "<title>Title words</title>",
    "<head>",
    "</head>",
    "<template>t</template>",
    "<noscript>n</noscript>",
    "<span style='display:none'>hidden words</span>",
    '<span style="font-size:1px">tiny</span>',
    '<div style="opacity:0">o</div>',
    "<p hidden>h</p>",
    "<iframe src=http://frame.test/></iframe>",
    "<base href=http://base.test/>",
    '<meta http-equiv="Refresh" content="0;url=http://r.test/">',
    "<input type=password>",
    "&#102;",
    "&#x66;",
    "&amp;",
    "&amp",
    "&nbsp;",
    "&#0;",
    "&#128;",
    "&bogus;",
    "&",
    "<!-- a comment -->",
    "<!-- unclosed comment",
    "<![CDATA[ cdata <b>x</b> ]]>",
    "<!DOCTYPE html>",
    "<?xml version='1.0'?>",
    "<!bogus>",
    "\x00",
    "a\x00b",
    "<b\x00>",
    "<",
    ">",
    "</",
    "< p>",
    "<p",
    '<a href="unterminated',
    "<a href='x' href='y'>",
    "<td>cell</td>",
    "<table><tr><td>",
    "<li>item",
    "\n",
    "   ",
    "\t",
    "\u00a0",
    "\u200b",
    "Click here to verify",
    "password",
    "words and more words",
    "Ünïcödé текст 日本語",
    "http://plain.test/url",
]


def _hostile_documents() -> list[str]:
    rng = random.Random(24)
    docs = list(_FRAGMENTS)
    for _ in range(3000):
        parts = rng.choices(_FRAGMENTS, k=rng.randint(1, 40))
        doc = "".join(parts)
        if rng.random() < 0.3:  # cut anywhere: mid-tag, mid-entity, mid-comment
            doc = doc[: rng.randint(0, len(doc))]
        if rng.random() < 0.2:
            doc = doc.upper()
        docs.append(doc)
    unit = "".join(_FRAGMENTS)
    docs.append(unit * (1_000_000 // len(unit)))  # huge
    docs.append("<a href=http://many.test/>x</a>" * 5000)  # more anchors than any limit
    docs.append("<div>" * 50_000 + "deep" + "</div>" * 10)  # unclosed nesting
    return docs


HOSTILE = _hostile_documents()


def _markups(paths: list[Path]) -> list[tuple[str, str]]:
    out = []
    for path in paths:
        view = MessageView(path.read_bytes())
        out += [(f"{path.name}:{location}", markup) for location, markup in html_sources(view)]
    return out


# --- the comparisons ----------------------------------------------------------------------------


def _new_anchors(html: str, limit: int) -> tuple[list[tuple[str, str]], tuple[int, ...]]:
    read = read_html(html)
    anchors = _Anchors(limit)
    replay(read, anchors)
    if read.complete:
        anchors.close()
    return anchors.found, tuple(getattr(anchors, name) for name in _COUNTED)


def _assert_same(label: str, html: str) -> None:
    assert read_html(html).text == reference_html_to_text(html), label
    for limit in (1, 3, 500):
        assert _new_anchors(html, limit) == reference_anchors(html, limit), (label, limit)
    counts = pf.scan_html([html])
    old = reference_anchors(html, 0)[1]
    assert tuple(getattr(counts, name) for name in _COUNTED) == old, label


def test_there_are_html_fixtures() -> None:
    assert len(eml_files()) > 500
    assert len(_markups(eml_files())) > 100


def test_fixture_html_reads_as_before() -> None:
    for label, markup in _markups(eml_files()):
        _assert_same(label, markup)


def test_benchmark_corpus_html_reads_as_before(tmp_path_factory: pytest.TempPathFactory) -> None:
    markups = _markups(corpus_files(tmp_path_factory.mktemp("corpus")))
    assert markups
    for label, markup in markups:
        _assert_same(label, markup)


@pytest.mark.parametrize("chunk", range(4))
def test_hostile_html_reads_as_before(chunk: int) -> None:
    for i, html in enumerate(HOSTILE[chunk::4]):
        _assert_same(f"hostile {chunk}:{i} {html[:200]!r}", html)


def test_hostile_markup_is_covered() -> None:
    """The generated documents reach the cases the old parsers handled differently from a naive
    reader: links with and without text, forms, areas, hidden and tiny text, scripts."""
    totals = [0] * len(_COUNTED)
    anchors = 0
    for html in HOSTILE[:-3]:
        found, counts = reference_anchors(html, 500)
        anchors += len(found)
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
    assert anchors > 1000
    assert all(totals), dict(zip(_COUNTED, totals, strict=True))


def _paths(tmp: Path) -> list[Path]:
    return eml_files() + corpus_files(tmp)


def test_messages_read_as_before(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Text parts, links (at several limits, read before and after the walk) and counts."""
    for path in _paths(tmp_path_factory.mktemp("corpus")):
        raw = path.read_bytes()
        old = _ReferenceView(raw)
        expected_parts = [(p.text, p.content_type, p.location, p.charset) for p in old.text_parts]
        for limit in (1, 7, 500):
            links_first = MessageView(raw)
            counts, old_counts = pf.HtmlCounts(), pf.HtmlCounts()
            assert extract_links(links_first, limit, counts) == reference_extract_links(old, limit, old_counts), (
                path,
                limit,
            )
            assert counts == old_counts, path
            assert [(p.text, p.content_type, p.location, p.charset) for p in links_first.text_parts] == expected_parts
        walked_first = MessageView(raw)
        assert [(p.text, p.content_type, p.location, p.charset) for p in walked_first.text_parts] == expected_parts
        assert extract_links(walked_first, 500) == reference_extract_links(old, 500, pf.HtmlCounts()), path


def test_an_html_part_is_tokenised_once(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The walk and the link reader share one read of each HTML part."""
    path = next(p for p in corpus_files(tmp_path_factory.mktemp("corpus")) if p.name == "html_alt_12k.eml")
    view = MessageView(path.read_bytes())
    assert [p.content_type for p in view.text_parts] == ["text/plain", "text/html"]
    (read,) = view._html.values()
    ((_, markup),) = list(html_sources(view))
    assert view.html(markup) is read
    extract_links(view, 500, pf.HtmlCounts())
    assert list(view._html.values()) == [read]
