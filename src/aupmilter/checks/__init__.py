"""The check protocol, and how checks declare themselves (:class:`CheckSpec`) and are found (:func:`discover`).

A check is built once per configuration load (lexicons compiled, rule files parsed) and then
called once per message with the envelope and the parsed :class:`~aupmilter.message.MessageView`.
It returns findings; it never decides an action (that is the policy's job) and never touches the
milter.  Each check declares itself once in a module-level ``SPEC`` (:class:`CheckSpec`); its
``reads_content`` says whether it reads bodies and subjects (documentation for privacy
reviews).  Every check runs on every message, including *sealed* ones (labelled Personal/Private):
sealing hides a message from people, and strips content-derived evidence from its findings
(:mod:`aupmilter.sealing`), but never switches a check off.  A check whose finding *is* the seal
says so with an optional ``seals: ClassVar[frozenset[str]]`` of rule ids (the personal check's
``personal.label``): the engine then seals on those and leaves that check's own findings whole.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import pkgutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from aupmilter import schema
from aupmilter.errors import ConfigError
from aupmilter.model import Envelope, Fact, Finding

if TYPE_CHECKING:
    from aupmilter.config import Config
    from aupmilter.message import MessageView


@dataclass(frozen=True)
class CheckSettings:
    """What a check gets at build time: where rule files live, its own options, the site config."""

    rules_dir: Path
    options: Mapping[str, Any]
    config: Config
    source: str = field(default="")
    #: The ``[checks.<name>]`` table read by the check's ``SPEC.options`` schema (None without one).
    parsed: Any = None


@runtime_checkable
class Check(Protocol):
    """One check module's entry point (see module docstring)."""

    name: ClassVar[str]

    def __init__(self, settings: CheckSettings) -> None: ...

    def run(self, envelope: Envelope, message: MessageView) -> Iterable[Finding]: ...


@dataclass(frozen=True)
class CheckSpec:
    """Everything the rest of aupmilter needs to know about a check, declared once, beside it.

    Like Mailman's ``IRule`` and Rspamd's plugin schemas: each check module (or package) defines
    a module-level ``SPEC``; :func:`discover` finds them (and site plugins registered under the
    ``aupmilter.checks`` entry-point group), so adding a check touches its own package plus its
    rules and policy files.  ``options`` is the schema class of its ``[checks.<name>]`` table
    (:mod:`aupmilter.schema`), read strictly before the check is built; ``emits`` names every
    rule id the check can raise (``x.*`` for a family whose last part is data, like a virus
    name), so ``rules lint`` can refuse a policy row that can never match."""

    summary: str
    #: The check class; its ``name`` is the check's name (``[checks.<name>]``, metrics, logs).
    factory: type[Check]
    emits: Mapping[str, str]
    #: Reads bodies and subjects (documentation for privacy reviews).
    reads_content: bool = True
    #: Run order (lower first); only the Personal label check depends on running first.
    order: int = 50
    options: type | None = None
    rules_files: tuple[str, ...] = ()
    #: Transforms the check contributes to mail that is let through, as ``"module:function"``
    #: (``function(config, marker_key) -> [Transform]``): named, not imported, because transforms
    #: sit above the checks.  They run in the checks' order; DKIM signing always runs last.
    transforms: tuple[str, ...] = ()
    #: Facts the adapter must supply on the envelope (``Envelope.with_fact``): state the pure
    #: engine cannot keep.  Without an adapter that knows them, the check sees the defaults.
    facts: tuple[Fact[Any], ...] = ()

    def build(self, config: Config, options: Mapping[str, Any] | None = None, rules_dir: Path | None = None) -> Check:
        """The check, built from its rules and its ``[checks.<name>]`` table (``options``; default:
        the site config's), the options read strictly by :attr:`options`.  The engine and the
        unit tests build checks the same way, so a test with literal options sees what a site
        with those options would."""
        raw = config.checks.get(self.name, {}) if options is None else options
        source = config.source
        enabled = raw.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ConfigError(source, f"checks.{self.name}.enabled", f"expected true/false, got {enabled!r}")
        given = {k: v for k, v in raw.items() if k != "enabled"}
        parsed: object = None
        if self.options is not None:
            parsed = schema.read(self.options, given, source, f"checks.{self.name}")
        elif given:
            unknown = f"checks.{self.name}.{sorted(given)[0]}"
            raise ConfigError(source, unknown, "unknown key (this check has no options)")
        settings = CheckSettings(rules_dir or config.rules_dir, raw, config, f"{source}: checks.{self.name}", parsed)
        return self.factory(settings)

    @property
    def name(self) -> str:
        return self.factory.name

    def covers(self, match: str) -> bool:
        """Can a finding of this check match a policy row's ``match`` (rule id, category or prefix)?"""
        return any(_covers(declared, match) for declared in self.emits)


def _covers(declared: str, match: str) -> bool:
    family = declared.removesuffix(".*")
    if declared.endswith(".*") and (match == family or match.startswith(family + ".")):
        return True
    return declared == match or declared.startswith(match + ".")


ENTRY_POINT_GROUP = "aupmilter.checks"


@functools.cache
def discover() -> dict[str, CheckSpec]:
    """Every check's ``SPEC``: the shipped modules of this package, then installed plugins
    (entry points in group ``aupmilter.checks`` naming a ``CheckSpec``), in run order."""
    found: list[CheckSpec] = []
    for module in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):
        spec = getattr(importlib.import_module(module.name), "SPEC", None)
        if isinstance(spec, CheckSpec):
            found.append(spec)
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        spec = entry.load()
        if not isinstance(spec, CheckSpec):
            raise ConfigError(f"entry point {entry.name}", entry.value, "is not a CheckSpec")
        found.append(spec)
    names = [s.name for s in found]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise ConfigError(f"check {duplicate}", "", "declared twice")
    return {s.name: s for s in sorted(found, key=lambda s: (s.order, s.name))}
