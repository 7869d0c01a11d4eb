"""UK identifiers by their issuers' rules: UPN check letter, NI allocation, NHS modulus 11, Luhn.

Pure functions, unit-tested against the published algorithms (see :mod:`.check` for sources),
and :func:`identifier_prefix`, the only form in which an identifier may appear in evidence.
"""

from __future__ import annotations

#: UPN check-letter table: index = remainder modulo 23 (no I, O or S).
UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
_NI_BAD_FIRST = frozenset("DFIQUV")
_NI_BAD_SECOND = frozenset("DFIOQUV")
_NI_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def upn_check_letter(tail: str) -> str | None:
    """The check letter for the 12 characters after it, ``None`` if they cannot be a UPN tail.

    ``tail`` is 12 digits (permanent UPN) or 11 digits and a letter from the table (temporary
    UPN), weighted 2..13 by position, the temporary letter counting as its index in the table.
    """
    if len(tail) != 12 or not tail[:11].isdigit():
        return None
    last = tail[11]
    if last.isdigit():
        last_value = int(last)
    elif last in UPN_LETTERS:
        last_value = UPN_LETTERS.index(last)
    else:
        return None
    total = sum(int(c) * w for c, w in zip(tail[:11], range(2, 13), strict=True)) + last_value * 13
    return UPN_LETTERS[total % 23]


def is_valid_upn(upn: str) -> bool:
    """Check letter right (LA code not checked here: that is the rules file's list)."""
    upn = upn.upper()
    return len(upn) == 13 and upn_check_letter(upn[1:]) == upn[0]


def is_valid_ni(nino: str) -> bool:
    """HMRC allocation rules for a NINO written as 9 characters, suffix required."""
    nino = nino.upper().replace(" ", "")
    if len(nino) != 9 or not (nino[:2].isalpha() and nino[2:8].isdigit() and nino[8] in "ABCD"):
        return False
    first, second = nino[0], nino[1]
    return first not in _NI_BAD_FIRST and second not in _NI_BAD_SECOND and nino[:2] not in _NI_BAD_PREFIXES


def nhs_check_digit(first9: str) -> int | None:
    """Modulus 11 check digit for nine digits; ``None`` when the result is 10 (never issued)."""
    total = sum(int(c) * w for c, w in zip(first9, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def is_valid_nhs(number: str) -> bool:
    digits = number.replace(" ", "").replace("-", "")
    if len(digits) != 10 or not digits.isdigit():
        return False
    return nhs_check_digit(digits[:9]) == int(digits[9])


def luhn_valid(digits: str) -> bool:
    """ISO/IEC 7812-1 Luhn: double every second digit from the right, sum digits, mod 10."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def identifier_prefix(kind: str, value: str) -> str:
    """A few leading characters that identify nobody, then an ellipsis.

    UPN: check letter + LA code (an area, not a pupil); NI: the prefix letters; NHS: the issuing
    range; card: the scheme only; bank: the first two sort-code digits (the bank).
    """
    if kind == "upn":
        return value[:4] + "…"
    if kind == "ni":
        return value[:2] + "…"
    if kind == "nhs":
        return value[:3] + "…"
    if kind == "card":
        return value.partition(":")[0] + " …"
    return value[:2] + "-…"
