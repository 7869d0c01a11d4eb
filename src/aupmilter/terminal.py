"""Text from mail (or from anyone who can write a reason) made safe for a terminal line.

Why: an RFC 2047 subject decoded to raw ESC sequences repainted an admin's terminal from
``quarantine list``, and a delete reason holding a newline forged a whole line in ``quarantine
audit``.  Every piece of stored text the CLI prints goes through :func:`printable`, which
replaces C0 and C1 control characters, DEL, the Unicode line and paragraph separators and the
bidirectional overrides (which reorder what a reader sees) with visible escapes: ``\\n``,
``\\t``, ``\\x1b``, ``\\u202e``.  Backslashes are doubled so an escape cannot be faked.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\\\\\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_UNSAFE_IN_BLOCK = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_NAMED = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``text`` on one line with every control and direction character shown escaped."""
    return _UNSAFE.sub(_escape, str(text))


def printable_block(text: str) -> str:
    """Multi-line text (a message shown with ``--content``): line breaks and tabs are kept,
    every other control character is escaped."""
    return _UNSAFE_IN_BLOCK.sub(_escape, text.replace("\r\n", "\n"))
