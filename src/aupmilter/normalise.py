"""Text normalisation for word matching: see through obfuscation, never invent words.

1. HTML entities decoded (``&#102;uck``); Unicode NFKC (fullwidth and styled letters);
   zero-width and bidi controls removed (``f\\u200buck``);
2. letter-by-letter spellings (``f u c k``, ``f.u.c.k``, ``f-u-c-k``) joined into one word;
3. tokens: runs of letters, digits and the symbols people use as letters (``@ $ ! * 1 3 0``);
   each is case-folded, look-alike letters mapped to Latin (Cyrillic ``а`` → ``a``), accents
   stripped, and leetspeak mapped (``sh1t`` → ``shit``, ``b!tch`` → ``bitch``, ``@ss`` → ``ass``);
4. repeated letters are offered collapsed on demand (``fuuuck`` → ``fuck``).

Tokens keep their original spelling and position, so a check can tell the name ``Dick`` in
"Dick and his cat" from the word.  Matching happens on whole tokens (checks/offensive.py),
which is what keeps Scunthorpe, Penistone, Cockermouth, cocktail and assess from matching.
Plain ASCII text takes a fast path through every step.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from itertools import chain
from typing import NamedTuple, overload

import regex

# (code points listed, no Unicode property: the stdlib engine reads it alike, and faster)
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad\u180e\u034f]")
_CONFUSABLES = str.maketrans(
    {
        # Cyrillic
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "ѕ": "s",
        "ԁ": "d",
        "ԛ": "q",
        "ԝ": "w",
        "ɡ": "g",
        "ɑ": "a",
        "օ": "o",
        "Ɩ": "l",
        "ʏ": "y",
        "ᴄ": "c",
        "һ": "h",
        "ո": "n",
        "ս": "u",
        "г": "r",
        "п": "n",
        "ь": "b",
        # Greek
        "α": "a",
        "β": "b",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "γ": "y",
        "μ": "u",
        "ω": "w",
        "ς": "s",
        "σ": "o",
        # Latin look-alikes
        "ƒ": "f",
        "ß": "ss",
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ı": "i",
        "ſ": "s",
    }
)
_LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "9": "g",
        "$": "s",
        "@": "a",
        "!": "i",
        "|": "l",
        "+": "t",
        "€": "e",
        "£": "l",
    }
)
_TOKEN = regex.compile(r"[\p{L}\p{N}@$!*|+€£]+")
_SPACED = regex.compile(r"(?<![\p{L}\p{N}])(?:[\p{L}\p{N}@$!*][ .\-_~·•/\\]{1,2}){2,}[\p{L}\p{N}@$!*](?![\p{L}\p{N}])")
_SPACED_SEPARATORS = regex.compile(r"[ .\-_~·•/\\]")
#: One character between two separators: the second letter of every spaced-out word.
_SPACED_MIDDLE = regex.compile(r"[ .\-_~·•/\\][\p{L}\p{N}@$!*][ .\-_~·•/\\]")
#: :data:`_SPACED` and :data:`_SPACED_MIDDLE` for ASCII text (the same matches there), in the
#: stdlib engine; the middle matches its first separator only (the rest a look-ahead), so
#: successive matches start at every place ``overlapped`` finds.
_SPACED_ASCII = re.compile(r"(?<![A-Za-z0-9])(?:[A-Za-z0-9@$!*][ .\-_~/\\]{1,2}){2,}[A-Za-z0-9@$!*](?![A-Za-z0-9])")
_SPACED_MIDDLE_ASCII = re.compile(r"[ .\-_~/\\](?=[A-Za-z0-9@$!*][ .\-_~/\\])")
_APOSTROPHE = regex.compile(r"(?<=\p{L})['’](?=\p{L})")
_REPEATS = regex.compile(r"(\p{L})\1+")
#: token as written -> its folded text (none for a number or only leet signs), see :func:`tokens`
_TEXT_MEMO: dict[str, tuple[str, ...]] = {}
MEMO_SIZE = 100_000  # most tokens :data:`_TEXT_MEMO` keeps before it starts again


class Token(NamedTuple):
    """One token of prepared text.  (A named tuple, as :class:`~.checks.offensive.hate.Word`:
    a letter has a thousand tokens, and a frozen dataclass's ``__init__`` costs a microsecond.)"""

    text: str  # folded, Latin, leet-mapped: what is looked up
    raw: str  # as written, case kept
    start: int  # offset in the prepared text


def to_latin(text: str) -> str:
    """Look-alike letters (Cyrillic, Greek, Latin extensions) mapped to the Latin ones they
    render as; the one table every check that compares what people *see* uses."""
    return text.translate(_CONFUSABLES)


def prepare(text: str) -> str:
    """Step 1-2: entities, NFKC, invisible characters, spaced-out words joined."""
    if "&" in text:
        text = html.unescape(text)
    if not text.isascii():
        text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    if "'" in text or "’" in text:
        text = _APOSTROPHE.sub("", text)  # you're / youre / you’re all read alike
    if (
        spaced_somewhere(_SPACED_ASCII, _SPACED_MIDDLE_ASCII, text)
        if text.isascii()
        else spaced_somewhere(_SPACED, _SPACED_MIDDLE, text)
    ):
        text = _SPACED.sub(lambda m: _SPACED_SEPARATORS.sub("", m.group()), text)
    return text


def spaced_somewhere(
    spaced: regex.Pattern[str] | re.Pattern[str], middle: regex.Pattern[str] | re.Pattern[str], text: str
) -> bool:
    """``spaced.search(text) is not None``, without trying the pattern at every position.

    ``spaced`` is a spaced-out-word pattern, ``(?:C S{1,2}){2,} C`` with look-arounds; every
    match has a second character C with a separator S either side, which ``middle``
    (``S C S``) finds; the match starts one or two characters before that ``S C S``.  Trying
    ``spaced.match`` just there (a few dozen places in a letter, where ``search`` tries six
    thousand) gives the same yes or no: the look-behind still sees the text before."""
    # A stdlib ``middle`` matches one character (the rest is a look-ahead): matches overlap already.
    found = middle.finditer(text) if isinstance(middle, re.Pattern) else middle.finditer(text, overlapped=True)
    for m in found:
        q = m.start()
        if q >= 1 and spaced.match(text, q - 1):
            return True
        if q >= 2 and spaced.match(text, q - 2):
            return True
    return False


def fold(raw: str) -> str:
    """Step 3 for one token."""
    if raw.isascii():
        low = raw.lower()
    else:
        low = to_latin(raw.casefold())
        if not low.isascii():
            low = "".join(c for c in unicodedata.normalize("NFD", low) if unicodedata.category(c) != "Mn")
    if low.isalpha() or low.isdigit():
        return low
    return low.translate(_LEET)


class TokenView(Sequence[Token]):
    """:func:`tokens` of ``text``, with each :class:`Token` made only when it is read.

    A check that looks every word up but needs the spelling and place of only the few that
    are listed (the word lists: a thousand tokens a letter, a handful listed) reads ``texts``
    and indexes just those; ``view[i] == tokens(text)[i]`` for every ``i``."""

    def __init__(self, text: str) -> None:
        memo = _TEXT_MEMO
        if len(memo) > MEMO_SIZE:
            memo.clear()
        found: list[tuple[re.Match[str] | regex.Match[str], str]] = []
        append = found.append
        for m in (_ASCII_TOKEN if text.isascii() else _TOKEN).finditer(text):
            raw = m.group()
            folded = memo[raw] if raw in memo else _token_text(raw)
            if folded:  # (not a number, not only leet signs)
                append((m, folded[0]))
        self._found = found
        #: every token's folded text, as :func:`token_texts` gives them
        self.texts = [text for _, text in found]

    def __len__(self) -> int:
        return len(self._found)

    @overload
    def __getitem__(self, index: int) -> Token: ...

    @overload
    def __getitem__(self, index: slice) -> list[Token]: ...

    def __getitem__(self, index: int | slice) -> Token | list[Token]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._found)))]
        m, folded = self._found[index]
        raw = m.group()
        core = raw.strip("!*|") if raw[-1] in "!*|" or raw[0] in "!*|" else raw
        return Token(folded, core, m.start())


