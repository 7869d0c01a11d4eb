"""The weekly digest a network manager sends to the headteacher (policies 002/004: misuse is
reported to the headteacher / IT director).  Counts only: per category and school, top rules,
and the trend against the previous period of the same length.  No addresses, no content.

Numbers come from the store's event log (one row per message that raised findings, written by
the milter's notifier thread) and the quarantine itself.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import html
import json
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aupmilter.quarantine import QuarantineStore


@dataclass
class Period:
    since: dt.datetime
    until: dt.datetime
    messages: int = 0
    by_action: Counter[str] = field(default_factory=Counter)
    by_category: Counter[str] = field(default_factory=Counter)
    by_school: Counter[str] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)
    quarantined_held: int = 0


def summarise(store: QuarantineStore, since: dt.datetime, until: dt.datetime, domain: str | None = None) -> Period:
    period = Period(since, until)
    for _at, _direction, action, school, categories, rules in store.events(since, until):
        if domain and school != domain:
            continue
        period.messages += 1
        period.by_action[action] += 1
        period.by_school[school or "other"] += 1
        for c in filter(None, categories.split(",")):
            period.by_category[c] += 1
        for r in filter(None, rules.split(",")):
            period.by_rule[r] += 1
    period.quarantined_held = len([i for i in store.list(since=since, until=until, school=domain, limit=1_000_000)])
    return period


def build(store: QuarantineStore, since: dt.timedelta, now: dt.datetime, domain: str | None = None) -> dict[str, Any]:
    current = summarise(store, now - since, now, domain)
    previous = summarise(store, now - 2 * since, now - since, domain)
    categories = sorted(set(current.by_category) | set(previous.by_category))
    return {
        "period": {"since": current.since.isoformat(), "until": current.until.isoformat()},
        "domain": domain,
        "messages_with_findings": current.messages,
        "previous_messages_with_findings": previous.messages,
        "by_action": dict(current.by_action),
        "by_school": dict(current.by_school),
        "by_category": {
            c: {
                "count": current.by_category[c],
                "previous": previous.by_category[c],
                "change": current.by_category[c] - previous.by_category[c],
            }
            for c in categories
        },
        "top_rules": current.by_rule.most_common(10),
        "quarantine_still_held": current.quarantined_held,
    }


def as_text(report: dict[str, Any]) -> str:
    lines = [
        f"E-mail acceptable use report {report['period']['since'][:10]} to {report['period']['until'][:10]}"
        + (f" for {report['domain']}" if report["domain"] else ""),
        "",
        f"Messages with findings: {report['messages_with_findings']} "
        f"(previous period: {report['previous_messages_with_findings']})",
        "Actions: " + (", ".join(f"{k} {v}" for k, v in sorted(report["by_action"].items())) or "none"),
        "",
        "By category (this period / previous / change):",
    ]
    for cat, row in report["by_category"].items():
        lines.append(f"  {cat:<32} {row['count']:>5} {row['previous']:>5} {row['change']:>+6}")
    lines += ["", "By school:"] + [f"  {s:<32} {n:>5}" for s, n in sorted(report["by_school"].items())]
    lines += ["", "Top rules:"] + [f"  {r:<40} {n:>5}" for r, n in report["top_rules"]]
    lines += ["", f"Quarantined in this period and still held: {report['quarantine_still_held']}"]
    return "\n".join(lines) + "\n"


def as_html(report: dict[str, Any]) -> str:
    return "<html><body><pre>" + html.escape(as_text(report)) + "</pre></body></html>\n"


def as_mail(report: dict[str, Any], to: list[str], sender: str, now: dt.datetime, domain: str) -> bytes:
    """The digest as a whole message for ``sendmail -t``: From, To, Subject, Date, Message-ID,
    MIME-Version, a text part and an HTML alternative.  (The timer used to pipe bare text into
    ``sendmail -t``, which arrived with no Subject and no To.)"""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    period = f"{report['period']['since'][:10]} to {report['period']['until'][:10]}"
    scope = f" for {report['domain']}" if report["domain"] else ""
    msg["Subject"] = f"E-mail acceptable use report {period}{scope}"
    msg["Date"] = email.utils.format_datetime(now)
    msg["Message-ID"] = email.utils.make_msgid("aupmilter-report", domain=domain)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    msg.set_content(as_text(report))
    msg.add_alternative(as_html(report), subtype="html")
    return msg.as_bytes()


def render(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report, indent=2) + "\n"
    if fmt == "html":
        return as_html(report)
    return as_text(report)
