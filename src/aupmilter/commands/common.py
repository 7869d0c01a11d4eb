"""Helpers shared by sub-commands: config loading with the CLI's error contract."""

from __future__ import annotations

import argparse
import sys

from aupmilter.config import Config, load_config
from aupmilter.errors import ConfigError


class UsageError(Exception):
    """Bad command-line usage; exits 2 with the message."""


def add_config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="site config (default: $AUPMILTER_CONFIG, else the shipped demo config)",
    )


def load_or_exit(path: str | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"aupmilter: config error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
