"""Evidence text for findings: one line, bounded, quotes normalised.

Cue-based checks (chain letters, phishing) match phrases over flattened text and quote what
they matched as evidence; both need the same flattening (so typographic apostrophes match the
rules file's plain ones) and the same bound (so a reviewer sees a phrase, never a paragraph).
"""

from __future__ import annotations

#: The longest excerpt a finding quotes.
EXCERPT = 48


def flatten(text: str) -> str:
    """Whitespace runs to one space, curly single quotes to straight ones."""
    return " ".join(text.replace("\u2019", "'").replace("\u2018", "'").split())


def excerpt(matched: str, limit: int = EXCERPT) -> str:
    """``matched`` on one line, cut to ``limit`` characters with an ellipsis."""
    words = " ".join(matched.split())
    return words if len(words) <= limit else words[: limit - 1].rstrip() + "\u2026"
