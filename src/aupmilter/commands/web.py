"""``aupmilter web`` (the review UI) and ``aupmilter user add|list`` (its local accounts)."""

from __future__ import annotations

import argparse
import getpass
import sys

from aupmilter import logsetup
from aupmilter.commands.common import add_config_arg, load_or_exit
from aupmilter.errors import ConfigError
from aupmilter.quarantine import Accounts, Role, StoreError, open_store


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    web = sub.add_parser("web", help="run the quarantine review UI (loopback by default)")
    add_config_arg(web)
    web.add_argument("--listen", help="HOST:PORT (default: [web] listen)")
    web.set_defaults(func=cmd_web)
    user = sub.add_parser("user", help="manage review-UI accounts")
    usub = user.add_subparsers(dest="user_command", required=True)
    add = usub.add_parser("add", help="create or reset an account (password read from stdin)")
    add_config_arg(add)
    add.add_argument("username")
    add.add_argument("--role", choices=[r.value for r in Role], required=True)
    add.set_defaults(func=cmd_add)
    ls = usub.add_parser("list", help="list accounts")
    add_config_arg(ls)
    ls.set_defaults(func=cmd_list)


def cmd_web(args: argparse.Namespace) -> int:
    import uvicorn

    from aupmilter.web.app import create_app

    config = load_or_exit(args.config)
    host, _, port = (args.listen or config.web.listen).rpartition(":")
    try:
        logsetup.configure(config.logging)
    except OSError as exc:
        print(f"aupmilter: refusing to start: cannot log to {config.logging.target}: {exc}", file=sys.stderr)
        return 2
    try:
        app = create_app(config)
    except ConfigError as exc:  # e.g. a DKIM key the release could not use
        print(f"aupmilter: refusing to start: config error: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        app,
        host=host or "127.0.0.1",
        port=int(port),
        log_level="warning",
        log_config=None,  # uvicorn's lines go to the [logging] target like ours
        proxy_headers=False,
        server_header=False,
    )
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    config = load_or_exit(args.config)
    password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    try:
        Accounts(open_store(config.quarantine)).add(args.username, password, Role(args.role))
    except StoreError as exc:
        print(f"aupmilter: {exc}", file=sys.stderr)
        return 1
    print(f"account {args.username} ({args.role}) saved")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    config = load_or_exit(args.config)
    for user in Accounts(open_store(config.quarantine)).list():
        print(f"{user.username}\t{user.role.value}")
    return 0
