"""The offensive-language check's shortcuts change its cost, never its answer.

The lexicon's fast path (``Lexicon._clearly_clean``) may only say "nothing here" when the full
path finds nothing; it now also reads text with typographic characters (curly quotes, "£",
dashes, ellipses).  The identifier filter keeps only the alternatives a text can match, and
the model's data-token test runs in C: both must give exactly what they gave before.
"""

from __future__ import annotations

import random
import re

import pytest

from aupmilter.checks import CheckSettings
from aupmilter.checks.offensive.check import OffensiveCheck
from aupmilter.checks.offensive.lexicon import _IDENTIFIERS, Lexicon, _identifiers
from aupmilter.checks.offensive.model import _data_token
from aupmilter.config import load_config


@pytest.fixture(scope="module")
def check() -> OffensiveCheck:
    config = load_config(None)
    return OffensiveCheck(CheckSettings(config.rules_dir, {}, config, "test"))


def _full(lexicon: Lexicon, text: str, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    with monkeypatch.context() as m:
        m.setattr(lexicon, "_clearly_clean", lambda _text: False)
        return list(lexicon.scan(text))


def test_fast_path_never_hides_a_listed_word(check: OffensiveCheck, monkeypatch: pytest.MonkeyPatch) -> None:
    lexicon = check.lexicon
    listed = sorted(lexicon.words)[::7] + sorted(lexicon.phrases)[::5]
    clean = ["the", "trip", "Dick", "Whittington", "£12.50", "café", "coat", "cockerel", "class", "shire"]
    glue = [" ", " ", "’", "‘", "“", "”", " – ", "—", "…", "\xa0", "•", "·", "£", "€", "'", "-", ". ", "\n"]
    rng = random.Random(24)
    shortcut = 0
    for _ in range(6000):
        words = [rng.choice(listed if rng.random() < 0.3 else clean) for _ in range(rng.randint(1, 6))]
        text = "".join(w + rng.choice(glue) for w in words)
        if lexicon._clearly_clean(text):
            shortcut += 1
            assert _full(lexicon, text, monkeypatch) == [], text
    assert shortcut > 500  # the shortcut is taken, typography included
    assert lexicon._clearly_clean("The trip costs £12.50 – please don’t forget “wellies”…")
    for text in ("you are a f£cking idiot", "what a tw£t", "arse’£12", "£ick", "sh€t"):
        assert lexicon.scan(text) == _full(lexicon, text, monkeypatch), text


def test_identifier_filter_finds_the_same_spans() -> None:
    rng = random.Random(24)
    pieces = ["a", "B", "_", "@", ".", ":", "/", "www", "http", "https://", " ", "x1", "fooBar", "\n", "é", "ex.co.uk"]
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert _identifiers(text).sub(" ", text) == _IDENTIFIERS.sub(" ", text), text


def test_data_token_test_unchanged() -> None:
    def before(token: str) -> bool:
        lowered = token.lower()
        return lowered.startswith("0x") or (
            len(token) >= 7 and any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
        )

    rng = random.Random(24)
    for _ in range(20000):
        token = "".join(rng.choice("0xX7aé²٣_-") for _ in range(rng.randint(1, 10)))
        assert _data_token(token) == before(token), token
    assert re.fullmatch(r"x+", "x" * 50_000) and not _data_token("x" * 50_000)