def tokens(text: str) -> list[Token]:
    """Tokens of already-prepared text (each distinct token folded once per process)."""
    out: list[Token] = []
    append = out.append
    memo = _TEXT_MEMO
    if len(memo) > MEMO_SIZE:
        memo.clear()
    for m in _TOKEN.finditer(text):
        raw = m.group()
        folded = memo.get(raw)
        if folded is None:
            folded = _token_text(raw)
        if folded:  # (not a number, not only leet signs)
            core = raw.strip("!*|") if raw[-1] in "!*|" or raw[0] in "!*|" else raw
            append(Token(folded[0], core, m.start()))
    return out


#: :data:`_TOKEN` on ASCII text (the same tokens there), in the stdlib engine: twice as fast.
_ASCII_TOKEN = re.compile(r"[A-Za-z0-9@$!*|+]+")


def token_texts(text: str) -> list[str]:
    """``[t.text for t in tokens(text)]``, each distinct token folded once per process (a
    check that only looks words up needs neither their spelling nor their place)."""
    memo = _TEXT_MEMO
    raws = _ASCII_TOKEN.findall(text) if text.isascii() else _tokens_by_lines(text)
    try:
        return list(chain.from_iterable(map(memo.__getitem__, raws)))
    except KeyError:
        if len(memo) > MEMO_SIZE:
            memo.clear()
        return list(chain.from_iterable(memo[raw] if raw in memo else _token_text(raw) for raw in raws))


def _tokens_by_lines(text: str) -> list[str]:
    """The raw tokens of text that is not all ASCII: its ASCII lines (most, in English mail)
    found by the stdlib engine, the others by ``regex``.  No token spans a line break."""
    out: list[str] = []
    group: list[str] = []
    group_ascii = True
    for line in text.splitlines():
        ascii_line = line.isascii()
        if group and ascii_line != group_ascii:
            out += (_ASCII_TOKEN if group_ascii else _TOKEN).findall("\n".join(group))
            group = []
        group.append(line)
        group_ascii = ascii_line
    if group:
        out += (_ASCII_TOKEN if group_ascii else _TOKEN).findall("\n".join(group))
    return out


def _token_text(raw: str) -> tuple[str, ...]:
    """What :func:`tokens` makes of one token, memoised: its folded text, or nothing (a
    number, or only leet signs)."""
    out: tuple[str, ...] = ()
    if raw.isalpha() and raw.isascii():
        out = (raw.lower(),)
    else:
        core = raw.strip("!*|") if raw[-1] in "!*|" or raw[0] in "!*|" else raw
        if core and not core.isdigit():
            out = (fold(core),)
    _TEXT_MEMO[raw] = out
    return out


def normalise_text(text: str) -> str:
    """The whole text folded (for callers that need one string, e.g. the model's features)."""
    return " ".join(t.text for t in tokens(prepare(text)))


def variants(token: str) -> tuple[str, ...]:
    """The token and its repeated-letter collapses (``fuuuck`` → ``fuuck``/``fuck``)."""
    if not _REPEATS.search(token):
        return (token,)
    two = _REPEATS.sub(lambda m: m.group(1) * min(2, len(m.group())), token)
    one = _REPEATS.sub(lambda m: m.group(1), token)
    return tuple(dict.fromkeys((token, two, one)))
