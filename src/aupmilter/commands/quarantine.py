"""``aupmilter quarantine list|show|release|delete|purge|unseal|audit|grant-writer``.

For IT staff on the gateway.  Every command acts as ``cli:<login>`` of the *real* uid, with the
role its OS groups map to in ``[review.os_roles]`` (:mod:`aupmilter.commands.identity`), and
goes through the same role checks and audit log as the web UI: ``show`` prints metadata and
findings (an auditor's without subject or evidence), and prints content only with ``--content``
for a non-sealed item; a sealed (Personal/Private) item's content needs ``unseal --reason``.

Everything printed that came from mail or from a person (subjects, addresses, reasons,
evidence) goes through :func:`aupmilter.terminal.printable`: no control character, line break
or direction override reaches the terminal as itself.  ``--json`` output is ASCII-only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any

from aupmilter.commands.common import add_config_arg, load_or_exit
from aupmilter.commands.identity import CliIdentity, current
from aupmilter.config import Config
from aupmilter.errors import ConfigError
from aupmilter.quarantine import (
    AccessDenied,
    AuditKeyError,
    Item,
    QuarantineStore,
    Role,
    StoreError,
    open_store,
)
from aupmilter.terminal import printable, printable_block


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("quarantine", help="review, release and purge quarantined mail")
    qsub = p.add_subparsers(dest="quarantine_command", required=True)

    def common(name: str, help_text: str) -> argparse.ArgumentParser:
        c = qsub.add_parser(name, help=help_text)
        add_config_arg(c)
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
    show.add_argument("--content", action="store_true", help="also print the message (control characters escaped)")
    show.add_argument("--raw", action="store_true", help="with --content: exact bytes, only when not on a terminal")
    show.set_defaults(func=cmd_show)

    rel = common("release", "re-inject to the original recipients (or a subset)")
    rel.add_argument("id")
    rel.add_argument("--to", action="append", metavar="ADDR", help="a subset of the recipients")
    rel.set_defaults(func=cmd_release)

    dele = common("delete", "delete an item (content removed, record kept)")
    dele.add_argument("id")
    dele.add_argument("--reason", required=True, help="why (recorded in the audit log)")
    dele.set_defaults(func=cmd_delete)

    uns = common("unseal", "read a sealed Personal/Private item (dpo, written reason, audited)")
    uns.add_argument("id")
    uns.add_argument("--reason", required=True)
    uns.add_argument("--raw", action="store_true", help="exact bytes, only when not on a terminal")
    uns.set_defaults(func=cmd_unseal)

    purge = common("purge", "delete items past their category's retention")
    purge.set_defaults(func=cmd_purge)

    audit = common("audit", "the audit log: list (dpo), verify, rotate-key")
    audit.add_argument("action", nargs="?", choices=["list", "verify", "rotate-key"], default="list")
    audit.add_argument("--id")
    audit.set_defaults(func=cmd_audit)

    verify = common("audit-verify", "same as `audit verify` (kept for scripts)")
    verify.set_defaults(func=cmd_verify)

    grant = common("grant-writer", "PostgreSQL: migrate as the owner and give ROLE insert-only audit rights")
    grant.add_argument("writer", metavar="ROLE")
    grant.add_argument("--admin-database", required=True, metavar="URL", help="postgresql:// URL of the owner role")
    grant.set_defaults(func=cmd_grant_writer)


def _fail(exc: Exception | str) -> int:
    print(f"aupmilter: {printable(exc)}", file=sys.stderr)
    return 1


def _context(args: argparse.Namespace) -> tuple[Config, QuarantineStore, CliIdentity]:
    config = load_or_exit(args.config)
    try:
        store = open_store(config.quarantine)
    except AuditKeyError as exc:
        raise SystemExit(_fail(exc)) from None
    return config, store, current(config)


def _role(who: CliIdentity) -> Role:
    if who.role is None:
        raise AccessDenied(
            f"{who.actor} is in none of the groups mapped in [review.os_roles] (its groups: {', '.join(who.groups)})"
        )
    return who.role


def _when(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    if text.endswith("d") and text[:-1].isdigit():
        return dt.datetime.now(dt.UTC) - dt.timedelta(days=int(text[:-1]))
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"aupmilter: not a date or Nd: {printable(text)!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _line(item: Item) -> str:
    r = item.record
    rules = ",".join(dict.fromkeys(f.rule for f in r.findings))
    subject = "(sealed)" if r.sealed else (r.subject or "")
    return printable(
        f"{item.id}  {r.received_at:%Y-%m-%d %H:%M}  {r.direction:<8} {item.status:<8} "
        f"{r.sender} -> {', '.join(r.recipients)}  [{rules}]  {subject[:60]}"
    )


def _json(data: Any, **kw: Any) -> str:
    return json.dumps(data, ensure_ascii=True, **kw)


def _write_content(raw: bytes, exact: bool) -> int:
    if exact:
        if sys.stdout.isatty():
            return _fail("--raw writes the exact bytes: redirect it to a file, not a terminal")
        sys.stdout.flush()
        sys.stdout.buffer.write(raw)
        return 0
    sys.stdout.write(printable_block(raw.decode("utf-8", "replace")))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    _config, store, who = _context(args)
    try:
        role = _role(who)
    except AccessDenied as exc:
        return _fail(exc)
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
        shown = item.for_role(role)
        print(_json(shown.to_json()) if args.json else _line(shown))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    _config, store, who = _context(args)
    try:
        role = _role(who)
        item = store.get(args.id)
        store.record_access(who.actor, role, "show", item.id)
        content = store.read_content(item.id, who.actor, role) if args.content else None
    except (StoreError, AccessDenied) as exc:
        return _fail(exc)
    item = item.for_role(role)
    data: dict[str, Any] = item.to_json()
    if args.json:
        if content is not None:
            data["content"] = content.decode("utf-8", "replace")
        print(_json(data, indent=2))
        return 0
    print(_line(item))
    print(printable(f"reason: {item.record.reason}"))
    for f in item.record.findings:
        evidence = f" {f.evidence}" if f.evidence else ""
        print(printable(f"  {f.rule} ({f.category}, score {f.score}){evidence} @ {f.location}"))
    if content is not None:
        print()
        return _write_content(content, args.raw)
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from aupmilter.release import Releaser

    config, store, who = _context(args)
    try:
        releaser = Releaser(config)  # the disclaimer and DKIM signature the message would have had
    except ConfigError as exc:
        print(f"aupmilter: config error: {printable(exc)}", file=sys.stderr)
        return 2
    try:
        result = store.release(args.id, who.actor, _role(who), args.to, prepare=releaser)
    except (StoreError, AccessDenied) as exc:
        return _fail(exc)
    if args.json:
        print(_json({"delivered": list(result.delivered), "refused": result.refused}))
    else:
        for rcpt in result.delivered:
            print(printable(f"released to {rcpt}"))
        for rcpt, error in result.refused.items():
            print(printable(f"NOT released to {rcpt}: {error}"), file=sys.stderr)
    return 0 if result.ok else 1


def cmd_delete(args: argparse.Namespace) -> int:
    _config, store, who = _context(args)
    try:
        store.delete(args.id, who.actor, _role(who), args.reason)
    except (StoreError, AccessDenied) as exc:
        return _fail(exc)
    print(printable(f"deleted {args.id}"))
    return 0


def cmd_unseal(args: argparse.Namespace) -> int:
    _config, store, who = _context(args)
    try:
        raw = store.unseal(args.id, who.actor, _role(who), args.reason)
    except (StoreError, AccessDenied) as exc:
        return _fail(exc)
    return _write_content(raw, args.raw)


def cmd_purge(args: argparse.Namespace) -> int:
    config, store, who = _context(args)
    count = store.purge(
        config.quarantine.retention_days,
        config.quarantine.default_retention_days,
        who.actor,
        dt.datetime.now(dt.UTC),
    )
    print(_json({"purged": count}) if args.json else f"purged {count} item(s)")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    if args.action == "verify":
        return cmd_verify(args)
    _config, store, who = _context(args)
    if args.action == "rotate-key":
        try:
            key_id = store.rotate_audit_key(who.actor)
        except (OSError, AuditKeyError) as exc:
            return _fail(exc)
        print(printable(f"new audit key {key_id} appended to {store.keys.path}; copy it to every gateway"))
        return 0
    try:
        records = store.audit_log(_role(who), args.id)
    except AccessDenied as exc:
        return _fail(exc)
    for r in records:
        if args.json:
            print(_json(r.__dict__))
        else:
            print(printable(f"{r.seq:>6} {r.at} {r.actor} ({r.role}) {r.action} {r.item_id or '-'} {r.reason}"))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    _config, store, _who = _context(args)
    result = store.verify_audit()
    if args.json:
        print(
            _json(
                {"ok": result.ok, "message": result.message, "head_seq": result.head_seq, "head_hash": result.head_hash}
            )
        )
    else:
        print(
            printable(result.message if result.ok else f"BROKEN: {result.message}"),
            file=sys.stdout if result.ok else sys.stderr,
        )
    return 0 if result.ok else 1


def cmd_grant_writer(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from aupmilter.quarantine.db import PostgresDatabase, SchemaError, grant_writer

    config = load_or_exit(args.config)
    if not args.admin_database.startswith(("postgresql://", "postgres://")):
        return _fail("--admin-database must be a postgresql:// URL")
    try:
        owner = open_store(replace(config.quarantine, database=args.admin_database))
        assert isinstance(owner.db, PostgresDatabase)
        grant_writer(owner.db, args.writer)
    except (SchemaError, StoreError, AuditKeyError) as exc:
        return _fail(exc)
    print(printable(f"{args.writer}: insert-only on audit, no DDL; point quarantine.database at it"))
    return 0
