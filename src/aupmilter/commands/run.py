"""``aupmilter run``: the milter daemon (see :mod:`aupmilter.milter`)."""

from __future__ import annotations

import argparse

from aupmilter.commands.common import add_config_arg


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run the milter daemon")
    add_config_arg(p)
    p.add_argument("--socket", help="override milter.socket (unix:PATH or inet:PORT@HOST)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from aupmilter.daemon import serve

    return serve(args.config, socket_override=args.socket)
