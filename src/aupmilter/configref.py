"""The configuration reference (docs/config-reference.md), rendered from the schemas.

Every key, its type, its default and its sentence of documentation come from the same
declarations the strict reader uses (:mod:`aupmilter.schema`): the site file's sections
(:class:`aupmilter.config.SiteFile`) and each check's ``SPEC.options``.  ``make test`` renders
the page and fails if the checked-in copy differs, so the reference cannot drift from the code.

    python -m aupmilter.configref > docs/config-reference.md
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, get_args, get_origin

from aupmilter.checks import discover
from aupmilter.config import ActionRow, DkimKey, DkimSettings, School, SiteFile
from aupmilter.schema import default_of, doc, fields_of, toml_key, type_name

#: ``(section, key, type, default, meaning)``: one line of the reference.
Row = tuple[str, str, str, str, str]

#: Sections of the site file rendered elsewhere on the page (or not tables of keys).
_SPECIAL = {"dkim", "checks", "action", "schools"}


def _is_schema(tp: Any) -> bool:
    return dataclasses.is_dataclass(tp) and isinstance(tp, type)


def _rows(cls: type[Any], section: str) -> Iterator[Row]:
    """``(section, key, type, default, doc)`` for every key of ``cls``; nested tables and arrays
    of tables become their own sections."""
    nested: list[tuple[str, type[Any]]] = []
    for f, tp in fields_of(cls):
        key = toml_key(f)
        origin = get_origin(tp)
        if _is_schema(tp):
            nested.append((f"{section}.{key}", tp))
        elif origin is tuple and _is_schema(get_args(tp)[0]):
            nested.append((f"{section}.{key}[]", get_args(tp)[0]))
        elif origin is dict and _is_schema(get_args(tp)[1]):
            nested.append((f'{section}.{key}."<name>"', get_args(tp)[1]))
        choices = f.metadata.get("choices") or ()
        listed = ", ".join(map(str, choices))
        kind = type_name(tp) if not choices else f"list of: {listed}" if get_origin(tp) is tuple else f"one of {listed}"
        yield section, key, kind, _shown_default(f), doc(f)
    for name, sub in nested:
        yield from _rows(sub, name)


def _shown_default(f: dataclasses.Field[Any]) -> str:
    value = default_of(f)
    if value is dataclasses.MISSING:
        return "required"
    if value is None:
        return "(rules file)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_schema(type(value)):
        return "(table)"
    if isinstance(value, tuple):
        value = list(value)
    return repr(value).replace("'", '"')


def rows() -> list[Row]:
    """Every key of the site file and of every check's options, in the page's order."""
    out: list[Row] = []
    for f, tp in fields_of(SiteFile):
        if toml_key(f) not in _SPECIAL and _is_schema(tp):
            out += _rows(tp, toml_key(f))
    out += _rows(School, "schools[]")
    out += _rows(ActionRow, "action[]")
    out += _rows(DkimSettings, "dkim")
    out += _rows(DkimKey, 'dkim."<domain>"')
    out.append(("checks.<name>", "enabled", "true/false", "true", "Turn a check off."))
    for spec in discover().values():
        if spec.options is not None:
            out += _rows(spec.options, f"checks.{spec.name}")
    return out


def render() -> str:
    lines = [
        "# Configuration reference",
        "",
        "Rendered by `python -m aupmilter.configref` from the schemas the strict reader uses",
        "(`src/aupmilter/config.py` and each check's `SPEC.options`); `make test` fails if this page",
        "is out of date. Unknown keys, wrong types and values out of range are errors naming the",
        "file and the key; `aupmilter rules lint` checks a site file and every rules file it loads.",
        "",
    ]
    current = None
    for section, key, kind, default, text in rows():
        if section != current:
            lines += ["", f"## `[{section}]`", "", "| key | type | default | meaning |", "|---|---|---|---|"]
            current = section
        lines.append(f"| `{key}` | {kind} | `{default}` | {text} |")
    lines += [
        "",
        "## Checks",
        "",
        "| check | reads content | rules files | transforms | facts from the adapter | summary |",
        "|---|---|---|---|---|---|",
    ]
    for spec in discover().values():
        files = ", ".join(f"`{f}`" for f in spec.rules_files) or "-"
        transforms = ", ".join(f"`{t}`" for t in spec.transforms) or "-"
        facts = ", ".join(f"`{f.name}`" for f in spec.facts) or "-"
        content = "yes" if spec.reads_content else "no"
        lines.append(f"| `{spec.name}` | {content} | {files} | {transforms} | {facts} | {spec.summary} |")
    lines += ["", "## Rule ids (for `match` in policy rows)", "", "| rule id | check | meaning |", "|---|---|---|"]
    from aupmilter.engine import ENGINE_EMITS

    for rule, text in ENGINE_EMITS.items():
        lines.append(f"| `{rule}` | engine | {text} |")
    for spec in discover().values():
        for rule, text in spec.emits.items():
            lines.append(f"| `{rule}` | {spec.name} | {text} |")
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"


if __name__ == "__main__":
    print(render(), end="")
