"""Building a :class:`~aupmilter.engine.Ruleset` from a validated configuration: the wiring.

This is where the named parts meet: every enabled check (``checks.REGISTRY`` and the site's
plugins) is built from its :class:`~aupmilter.checks.CheckSettings`, and the transforms mail that
leaves gets (banner, disclaimer, DKIM) are assembled by :mod:`aupmilter.transforms`.  It lives
apart from :mod:`aupmilter.engine` so that the engine — the pure ``evaluate`` — imports no check
and no transform: it runs whatever a ruleset hands it (docs/architecture.md, "Layers").
"""

from __future__ import annotations

import importlib

from aupmilter import transforms as transforms_mod
from aupmilter.checks import REGISTRY, Check, CheckSettings, load_check_class
from aupmilter.config import Config
from aupmilter.engine import Ruleset, Transform
from aupmilter.errors import ConfigError
from aupmilter.marker import MarkerKey, key_path


def build_ruleset(config: Config, generation: int = 0) -> Ruleset:
    """Build every enabled check from the config; raises ``ConfigError`` on bad rule files."""
    checks: list[Check] = []
    for name in REGISTRY:
        if not config.check_enabled(name):
            continue
        cls = load_check_class(name)
        settings = CheckSettings(
            rules_dir=config.rules_dir,
            options=config.checks.get(name, {}),
            config=config,
            source=f"{config.source}: checks.{name}",
        )
        checks.append(cls(settings))  # type: ignore[call-arg]
    for plugin in config.plugins:
        checks.append(_load_plugin(plugin, config))
    transforms: list[Transform] = []
    marker_key = MarkerKey(key_path(config)) if config.check_enabled("disclaimer") else None
    transforms.extend(transforms_mod.build(config, marker_key))
    return Ruleset(config, checks, transforms, generation, marker_key)


def _load_plugin(target: str, config: Config) -> Check:
    module_name, _, class_name = target.partition(":")
    source = f"{config.source}: organisation.plugins"
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(source, target, f"cannot load plugin: {exc}") from None
    check: Check = cls(CheckSettings(config.rules_dir, {}, config, source))
    return check
