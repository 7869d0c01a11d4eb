"""Hosts as people see them: punycode decoded, look-alike letters folded, and what makes one host
imitate another (homoglyphs, one letter changed, the real name embedded).  Registrable-domain
arithmetic is :class:`aupmilter.checks.phishing.rules.Domains` (it comes from the rules file)."""

from __future__ import annotations

import contextlib
import unicodedata
from urllib.parse import urlsplit

from aupmilter.checks.phishing.rules import Domains
from aupmilter.normalise import to_latin

#: After look-alike letters are Latin (:func:`aupmilter.normalise.to_latin`), what still reads
#: alike in a domain name: digits for letters, and i, l and | (one stroke each).  A second pass,
#: so a Cyrillic "і" and a Latin "i" end up as the same character.
_DOMAIN_ALIKE = str.maketrans("013457i|", "oleastll")


def to_unicode(host: str) -> str:
    """Lower-case host with punycode (``xn--``) labels decoded, for comparing what people see."""
    labels = []
    for label in host.lower().strip().strip(".").split("."):
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError, ValueError):
                label = label[4:].encode("ascii").decode("punycode")
        labels.append(label)
    return ".".join(labels)


def host_of(url: str) -> str | None:
    """The (Unicode, lower-case) host of an http(s) URL; ``None`` for mailto:, relative, broken."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return to_unicode(host)


def skeleton(text: str) -> str:
    """What a domain looks like: accents dropped, confusable letters and digits folded."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return to_latin(plain).translate(_DOMAIN_ALIKE).replace("rn", "m").replace("vv", "w")


def one_edit(candidate: str, real: str) -> str | None:
    """How ``candidate`` is one typo away from ``real`` (Damerau distance 1), else ``None``."""
    if candidate == real:
        return None
    lc, lr = len(candidate), len(real)
    if lc == lr:
        diff = [i for i in range(lc) if candidate[i] != real[i]]
        if len(diff) == 1:
            return "one letter changed"
        i = diff[0]
        if len(diff) == 2 and diff[1] == i + 1 and candidate[i] == real[i + 1] and candidate[i + 1] == real[i]:
            return "letters swapped"
        return None
    if abs(lc - lr) != 1:
        return None
    short, long_ = (candidate, real) if lc < lr else (real, candidate)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    if short[i:] != long_[i + 1 :]:
        return None
    return "letter added" if lc > lr else "letter missing"


def _flat(text: str) -> str:
    return text.replace(".", "").replace("-", "")


def lookalike_reason(host: str, real: str, domains: Domains, min_label_length: int) -> str | None:
    """Why ``host`` imitates the trust domain ``real`` (both lower-case Unicode), or ``None``."""
    if host == real or host.endswith("." + real):
        return None
    if host.startswith((real + ".", real + "-")):
        return "real domain embedded in another"
    cand_reg, real_reg = domains.registrable(host), domains.registrable(real)
    a, b = skeleton(cand_reg), skeleton(real_reg)
    unicode_trick = not host.isascii()
    if a == b or skeleton(host) == skeleton(real):
        if unicode_trick:
            return "homoglyph (international characters)"
        if any(c.isdigit() for c in cand_reg) and not any(c.isdigit() for c in real_reg):
            return "digit for letter"
        return "look-alike letters"
    if _flat(a) == _flat(b) or _flat(skeleton(host)) == _flat(skeleton(real)):
        return "hyphen or dot moved" if not unicode_trick else "homoglyph (international characters)"
    if _flat(skeleton(cand_reg.split(".")[0])) == _flat(skeleton(real)):
        return "real domain embedded in another"  # oakfield-example.com, oakfieldexample.net
    name = real_reg.split(".")[0]
    if len(name) < min_label_length:
        return None
    if _flat(skeleton(host)).startswith(_flat(skeleton(real))):
        return "real domain embedded in another"  # oakfield.kent.sch-uk.com
    kind = one_edit(a, b) or one_edit(_flat(a), _flat(b))
    if kind is None:
        return None
    return "homoglyph (international characters)" if unicode_trick else kind


def related(a: str, b: str) -> bool:
    """Same host or one inside the other: text "GOV.UK" (itself a public suffix) and href
    ``www.gov.uk`` are the same site even though no registrable domain can say so."""
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def ascii_host(host: str) -> str:
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def display_host(host: str) -> str:
    """Unicode hosts are shown with their punycode too, so a reviewer sees the trick."""
    return host if host.isascii() else f"{host} ({ascii_host(host)})"
