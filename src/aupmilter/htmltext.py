"""An HTML part read once: the visible text, and the tokens for readers that need more.

Checks must read what a person sees, not markup: ``<b>f</b>uck`` must read as one word, script
and style bodies are not text, and entities (``&#102;``) are decoded.  The stdlib parser is used
because it never raises on broken markup, which hostile mail is full of.

Tokenising is most of the cost of reading HTML, and more than one reader needs it: content
checks want the visible text, the phishing check the links and the hidden-text tricks.  So the
part is tokenised once (:func:`read_html`): the visible text is collected as it goes, and the
tokens are kept (:class:`HtmlRead`), for other readers to :func:`replay` through the same
``handle_*`` methods an :class:`html.parser.HTMLParser` subclass would have, seeing exactly the
calls they would have seen feeding it the markup themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser

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

#: Token kinds: ``(START, tag, attrs)``, ``(END, tag, [])``, ``(STARTEND, tag, attrs)``,
#: ``(DATA, text, [])``.
START, END, STARTEND, DATA = range(4)
Attrs = list[tuple[str, str | None]]
Token = tuple[int, str, Attrs]
_NO_ATTRS: Attrs = []


def first_attributes(attrs: Attrs) -> Attrs:
    """A tag's attributes as a browser keeps them: of a repeated attribute the first counts and
    the rest are dropped (the HTML tokeniser's "duplicate-attribute" rule).  The stdlib parser
    keeps them all, and every reader here makes a ``dict`` of them, which keeps the last: so
    ``<a href="https://evil.test/" href="https://school.test/">`` was read as the school's link
    while the browser opens the other (a way round the phishing check's link reading; a repeated
    ``style`` the same way round its hidden-text count).  Done once, in the tokens every reader
    replays."""
    if len(attrs) < 2 or len({name for name, _ in attrs}) == len(attrs):
        return attrs  # nothing repeated: most tags
    seen: set[str] = set()
    kept: Attrs = []
    for name, value in attrs:
        if name not in seen:
            seen.add(name)
            kept.append((name, value))
    return kept


class TokenReader:
    """A reader of replayed tokens: the ``handle_*`` methods of :class:`html.parser.HTMLParser`
    that the readers here use, doing nothing unless overridden; as in the stdlib, a
    self-closing tag (``<br/>``) is a start tag then an end tag unless
    :meth:`handle_startendtag` is overridden."""

    def handle_starttag(self, tag: str, attrs: Attrs) -> None:
        pass

    def handle_startendtag(self, tag: str, attrs: Attrs) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        pass

    def handle_data(self, data: str) -> None:
        pass


@dataclass(frozen=True, slots=True)
class HtmlRead:
    """One HTML document read: ``text`` is what a person sees (block elements separated by
    newlines), ``tokens`` what the tokeniser produced, in order, shared by every reader (which
    must not change them).  ``complete`` is false when the parser gave up part-way (the stdlib
    parser is lenient: belt and braces); the tokens then stop there, and a reader must not treat
    the end of them as the end of the document (an unclosed ``<a>`` is not closed by it)."""

    text: str
    tokens: list[Token]
    complete: bool = True


class _Tokeniser(HTMLParser):
    """Keeps every token, and collects the visible text as it goes (every reader needs it)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[Token] = []
        self.chunks: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: Attrs) -> None:
        self.tokens.append((START, tag, first_attributes(attrs)))
        if tag in _INVISIBLE_TAGS:
            self._hidden_depth += 1
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_startendtag(self, tag: str, attrs: Attrs) -> None:
        self.tokens.append((STARTEND, tag, first_attributes(attrs)))
        if tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        self.tokens.append((END, tag, _NO_ATTRS))
        if tag in _INVISIBLE_TAGS:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        self.tokens.append((DATA, data, _NO_ATTRS))
        if not self._hidden_depth:
            self.chunks.append(data)


def read_html(html: str) -> HtmlRead:
    """Tokenise ``html`` once: its visible text, and its tokens for :func:`replay`."""
    tokeniser = _Tokeniser()
    complete = True
    try:
        tokeniser.feed(html)
        tokeniser.close()
    except (
        AssertionError,
        ValueError,
    ):  # pragma: no cover - HTMLParser is lenient; belt and braces
        complete = False
    text = "".join(tokeniser.chunks)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return HtmlRead("\n".join(line for line in lines if line), tokeniser.tokens, complete)


def replay(read: HtmlRead, reader: TokenReader) -> None:
    """Hand ``reader`` the tokens of ``read`` in order, as the parser handed them out."""
    start, end, startend, data = (
        reader.handle_starttag,
        reader.handle_endtag,
        reader.handle_startendtag,
        reader.handle_data,
    )
    for kind, value, attrs in read.tokens:
        if kind == DATA:
            data(value)
        elif kind == START:
            start(value, attrs)
        elif kind == END:
            end(value)
        else:
            startend(value, attrs)
