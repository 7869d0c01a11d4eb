"""The review list's filters, read from and written back to the URL.

A reviewer's place in the morning's work is the query string: period, search, category,
school, direction, status and page.  Every link and every form carries it (as ``back``), so
Back, reload, an action or a sign-in returns to the same filtered page.  Nothing is kept in
the session, so two tabs can hold two different filters.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aupmilter.config import Config

PERIODS = {"today": "Today", "7d": "Last 7 days", "all": "Any time", "range": "Date range"}
STATUSES = ("held", "released", "deleted", "any")
DIRECTIONS = ("inbound", "outbound", "internal")
MAX_SEARCH = 200


@dataclass(frozen=True)
class Filters:
    period: str = "all"
    start: str = ""  # YYYY-MM-DD (period "range"), local dates, inclusive
    end: str = ""
    q: str = ""
    category: str = ""
    school: str = ""  # school domain
    direction: str = ""
    status: str = "held"
    page: int = 1

    @classmethod
    def parse(cls, params: Mapping[str, str], config: Config) -> Filters:
        """Lenient: anything unknown falls back to the default (a bad link still shows a list)."""

        def get(name: str) -> str:
            return str(params.get(name, "") or "").strip()

        period = get("period") or "all"
        if period not in PERIODS:
            period = "all"
        start, end = _date(get("start")), _date(get("end"))
        if period != "range" and (start or end):
            period = "range"
        school = get("school")
        by_name = {s.name.lower(): s.domain for s in config.schools}
        school = by_name.get(school.lower(), school.lower())
        direction = get("direction") if get("direction") in DIRECTIONS else ""
        status = get("status") or "held"
        if status not in STATUSES:
            status = "held"
        try:
            page = max(1, min(int(get("page") or 1), 100_000))
        except ValueError:
            page = 1
        return cls(
            period=period,
            start=start if period == "range" else "",
            end=end if period == "range" else "",
            q=get("q")[:MAX_SEARCH],
            category=get("category")[:100],
            school=school[:253],
            direction=direction,
            status=status,
            page=page,
        )

    @classmethod
    def from_query(cls, query: str, config: Config) -> Filters:
        return cls.parse(dict(parse_qsl(query.lstrip("?"))), config)

    def query(self, **changes: Any) -> str:
        """This filter as a query string (defaults left out), with ``changes`` applied.

        Changing any filter but the page goes back to page 1: page 7 of another filter is
        rarely what the reviewer wants.
        """
        if changes and "page" not in changes:
            changes["page"] = 1
        f = replace(self, **changes)
        default = Filters()
        pairs = [
            (fl.name, str(getattr(f, fl.name)))
            for fl in fields(f)
            if getattr(f, fl.name) != getattr(default, fl.name) and getattr(f, fl.name) != ""
        ]
        return urlencode(pairs)

    def bounds(self, tz: zoneinfo.ZoneInfo, now: dt.datetime) -> tuple[dt.datetime | None, dt.datetime | None]:
        """``(since, until)`` in aware datetimes: local midnights, so "today" is the school's day."""
        local = now.astimezone(tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.period == "today":
            return midnight, None
        if self.period == "7d":
            return now - dt.timedelta(days=7), None
        if self.period == "range":
            since = _midnight(self.start, tz)
            end = _midnight(self.end, tz)
            return since, (end + dt.timedelta(days=1) if end else None)
        return None, None

    def store_filters(self, tz: zoneinfo.ZoneInfo, now: dt.datetime) -> dict[str, Any]:
        """Keyword arguments for ``QuarantineStore.list/count``."""
        since, until = self.bounds(tz, now)
        return {
            "category": self.category or None,
            "school": self.school or None,
            "direction": self.direction or None,
            "status": None if self.status == "any" else self.status,
            "search": self.q or None,
            "since": since,
            "until": until,
        }

    @property
    def active(self) -> bool:
        return self != Filters(page=self.page)


def _date(text: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        return ""


def _midnight(day: str, tz: zoneinfo.ZoneInfo) -> dt.datetime | None:
    if not day:
        return None
    d = dt.date.fromisoformat(day)
    return dt.datetime(d.year, d.month, d.day, tzinfo=tz)


def safe_back(query: str, config: Config) -> str:
    """A ``back`` value from a form, re-parsed so only known filters travel on."""
    return Filters.from_query(query[:2000], config).query() if query else ""


@dataclass(frozen=True)
class Paging:
    page: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (min(self.page, self.pages) - 1) * self.size

    @property
    def first(self) -> int:
        return self.offset + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.offset + self.size, self.total)
