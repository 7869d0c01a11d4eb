"""``aupmilter report --since 7d [--domain D] [--format text|html|json]``."""

from __future__ import annotations

import argparse
import datetime as dt

from aupmilter.commands.common import add_config_arg, load_or_exit
from aupmilter.quarantine import open_store
from aupmilter.report import build, render


def _duration(text: str) -> dt.timedelta:
    units = {"d": 86400, "h": 3600}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        raise argparse.ArgumentTypeError("use e.g. 7d or 24h")
    return dt.timedelta(seconds=int(text[:-1]) * units[text[-1]])


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("report", help="summary of findings for the headteacher / IT (no content)")
    add_config_arg(p)
    p.add_argument("--since", type=_duration, default=dt.timedelta(days=7))
    p.add_argument("--domain")
    p.add_argument("--format", choices=["text", "html", "json"], default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_or_exit(args.config)
    report = build(open_store(config.quarantine), args.since, dt.datetime.now(dt.UTC), args.domain)
    print(render(report, args.format), end="")
    return 0
