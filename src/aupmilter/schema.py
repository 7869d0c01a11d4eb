"""Settings declared once: typed, documented dataclasses, and the one strict reader for them.

Every TOML file aupmilter reads — the site's ``aupmilter.toml``, the rules files, the policy
files — is described by frozen dataclasses whose fields carry their type (the annotation), their
default and a sentence of documentation (:func:`setting`).  :func:`read` turns parsed TOML into
those dataclasses and refuses, as :class:`~aupmilter.errors.ConfigError` naming the file and the
full key, anything the declaration does not allow: unknown keys, wrong types (``threshold =
"high"``, ``extensions = "exe"`` where a list is meant), values outside ``choices`` or a range.
:func:`load_toml` adds bad encodings and bad TOML to the same error.  The configuration
reference (:mod:`aupmilter.configref`) is rendered from the same declarations, defaults included,
so the docs cannot drift from the parser.

This is the pattern of SpamAssassin's typed ``register_commands`` and Rspamd's
``config_schema``: a typo in a mail filter's policy silently weakens it, so it is an error.

Checks that need more than types (a regular expression that must compile, a time that must be
``HH:MM``) give the dataclass a ``validate()`` method raising :class:`Invalid`; the reader adds
the file and the key path.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

import regex

from aupmilter.errors import ConfigError

T = TypeVar("T")

#: ``Annotated[tuple[str, ...], ONE_OR_MANY]``: a single string is accepted as a one-item list
#: (contacts, OS groups), where a lone string can only mean one item.
ONE_OR_MANY = "one-or-many"


class Invalid(Exception):
    """Raised by a schema class's ``validate()``; ``key`` is relative to the class's table."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.key = key
        self.problem = problem


def setting(
    default: Any = dataclasses.MISSING,
    *,
    doc: str,
    choices: tuple[Any, ...] = (),
    minimum: float | None = None,
    maximum: float | None = None,
    key: str = "",
    nonblank: bool = False,
) -> Any:
    """A documented field.  ``default`` may be a list or dict (copied per instance); no default
    means the key is required.  ``key`` names the TOML key when it is not a Python identifier
    (``all``, ``min``) — the field gets a trailing underscore.  ``choices`` and the range apply to
    each item of a list.  ``nonblank``: a string, or every
    string of a list, must have more than white space."""
    metadata = {
        "doc": doc,
        "choices": choices,
        "minimum": minimum,
        "maximum": maximum,
        "key": key,
        "nonblank": nonblank,
    }
    if isinstance(default, list | dict | set):
        factory = default.copy
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def toml_key(f: dataclasses.Field[Any]) -> str:
    return str(f.metadata.get("key") or f.name)


def doc(f: dataclasses.Field[Any]) -> str:
    return str(f.metadata.get("doc", ""))


