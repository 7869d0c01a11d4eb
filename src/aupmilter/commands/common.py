"""Helpers shared by sub-commands: config loading with the CLI's error contract."""

from __future__ import annotations

import argparse
import sys

from aupmilter.config import Config, demo_notice, is_demo, load_config
from aupmilter.engine import Ruleset
from aupmilter.errors import ConfigError
from aupmilter.ruleset import build_ruleset


class UsageError(Exception):
    """Bad command-line usage; exits 2 with the message."""


def add_config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="site config (default: $AUPMILTER_CONFIG, else /etc/aupmilter/aupmilter.toml if it exists,"
        " else the built-in demo config, with a notice)",
    )


def load_or_exit(path: str | None, *, touches_state: bool = True) -> Config:
    """The config, or exit 2 naming the problem.  A command that reads or writes state (the
    quarantine, accounts, reports) says so on stderr when it falls back to the demo config:
    silently writing an account into ./var of the current folder was issue 17."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"aupmilter: config error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if touches_state and is_demo(config):
        print(demo_notice(config), file=sys.stderr)
    return config


def ruleset_or_exit(config: Config) -> Ruleset:
    """Every check and transform built, or exit 2 naming the file and key (a rules file, a
    check's options): what ``rules lint`` and ``check`` both need before they can answer."""
    try:
        return build_ruleset(config)
    except ConfigError as exc:
        print(f"aupmilter: config error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
