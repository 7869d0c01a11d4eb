"""``aupmilter check``: evaluate .eml files offline, exactly as the milter would.

One line per message (or one JSON object per line with ``--json``), so an admin can read why a
message got its verdict, and ``--emit DIR`` writes each message as it would leave the gateway.
Malformed MIME is a finding, not a failure: exit 0 when every file was evaluated, 1 when a file
could not be read, 2 on usage or config errors.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

from aupmilter.checks.mass_mailing import RECENT_IDENTICAL
from aupmilter.commands.common import add_config_arg, load_or_exit, ruleset_or_exit
from aupmilter.engine import evaluate
from aupmilter.message import MessageView
from aupmilter.model import Decision, Direction, Envelope
from aupmilter.ownheaders import strip_client_headers
from aupmilter.render import apply_effects


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check", help="evaluate .eml files offline and print the verdicts")
    add_config_arg(p)
    p.add_argument("--direction", choices=[d.value for d in Direction])
    p.add_argument("--sender", metavar="ADDR", help="envelope sender (default: From:)")
    p.add_argument("--rcpt", metavar="ADDR", action="append", default=[], help="repeatable")
    p.add_argument("--auth-user", metavar="USER")
    p.add_argument("--client-ip", metavar="IP")
    p.add_argument(
        "--received-at",
        type=_iso_time,
        metavar="ISO",
        help="when the gateway received it (default: the Date: header)",
    )
    p.add_argument(
        "--recent-identical",
        type=_count,
        default=0,
        metavar="N",
        help="earlier identical messages from this sender in the repeat window, as the milter would count (default 0)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per message")
    p.add_argument("--emit", metavar="DIR", help="write each message as it would leave")
    p.add_argument("paths", nargs="+", metavar="FILE.eml|DIR")
    p.set_defaults(func=run)


def _iter_files(paths: list[str]) -> Iterator[Path]:
    for text in paths:
        path = Path(text)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        else:
            yield path


def envelope_for(args: argparse.Namespace, message: MessageView) -> Envelope:
    sender = args.sender
    if sender is None:
        addrs = message.addresses("From")
        sender = addrs[0][1] if addrs else ""
    rcpts = list(args.rcpt)
    if not rcpts:
        rcpts = [a for _, a in message.addresses("To", "Cc") if a]
    direction = Direction(args.direction) if args.direction else None
    envelope = Envelope(
        sender,
        tuple(rcpts),
        args.auth_user,
        args.client_ip,
        direction=direction,
        received_at=args.received_at or _date_header(message),
    )
    recent: int = getattr(args, "recent_identical", 0)
    return envelope.with_fact(RECENT_IDENTICAL, recent) if recent else envelope


def _date_header(message: MessageView) -> dt.datetime | None:
    """The message's Date: as UTC, so offline checks judge working hours as the gateway did."""
    try:
        parsed = parsedate_to_datetime(message.header("Date") or "")
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(dt.UTC)


def _count(text: str) -> int:
    """A non-negative count: only the milter keeps the repeat window, so offline it is given."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _iso_time(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date-time: {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2026-11-20T10:15+00:00")
    return value.astimezone(dt.UTC)


def format_line(name: str, decision: Decision) -> str:
    rules = " ".join(f"{f.rule}({f.evidence})" if f.evidence else f.rule for f in decision.findings)
    reply = f" reply={decision.smtp_reply}" if decision.smtp_reply else ""
    return f"{name}: {decision.action} [{decision.direction}] {rules}{reply}".rstrip()


def to_json(name: str, decision: Decision) -> dict[str, object]:
    return {
        "file": name,
        "action": str(decision.action),
        "direction": str(decision.direction),
        "findings": [
            {
                "rule": f.rule,
                "category": f.category,
                "score": f.score,
                "evidence": f.evidence,
                "location": f.location,
            }
            for f in decision.findings
        ],
        "reason": decision.reason,
        "sealed": decision.sealed,
        "smtp_reply": str(decision.smtp_reply) if decision.smtp_reply else None,
    }


def run(args: argparse.Namespace) -> int:
    config = load_or_exit(args.config, touches_state=False)
    ruleset = ruleset_or_exit(config)
    emit_dir = Path(args.emit) if args.emit else None
    if emit_dir is not None:
        emit_dir.mkdir(parents=True, exist_ok=True)
    status = 0
    for path in _iter_files(args.paths):
        try:
            raw = path.read_bytes()
        except OSError as exc:
            print(f"aupmilter: cannot read {path}: {exc.strerror}", file=sys.stderr)
            status = 1
            continue
        # As the milter: a file's own X-AUP-* headers are not believed (aupmilter.ownheaders).
        raw = strip_client_headers(raw, ruleset.marker_key.get() if ruleset.marker_key else None).raw
        message = MessageView(raw)
        decision = evaluate(envelope_for(args, message), message, ruleset)
        if args.json:
            print(json.dumps(to_json(str(path), decision), ensure_ascii=False))
        else:
            print(format_line(str(path), decision))
        if emit_dir is not None:
            (emit_dir / path.name).write_bytes(apply_effects(raw, decision.effects))
    return status
