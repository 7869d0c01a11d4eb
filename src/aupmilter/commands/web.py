"""``aupmilter web`` (the review UI) and ``aupmilter user add|passwd|disable|enable|delete|list``
(its local accounts).  Changing a password, disabling and deleting an account end every one of
its sessions at once (sessions are server-side)."""

from __future__ import annotations

import argparse
import getpass
import os
import socket
import sys
from pathlib import Path
from typing import Any

from aupmilter import logsetup
from aupmilter.commands.common import add_config_arg, load_or_exit
from aupmilter.commands.identity import current
from aupmilter.errors import ConfigError
from aupmilter.quarantine import Accounts, Role, StoreError, open_store
from aupmilter.terminal import printable


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    web = sub.add_parser("web", help="run the quarantine review UI (loopback by default)")
    add_config_arg(web)
    web.add_argument("--listen", help="HOST:PORT or unix:PATH (default: [web] listen)")
    web.set_defaults(func=cmd_web)
    user = sub.add_parser("user", help="manage review-UI accounts")
    usub = user.add_subparsers(dest="user_command", required=True)
    add = usub.add_parser("add", help="create or reset an account (password read from stdin)")
    add_config_arg(add)
    add.add_argument("username")
    add.add_argument("--role", choices=[r.value for r in Role], required=True)
    add.set_defaults(func=cmd_add)
    pw = usub.add_parser("passwd", help="change a password (read from stdin); its sessions end")
    add_config_arg(pw)
    pw.add_argument("username")
    pw.set_defaults(func=cmd_passwd)
    for name, help_text in (
        ("disable", "refuse sign-in and end every session of the account"),
        ("enable", "allow sign-in again"),
        ("delete", "remove the account and its sessions (its audit records stay)"),
    ):
        c = usub.add_parser(name, help=help_text)
        add_config_arg(c)
        c.add_argument("username")
        c.set_defaults(func=cmd_state, action=name)
    ls = usub.add_parser("list", help="list accounts")
    add_config_arg(ls)
    ls.set_defaults(func=cmd_list)


def unix_listener(path: str) -> socket.socket:
    """A unix socket the UI serves on, mode 0660 (uvicorn's own ``uds`` makes it 0666): only the
    socket's group — the reverse proxy's — may connect, which is what lets ``trusted_header`` work
    without a shared secret.  The mode is set by chmod after bind, before listen: the daemons never
    change the process umask (a documented umask such as 0027 already keeps others out meanwhile)."""
    target = Path(path)
    target.unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(target))
    os.chmod(target, 0o660)
    sock.listen(128)
    return sock


def cmd_web(args: argparse.Namespace) -> int:
    import uvicorn

    from aupmilter.web.app import create_app

    config = load_or_exit(args.config)
    try:
        logsetup.configure(config.logging)
    except OSError as exc:
        print(f"aupmilter: refusing to start: cannot log to {config.logging.target}: {exc}", file=sys.stderr)
        return 2
    listen = args.listen or config.web.listen
    try:
        app = create_app(config, listen=listen)
    except ConfigError as exc:  # e.g. a DKIM key the release could not use
        print(f"aupmilter: refusing to start: config error: {exc}", file=sys.stderr)
        return 2
    common: dict[str, Any] = {"log_level": "warning", "proxy_headers": False, "server_header": False}
    if listen.startswith("unix:"):
        server = uvicorn.Server(uvicorn.Config(app, log_config=None, **common))
        server.run(sockets=[unix_listener(listen.removeprefix("unix:"))])
        return 0
    host, _, port = listen.rpartition(":")
    uvicorn.run(
        app,
        host=host or "127.0.0.1",
        port=int(port),
        log_config=None,  # uvicorn's lines go to the [logging] target like ours
        **common,
    )
    return 0


def _password() -> str:
    return getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")


def _accounts(args: argparse.Namespace) -> tuple[Accounts, str]:
    config = load_or_exit(args.config)
    return Accounts(open_store(config.quarantine)), current(config).actor


def cmd_add(args: argparse.Namespace) -> int:
    accounts, actor = _accounts(args)
    try:
        accounts.add(args.username, _password(), Role(args.role), actor)
    except StoreError as exc:
        print(f"aupmilter: {printable(exc)}", file=sys.stderr)
        return 1
    print(printable(f"account {args.username} ({args.role}) saved; its sessions ended"))
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    accounts, actor = _accounts(args)
    try:
        accounts.set_password(args.username, _password(), actor)
    except StoreError as exc:
        print(f"aupmilter: {printable(exc)}", file=sys.stderr)
        return 1
    print(printable(f"password of {args.username} changed; its sessions ended"))
    return 0


def cmd_state(args: argparse.Namespace) -> int:
    accounts, actor = _accounts(args)
    try:
        if args.action == "delete":
            accounts.delete(args.username, actor)
        else:
            accounts.set_disabled(args.username, args.action == "disable", actor)
    except StoreError as exc:
        print(f"aupmilter: {printable(exc)}", file=sys.stderr)
        return 1
    print(printable(f"account {args.username}: {args.action}d"))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    accounts, _actor = _accounts(args)
    for a in accounts.list():
        state = "disabled" if a.disabled else "enabled"
        print("\t".join(printable(x) for x in (a.username, a.role.value, state, f"{a.sessions} session(s)")))
    return 0
