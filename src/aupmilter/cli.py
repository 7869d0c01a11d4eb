"""Command line: ``aupmilter run | check | rules lint | ...``.

Each sub-command lives in its own module exposing ``register(subparsers)``; this module only
assembles them, so the quarantine, report and init commands can grow without touching the core.
Exit codes: 0 success, 1 a file could not be read / an operation failed, 2 usage or config error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Modules that contribute sub-commands (each has ``register(subparsers) -> None``).
COMMAND_MODULES = (
    "aupmilter.commands.check",
    "aupmilter.commands.run",
    "aupmilter.commands.rules",
    "aupmilter.commands.quarantine",
    "aupmilter.commands.web",
    "aupmilter.commands.report",
    "aupmilter.commands.init",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aupmilter", description="Acceptable Use Policy milter for Postfix")
    parser.add_argument("--version", action="version", version="aupmilter 0.1.0")
    sub = parser.add_subparsers(dest="command", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
    except BrokenPipeError:  # e.g. `aupmilter check dir | head`
        return 0
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
