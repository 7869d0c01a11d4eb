"""``aupmilter quarantine list|show|release|delete|purge|unseal|audit|audit-verify``.

For IT staff on the gateway.  Every command acts as ``cli:<login>`` with a role (``--role``,
default ``reviewer``) and goes through the same role checks and audit log as the web UI:
``show`` prints metadata and findings, and prints content only with ``--content`` for a
non-sealed item; a sealed (Personal/Private) item's content needs ``unseal --reason``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import sys
from typing import Any

from aupmilter.commands.common import add_config_arg, load_or_exit
from aupmilter.errors import ConfigError
from aupmilter.quarantine import (
    AccessDenied,
    Item,
    QuarantineStore,
    Role,
    StoreError,
    open_store,
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("quarantine", help="review, release and purge quarantined mail")
    qsub = p.add_subparsers(dest="quarantine_command", required=True)

    def common(name: str, help_text: str) -> argparse.ArgumentParser:
        c = qsub.add_parser(name, help=help_text)
        add_config_arg(c)
        c.add_argument("--role", choices=[r.value for r in Role], default=Role.REVIEWER.value)
        c.add_argument("--json", action="store_true")
        return c

    ls = common("list", "list held items (newest first)")
    ls.add_argument("--category")
    ls.add_argument("--school", metavar="DOMAIN")
    ls.add_argument("--direction", choices=["inbound", "outbound", "internal"])
    ls.add_argument("--since", metavar="DATE|Nd", help="ISO date/time or e.g. 7d")
    ls.add_argument("--until", metavar="DATE")
    ls.add_argument("--status", choices=["held", "released", "deleted", "all"], default="held")
    ls.add_argument("--limit", type=int, default=200)
    ls.set_defaults(func=cmd_list)

    show = common("show", "metadata and findings of one item")
    show.add_argument("id")
    show.add_argument("--content", action="store_true", help="also print the raw message")
    show.set_defaults(func=cmd_show)

    rel = common("release", "re-inject to the original recipients (or a subset)")
    rel.add_argument("id")
    rel.add_argument("--to", action="append", metavar="ADDR", help="a subset of the recipients")
    rel.set_defaults(func=cmd_release)

    dele = common("delete", "delete an item (content removed, record kept)")
    dele.add_argument("id")
    dele.add_argument("--reason", default="")
    dele.set_defaults(func=cmd_delete)

    uns = common("unseal", "read a sealed Personal/Private item (dpo, written reason, audited)")
    uns.add_argument("id")
    uns.add_argument("--reason", required=True)
    uns.set_defaults(func=cmd_unseal)

    purge = common("purge", "delete items past their category's retention")
    purge.set_defaults(func=cmd_purge)

    audit = common("audit", "print the audit log (dpo)")
    audit.add_argument("--id")
    audit.set_defaults(func=cmd_audit)

    verify = common("audit-verify", "verify the audit hash chain; exit 1 if broken")
    verify.set_defaults(func=cmd_verify)


def actor() -> str:
    return "cli:" + (os.environ.get("SUDO_USER") or getpass.getuser())


def _store(args: argparse.Namespace) -> QuarantineStore:
    return open_store(load_or_exit(args.config).quarantine)


def _when(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    if text.endswith("d") and text[:-1].isdigit():
        return dt.datetime.now(dt.UTC) - dt.timedelta(days=int(text[:-1]))
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"aupmilter: not a date or Nd: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _line(item: Item) -> str:
    r = item.record
    rules = ",".join(dict.fromkeys(f.rule for f in r.findings))
    subject = "(sealed)" if r.sealed else (r.subject or "")
    return (
        f"{item.id}  {r.received_at:%Y-%m-%d %H:%M}  {r.direction:<8} {item.status:<8} "
        f"{r.sender} -> {', '.join(r.recipients)}  [{rules}]  {subject[:60]}"
    )


def _fail(exc: Exception) -> int:
    print(f"aupmilter: {exc}", file=sys.stderr)
    return 1


def cmd_list(args: argparse.Namespace) -> int:
    store = _store(args)
    items = store.list(
        category=args.category,
        school=args.school,
        direction=args.direction,
        since=_when(args.since),
        until=_when(args.until),
        status=None if args.status == "all" else args.status,
        limit=args.limit,
    )
    for item in items:
        print(json.dumps(item.to_json(), ensure_ascii=False) if args.json else _line(item))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    store = _store(args)
    role = Role(args.role)
    try:
        item = store.get(args.id)
        store.record_access(actor(), role, "show", item.id)
        content = store.read_content(item.id, actor(), role) if args.content else None
    except (StoreError, AccessDenied) as exc:
        return _fail(exc)
    data: dict[str, Any] = item.to_json()
    if args.json:
        if content is not None:
            data["content"] = content.decode("utf-8", "replace")
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    print(_line(item))
    print(f"reason: {item.record.reason}")
    for f in item.record.findings:
        print(f"  {f.rule} ({f.category}, score {f.score}) {f.evidence} @ {f.location}")
    if content is not None:
        sys.stdout.write("\n" + content.decode("utf-8", "replace"))
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from aupmilter.release import Releaser

    config = load_or_exit(args.config)
    try:
        releaser = Releaser(config)  # the disclaimer and DKIM signature the message would have had
    except ConfigError as exc:
        print(f"aupmilter: config error: {exc}", file=sys.stderr)
        return 2
    store = open_store(config.quarantine)
    try:
        result = store.release(args.id, actor(), Role(args.role), args.to, prepare=releaser)
    except (StoreError, AccessDenied) as exc:
        return _fail(exc)
    if args.json:
        print(json.dumps({"delivered": list(result.delivered), "refused": result.refused}))
    else:
        for rcpt in result.delivered:
            print(f"released to {rcpt}")
        for rcpt, error in result.refused.items():
            print(f"NOT released to {rcpt}: {error}", file=sys.stderr)
    return 0 if result.ok else 1


def cmd_delete(args: argparse.Namespace) -> int:
    try:
        _store(args).delete(args.id, actor(), Role(args.role), args.reason)
    except (StoreError, AccessDenied) as exc:
        return _fail(exc)
    print(f"deleted {args.id}")
    return 0


def cmd_unseal(args: argparse.Namespace) -> int:
    try:
        raw = _store(args).unseal(args.id, actor(), Role(args.role), args.reason)
    except (StoreError, AccessDenied) as exc:
        return _fail(exc)
    sys.stdout.write(raw.decode("utf-8", "replace"))
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    config = load_or_exit(args.config)
    store = open_store(config.quarantine)
    count = store.purge(
        config.quarantine.retention_days,
        config.quarantine.default_retention_days,
        actor(),
        dt.datetime.now(dt.UTC),
    )
    print(json.dumps({"purged": count}) if args.json else f"purged {count} item(s)")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    try:
        records = _store(args).audit_log(Role(args.role), args.id)
    except AccessDenied as exc:
        return _fail(exc)
    for r in records:
        if args.json:
            print(json.dumps(r.__dict__))
        else:
            print(f"{r.seq:>6} {r.at} {r.actor} ({r.role}) {r.action} {r.item_id or '-'} {r.reason}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    ok, message = _store(args).verify_audit()
    print(message if ok else f"BROKEN: {message}", file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1
