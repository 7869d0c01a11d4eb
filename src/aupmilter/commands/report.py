"""``aupmilter report --since 7d [--domain D] [--format text|html|json]``."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from aupmilter.commands.common import add_config_arg, load_or_exit
from aupmilter.quarantine import open_store
from aupmilter.report import as_mail, build, render


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
    p.add_argument(
        "--mail-to",
        action="append",
        metavar="ADDR",
        help="write a whole MIME message to this address (repeatable) for `sendmail -t -i`",
    )
    p.add_argument("--mail-from", metavar="ADDR", help="its sender (default aupmilter-noreply@<first school>)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_or_exit(args.config)
    now = dt.datetime.now(dt.UTC)
    report = build(open_store(config.quarantine), args.since, now, args.domain)
    if args.mail_to:
        addresses = [a.strip() for a in args.mail_to if a.strip()]
        if not addresses or any("@" not in a or any(c in a for c in "\r\n,<>") for a in addresses):
            print("aupmilter: --mail-to needs one plain address each (e.g. head@school.example)", file=sys.stderr)
            return 2
        domain = config.schools[0].domain if config.schools else "localhost"
        sender = args.mail_from or f"aupmilter-noreply@{domain}"
        sys.stdout.buffer.write(as_mail(report, addresses, sender, now, domain))
        return 0
    print(render(report, args.format), end="")
    return 0
