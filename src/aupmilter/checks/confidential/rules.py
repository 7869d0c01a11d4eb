"""``rules/confidential.toml``: the identifier kinds, their validation data, scores and limits, read strictly."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aupmilter.errors import ConfigError
from aupmilter.webmail import load_webmail_domains

# --- rules file ----------------------------------------------------------------------------------

KINDS = ("upn", "ni", "nhs", "card", "bank")
#: kind -> (category suffix, label used in evidence).  Rule ids are stable: policy rows use them.
CATEGORY = {
    "upn": ("pupil_data", "UPN"),
    "ni": ("ni_number", "NI number"),
    "nhs": ("nhs_number", "NHS number"),
    "card": ("payment_card", "card"),
    "bank": ("bank_account", "bank account"),
}
_TOP_KEYS = {"scan_inbound", "scores", "destinations", "limits", *KINDS}
_KIND_KEYS: dict[str, set[str]] = {
    "upn": {"bulk_min", "la_codes", "ignore", "enabled"},
    "ni": {"bulk_min", "ignore", "enabled"},
    "nhs": {"bulk_min", "prefixes", "context", "context_window", "ignore", "enabled"},
    "card": {"bulk_min", "ignore", "dummy_max_distinct", "brands", "enabled"},
    "bank": {"bulk_min", "pair_window", "context", "sort_context", "context_window", "ignore", "enabled"},
}
_LIMIT_DEFAULTS = {
    "max_text_chars": 4_000_000,
    "max_attachment_bytes": 26_214_400,
    "max_extracted_chars": 2_000_000,
    "max_xml_bytes": 16_777_216,
    "max_pdf_pages": 40,
    "max_distinct": 5_000,
}
_SCORE_DEFAULTS = {"single": 1.0, "bulk": 4.0, "webmail_single": 0.5, "webmail_bulk": 6.0}


@dataclass(frozen=True)
class Limits:
    max_text_chars: int = 4_000_000
    max_attachment_bytes: int = 26_214_400
    max_extracted_chars: int = 2_000_000
    max_xml_bytes: int = 16_777_216
    max_pdf_pages: int = 40
    max_distinct: int = 5_000


@dataclass(frozen=True)
class Brand:
    name: str
    ranges: tuple[tuple[int, int, int], ...]  # (prefix length, low, high)
    lengths: frozenset[int]

    def matches(self, digits: str) -> bool:
        if len(digits) not in self.lengths:
            return False
        return any(lo <= int(digits[:n]) <= hi for n, lo, hi in self.ranges)


@dataclass(frozen=True)
class KindRules:
    enabled: bool = True
    bulk_min: int = 5
    ignore: frozenset[str] = frozenset()
    ranges: tuple[tuple[int, int, int], ...] = ()  # UPN LA codes, NHS prefixes
    context: re.Pattern[str] | None = None
    sort_context: re.Pattern[str] | None = None
    context_window: int = 60
    pair_window: int = 40
    brands: tuple[Brand, ...] = ()
    dummy_max_distinct: int = 2


@dataclass(frozen=True)
class Rules:
    kinds: dict[str, KindRules]
    scores: dict[str, float]
    limits: Limits
    webmail: frozenset[str]
    scan_inbound: bool


class _Table:
    """Strict reader for one TOML table: typed values, unknown keys are errors naming the key."""

    def __init__(self, path: Path, prefix: str, data: Any, allowed: set[str]) -> None:
        if not isinstance(data, dict):
            raise ConfigError(str(path), prefix, "expected a table")
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ConfigError(str(path), f"{prefix}.{unknown[0]}" if prefix else unknown[0], "unknown key")
        self.path, self.prefix, self.data = path, prefix, data

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def get(self, name: str, kind: type | tuple[type, ...], default: Any) -> Any:
        value = self.data.get(name, default)
        if isinstance(value, bool) and kind in (int, float, (int, float)):
            raise ConfigError(str(self.path), self.key(name), "expected a number")
        if not isinstance(value, kind):
            raise ConfigError(str(self.path), self.key(name), f"expected {_type_name(kind)}")
        return value

    def number(self, name: str, default: float, minimum: float = 0) -> float:
        value = float(self.get(name, (int, float), default))
        if value < minimum:
            raise ConfigError(str(self.path), self.key(name), f"must be at least {minimum:g}")
        return value

    def strings(self, name: str) -> list[str]:
        value = self.get(name, list, [])
        if not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(str(self.path), self.key(name), "expected a list of non-empty strings")
        return [v.strip() for v in value]


def _type_name(kind: type | tuple[type, ...]) -> str:
    names = {bool: "true or false", int: "an integer", float: "a number", list: "a list", str: "a string"}
    if isinstance(kind, tuple):
        return "a number"
    return names.get(kind, kind.__name__)


def _ranges(table: _Table, name: str, width: int | None) -> tuple[tuple[int, int, int], ...]:
    """Parse ``["4", "51-55", "2221-2720"]``: prefix length and inclusive numeric bounds."""
    out: list[tuple[int, int, int]] = []
    for spec in table.strings(name):
        lo, _, hi = spec.partition("-")
        hi = hi or lo
        if not (lo.isdigit() and hi.isdigit() and len(lo) == len(hi) and int(lo) <= int(hi)):
            raise ConfigError(str(table.path), table.key(name), f"bad range {spec!r} (expected N or N-M, same width)")
        if width is not None and len(lo) != width:
            raise ConfigError(str(table.path), table.key(name), f"{spec!r}: expected {width} digits")
        out.append((len(lo), int(lo), int(hi)))
    return tuple(out)


def _words(table: _Table, name: str) -> re.Pattern[str] | None:
    words = table.strings(name)
    if not words:
        return None
    alternation = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![^\W_])(?:{alternation})(?![^\W_])", re.IGNORECASE)


def load_rules(rules_dir: Path) -> Rules:
    """Parse ``confidential.toml`` strictly (and the shared ``webmail.toml`` list if used)."""
    path = rules_dir / "confidential.toml"
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "", f"cannot load: {exc}") from None
    top = _Table(path, "", data, _TOP_KEYS)
    scores_t = _Table(path, "scores", data.get("scores", {}), set(_SCORE_DEFAULTS))
    scores = {k: scores_t.number(k, v) for k, v in _SCORE_DEFAULTS.items()}
    limits_t = _Table(path, "limits", data.get("limits", {}), set(_LIMIT_DEFAULTS))
    limits = Limits(**{k: int(limits_t.number(k, v, 1)) for k, v in _LIMIT_DEFAULTS.items()})
    dest = _Table(path, "destinations", data.get("destinations", {}), {"use_webmail_list", "webmail_domains"})
    webmail = {d.lower().rstrip(".") for d in dest.strings("webmail_domains")}
    if dest.get("use_webmail_list", bool, True):
        webmail |= load_webmail_domains(rules_dir)
    kinds: dict[str, KindRules] = {}
    for kind in KINDS:
        t = _Table(path, kind, data.get(kind, {}), _KIND_KEYS[kind])
        ignore = frozenset(re.sub(r"[\s-]", "", v).upper() for v in t.strings("ignore"))
        common: dict[str, Any] = {
            "enabled": t.get("enabled", bool, True),
            "bulk_min": int(t.number("bulk_min", 5, 1)),
            "ignore": ignore,
        }
        if kind == "upn":
            common["ranges"] = _ranges(t, "la_codes", 3)
        elif kind == "nhs":
            common |= {
                "ranges": _ranges(t, "prefixes", 3),
                "context": _words(t, "context"),
                "context_window": int(t.number("context_window", 60)),
            }
            if common["context"] is None:
                raise ConfigError(str(path), "nhs.context", "at least one context word is needed")
        elif kind == "card":
            common |= {
                "brands": _brands(t),
                "dummy_max_distinct": int(t.number("dummy_max_distinct", 2)),
            }
        elif kind == "bank":
            common |= {
                "context": _words(t, "context"),
                "sort_context": _words(t, "sort_context"),
                "context_window": int(t.number("context_window", 80)),
                "pair_window": int(t.number("pair_window", 40, 1)),
            }
            if common["context"] is None:
                raise ConfigError(str(path), "bank.context", "at least one context word is needed")
        kinds[kind] = KindRules(**common)
    return Rules(kinds, scores, limits, frozenset(webmail), bool(top.get("scan_inbound", bool, False)))


def _brands(t: _Table) -> tuple[Brand, ...]:
    out: list[Brand] = []
    for i, raw in enumerate(t.get("brands", list, [])):
        b = _Table(t.path, f"card.brands[{i}]", raw, {"name", "prefixes", "lengths"})
        lengths = b.get("lengths", list, [])
        if not lengths or not all(isinstance(n, int) and not isinstance(n, bool) and 13 <= n <= 19 for n in lengths):
            raise ConfigError(str(t.path), b.key("lengths"), "expected a list of lengths between 13 and 19")
        ranges = _ranges(b, "prefixes", None)
        if not ranges:
            raise ConfigError(str(t.path), b.key("prefixes"), "at least one prefix is needed")
        out.append(Brand(b.get("name", str, "card"), ranges, frozenset(lengths)))
    return tuple(out)
