"""Building a :class:`~aupmilter.engine.Ruleset` from a validated configuration: the wiring.

This is where the named parts meet: every check discovered by :func:`aupmilter.checks.discover`
(each module's ``SPEC``, and plugins) is built from the site's ``[checks.<name>]`` table read by
its options schema, and the transforms mail that leaves gets (banner, disclaimer, DKIM) are
assembled by :mod:`aupmilter.transforms`.  It lives apart from :mod:`aupmilter.engine` so that
the engine — the pure ``evaluate`` — imports no check and no transform: it runs whatever a
ruleset hands it (docs/architecture.md, "Layers").
"""

from __future__ import annotations

import importlib

from aupmilter import transforms as transforms_mod
from aupmilter.checks import Check, CheckSettings, discover
from aupmilter.config import Config, PolicyEntry
from aupmilter.engine import ENGINE_EMITS, Ruleset, Transform
from aupmilter.errors import ConfigError
from aupmilter.marker import MarkerKey, key_path


def build_ruleset(config: Config, generation: int = 0) -> Ruleset:
    """Build every enabled check from the config; raises ``ConfigError`` on bad rule files or
    options (each check's ``[checks.<name>]`` table is read by its ``SPEC.options`` schema)."""
    specs = discover()
    for name in config.checks:
        if name not in specs:
            raise ConfigError(config.source, f"checks.{name}", f"unknown check (known: {', '.join(specs)})")
    checks: list[Check] = [spec.build(config) for name, spec in specs.items() if config.check_enabled(name)]
    for plugin in config.plugins:
        checks.append(_load_plugin(plugin, config))
    transforms: list[Transform] = []
    marker_key = MarkerKey(key_path(config)) if config.check_enabled("disclaimer") else None
    transforms.extend(transforms_mod.build(config, marker_key))
    return Ruleset(config, checks, transforms, generation, marker_key)


def unmatched_policy_rows(config: Config) -> list[PolicyEntry]:
    """Policy rows whose ``match`` no check (nor the engine) can ever raise: a typo there means a
    rule that silently never applies, so ``rules lint`` refuses it."""
    specs = discover().values()
    return [
        entry
        for entry in (*config.policy, *(a for s in config.schools for a in s.actions))
        if entry.match != "*"
        and not any(spec.covers(entry.match) for spec in specs)
        and not any(rule == entry.match or rule.startswith(entry.match + ".") for rule in ENGINE_EMITS)
    ]


def _load_plugin(target: str, config: Config) -> Check:
    module_name, _, class_name = target.partition(":")
    source = f"{config.source}: organisation.plugins"
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(source, target, f"cannot load plugin: {exc}") from None
    check: Check = cls(CheckSettings(config.rules_dir, {}, config, source))
    return check
