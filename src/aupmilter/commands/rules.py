"""``aupmilter rules lint``: validate the site config and every rule file it loads."""

from __future__ import annotations

import argparse
import sys

from aupmilter import notify
from aupmilter.commands.common import add_config_arg, load_or_exit, ruleset_or_exit
from aupmilter.errors import ConfigError
from aupmilter.ruleset import unmatched_policy_rows


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("rules", help="work with policy and rule files")
    rsub = p.add_subparsers(dest="rules_command", required=True)
    lint = rsub.add_parser("lint", help="validate config and rules; exit 2 naming file and key")
    add_config_arg(lint)
    lint.set_defaults(func=lint_cmd)


def lint_cmd(args: argparse.Namespace) -> int:
    config = load_or_exit(args.config, touches_state=False)
    ruleset = ruleset_or_exit(config)
    try:
        notify.load_rules(config)  # read by the milter's notifier, not by the ruleset
    except ConfigError as exc:
        print(f"aupmilter: config error: {exc}", file=sys.stderr)
        return 2
    # A policy row no check can ever match is a typo that silently weakens the policy.
    unmatched = unmatched_policy_rows(config)
    for entry in unmatched:
        print(
            f"aupmilter: config error: {entry.source}: match: {entry.match!r} is no rule id or category any"
            " check raises (see docs/config-reference.md, Rule ids)",
            file=sys.stderr,
        )
    if unmatched:
        return 2
    names = ", ".join(c.name for c in ruleset.checks)
    summary = f"{len(config.schools)} schools, {len(config.policy)} policy rows"
    print(f"ok: {config.source}: {summary}, checks: {names}")
    return 0