def default_of(f: dataclasses.Field[Any]) -> Any:
    """The field's default value, or ``dataclasses.MISSING`` for a required key."""
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def fields_of(cls: type[Any]) -> Iterator[tuple[dataclasses.Field[Any], Any]]:
    """``(field, resolved type)`` for every documented field of a schema class (fields without
    a ``doc`` are derived, not read)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    for f in dataclasses.fields(cls):
        if "doc" in f.metadata:
            yield f, hints[f.name]


def load_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; a missing file, bad encoding or bad syntax is a ConfigError."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(str(path), "", "file not found") from None
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(str(path), f"line {line}", "not UTF-8 (save the file as UTF-8)") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"invalid TOML: {exc}") from None


def read(cls: type[T], data: Any, source: str, path: str = "") -> T:
    """Build schema class ``cls`` from a parsed TOML table, strictly (see module docstring)."""
    return _Reader(source).table(cls, data, path)


def read_file(cls: type[T], path: Path) -> T:
    return read(cls, load_toml(path), str(path))


def _join(path: str, key: str) -> str:
    if not path:
        return key
    return f"{path}{key}" if key.startswith("[") else f"{path}.{key}"


_NAMES: dict[Any, tuple[str, str]] = {
    Any: ("any value", "any values"),
    str: ("string", "strings"),
    bool: ("true/false", "true/false values"),
    int: ("integer", "integers"),
    float: ("number", "numbers"),
}


def type_name(tp: Any, plural: bool = False) -> str:
    """How a type reads in an error or the reference: ``string``, ``list of strings``..."""
    tp = _strip(tp)
    origin = get_origin(tp)
    if tp in _NAMES:
        return _NAMES[tp][plural]
    if origin is tuple:
        return f"list of {type_name(get_args(tp)[0], plural=True)}"
    if origin is dict:
        return f"table of {type_name(get_args(tp)[1], plural=True)}"
    if origin in (Union, types.UnionType):
        return " or ".join(type_name(a) for a in get_args(tp) if a is not type(None))
    if dataclasses.is_dataclass(tp):
        return "tables" if plural else "table"
    return getattr(tp, "__name__", str(tp))


def _strip(tp: Any) -> Any:
    return get_args(tp)[0] if get_origin(tp) is Annotated else tp


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.source, key, problem)

    def table(self, cls: type[T], data: Any, path: str) -> T:
        if not isinstance(data, dict):
            raise self.error(path, f"must be a table, got {_shown(data)}")
        remaining = dict(data)
        values: dict[str, Any] = {}
        for f, tp in fields_of(cls):
            name = toml_key(f)
            key = _join(path, name)
            if name in remaining:
                values[f.name] = self.value(tp, remaining.pop(name), key, f)
                if f.metadata.get("nonblank"):
                    _require_nonblank(self.error, key, values[f.name])
            elif default_of(f) is dataclasses.MISSING:
                raise self.error(key, "is required")
        if remaining:
            unknown = sorted(remaining)[0]
            known = ", ".join(toml_key(f) for f, _ in fields_of(cls))
            raise self.error(_join(path, unknown), f"unknown key (known: {known})")
        try:
            obj = cls(**values)
            validate: Callable[[], None] | None = getattr(obj, "validate", None)
            if validate is not None:
                validate()
        except Invalid as exc:
            raise self.error(_join(path, exc.key), exc.problem) from None
        return obj

    def value(self, tp: Any, value: Any, key: str, f: dataclasses.Field[Any] | None = None) -> Any:
        one_or_many = get_origin(tp) is Annotated and ONE_OR_MANY in get_args(tp)[1:]
        tp = _strip(tp)
        origin = get_origin(tp)
        if one_or_many and isinstance(value, str):
            value = [value]
        if origin in (Union, types.UnionType):
            for option in get_args(tp):
                try:
                    return self.value(option, value, key, f)
                except ConfigError:
                    continue
            raise self.error(key, f"expected {type_name(tp)}, got {_shown(value)}")
        if origin is tuple:
            if not isinstance(value, list):
                raise self.error(key, f"expected {type_name(tp)}, got {_shown(value)}")
            item = get_args(tp)[0]
            return tuple(self.value(item, v, f"{key}[{i}]", f) for i, v in enumerate(value))
        if origin is dict:
            if not isinstance(value, dict):
                raise self.error(key, f"expected {type_name(tp)}, got {_shown(value)}")
            item = get_args(tp)[1]
            return {str(k): self.value(item, v, _join(key, _quoted(str(k)))) for k, v in value.items()}
        if dataclasses.is_dataclass(tp) and isinstance(tp, type):
            return self.table(tp, value, key)
        value = self.scalar(tp, value, key)
        if f is not None:
            self.bounds(f, value, key)
        return value

    def scalar(self, tp: Any, value: Any, key: str) -> Any:
        if tp is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if tp is Any:
            return value
        if not isinstance(tp, type) or not isinstance(value, tp) or (isinstance(value, bool) and tp in (int, float)):
            raise self.error(key, f"expected {type_name(tp)}, got {_shown(value)}")
        return value

    def bounds(self, f: dataclasses.Field[Any], value: Any, key: str) -> None:
        choices = f.metadata.get("choices") or ()
        if choices and value not in choices:
            raise self.error(key, f"must be one of {', '.join(map(str, choices))}, got {_shown(value)}")
        low, high = f.metadata.get("minimum"), f.metadata.get("maximum")
        if low is not None and value < low:
            raise self.error(key, f"must be at least {low}, got {_shown(value)}")
        if high is not None and value > high:
            raise self.error(key, f"must be at most {high}, got {_shown(value)}")


def _require_nonblank(error: Callable[[str, str], ConfigError], key: str, value: Any) -> None:
    items = value if isinstance(value, tuple) else (value,)
    if not all(isinstance(v, str) and v.strip() for v in items):
        what = "a list of non-empty strings" if isinstance(value, tuple) else "a non-empty string"
        raise error(key, f"expected {what}")


def _quoted(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else f'"{key}"'


def _shown(value: Any) -> str:
    text = repr(value)
    kind = {str: "string", int: "integer", float: "number", bool: "true/false", list: "list", dict: "table"}
    name = kind.get(type(value), type(value).__name__)
    return f"{name} {text if len(text) <= 40 else text[:37] + '...'}"


@dataclasses.dataclass(frozen=True)
class WeightedPattern:
    """A rules file's named, weighted regular expression (``[[cue]]`` in chain_letter.toml and
    phishing.toml): the shape is declared once, and a pattern that does not compile is an error
    naming its key."""

    id: str = setting(doc="Cue name, shown in evidence.", nonblank=True)
    weight: float = setting(doc="Weight the cue adds (negative: evidence against).")
    pattern: str = setting(doc="Case-insensitive regular expression.")

    def validate(self) -> None:
        try:
            regex.compile(self.pattern, regex.IGNORECASE)
        except regex.error as exc:
            raise Invalid("pattern", f"invalid pattern: {exc}") from None

    def compiled(self) -> regex.Pattern[str]:
        return regex.compile(self.pattern, regex.IGNORECASE)
