"""The check protocol; the explicit registry of checks is :data:`aupmilter.registry.REGISTRY`.

A check is built once per configuration load (lexicons compiled, rule files parsed) and then
called once per message with the envelope and the parsed :class:`~aupmilter.message.MessageView`.
It returns findings; it never decides an action (that is the policy's job) and never touches the
milter.  ``reads_content`` says whether it reads bodies and subjects (documentation for privacy
reviews); every check runs on every message, including *sealed* ones (labelled Personal/Private):
sealing hides a message from people, and strips content-derived evidence from its findings
(:mod:`aupmilter.sealing`), but never switches a check off.  A check whose finding *is* the seal
says so with an optional ``seals: ClassVar[frozenset[str]]`` of rule ids (the personal check's
``personal.label``): the engine then seals on those and leaves that check's own findings whole.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from aupmilter.errors import ConfigError
from aupmilter.model import Envelope, Finding
from aupmilter.registry import REGISTRY as REGISTRY  # re-exported: checks.REGISTRY is the public name

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

    def option(self, key: str, default: Any) -> Any:
        return self.options.get(key, default)

    def reject_unknown(self, allowed: Iterable[str]) -> None:
        """Raise ``ConfigError`` for any option not in ``allowed`` (unknown keys are errors)."""
        unknown = sorted(set(self.options) - set(allowed) - {"enabled"})
        if unknown:
            raise ConfigError(self.source, unknown[0], "unknown key")


@runtime_checkable
class Check(Protocol):
    """One check module's entry point (see module docstring)."""

    name: ClassVar[str]
    reads_content: ClassVar[bool]

    def run(self, envelope: Envelope, message: MessageView) -> Iterable[Finding]: ...


def load_check_class(name: str) -> type[Check]:
    target = REGISTRY[name]
    module_name, _, class_name = target.partition(":")
    cls: type[Check] = getattr(importlib.import_module(module_name), class_name)
    return cls
