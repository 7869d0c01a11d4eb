"""Personal-use label: the policies ask staff to mark personal mail "Personal" in the subject.

This check only *recognises* the label (and Outlook's ``Sensitivity`` header); what a label means
(allowed, prohibited, sealed from content checks) is the policy's and the engine's business.  It
reads only the subject and headers, which monitoring may look at (policy 002), so it is
content-blind in the sense that matters for sealing.

Recognised: ``[Personal]``, ``(Personal)``, ``Personal:``, ``PERSONAL -``, ``Personal –``,
``Personal/…``, ``Private`` in the same forms, anywhere a reply/forward prefix leaves it
(``Re: [Personal] …``), in any case, after RFC 2047 decoding.  Not recognised: the word used in
a sentence ("your personal statement", "private school fees"), which is not a label.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import regex

from aupmilter.checks import CheckSettings
from aupmilter.message import MessageView
from aupmilter.model import Envelope, Finding

_PREFIXES = r"(?:(?:re|fw|fwd|aw|wg|sv|vs|tr)\s*(?:\[\d+\])?\s*:\s*)*"
_WORD = r"(?P<label>personal|private)"
_LABEL = regex.compile(
    rf"""^\s*{_PREFIXES}(?:
        [\[\(\{{<]\s*{_WORD}\s*[\]\)\}}>]        # [Personal] (Private) {{Personal}} <Personal>
      | {_WORD}\s*(?::|-|–|—|/|\||>)            # Personal: / PERSONAL - / Personal – / Personal|
      | {_WORD}\s*$                             # a subject that is just "Personal"
    )""",
    regex.IGNORECASE | regex.VERBOSE | regex.V1,
)
_SENSITIVITY = {"personal": "personal", "private": "private", "company-confidential": ""}


def label_of(message: MessageView) -> tuple[str, str] | None:
    """(label, where) if the message is labelled Personal/Private, else ``None``."""
    m = _LABEL.search(message.subject)
    if m:
        label = next(g for g in m.captures("label") if g)
        return (label.lower(), "subject")
    sensitivity = (message.header("Sensitivity") or "").strip().lower()
    if _SENSITIVITY.get(sensitivity):
        return (_SENSITIVITY[sensitivity], "header:Sensitivity")
    return None


class PersonalCheck:
    name: ClassVar[str] = "personal"
    reads_content: ClassVar[bool] = False

    def __init__(self, settings: CheckSettings) -> None:
        settings.reject_unknown(())

    def run(self, envelope: Envelope, message: MessageView) -> Iterable[Finding]:
        found = label_of(message)
        if found is None:
            return []
        label, where = found
        return [Finding("personal.label", "personal.label", 1.0, f"{label} label", where)]
