"""The period a report covers: a local day, month or year (Asia/Shanghai)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from ingest.feeds import LOCAL_TZ

PeriodKind = Literal["day", "month", "year"]


@dataclass(frozen=True, slots=True)
class Period:
    kind: PeriodKind
    first: date  # its first local day

    @property
    def after(self) -> date:
        """The first local day after the period."""
        if self.kind == "day":
            return self.first + timedelta(days=1)
        if self.kind == "month":
            y, m = divmod(self.first.month, 12)
            return date(self.first.year + y, m + 1, 1)
        return date(self.first.year + 1, 1, 1)

    @property
    def start(self) -> datetime:
        return local_midnight(self.first)

    @property
    def end(self) -> datetime:
        return local_midnight(self.after)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.after - self.first).days)]

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.first.isoformat()
        if self.kind == "month":
            return f"{self.first:%Y-%m}"
        return f"{self.first:%Y}"

    def year_before(self) -> Period:
        first = self.first
        day = 28 if (first.month, first.day) == (2, 29) else first.day
        return Period(self.kind, first.replace(year=first.year - 1, day=day))


def local_midnight(day: date) -> datetime:
    """The instant (UTC) local ``day`` begins."""
    return datetime.combine(day, time(0), LOCAL_TZ).astimezone(UTC)


def parse_period(
    *, day: str | None = None, month: str | None = None, year: str | None = None
) -> Period:
    """Exactly one of ``day`` (YYYY-MM-DD), ``month`` (YYYY-MM) or ``year`` (YYYY)."""
    given = [(k, v) for k, v in (("date", day), ("month", month), ("year", year)) if v is not None]
    if len(given) != 1:
        raise ValueError("give exactly one of date (YYYY-MM-DD), month (YYYY-MM) or year (YYYY)")
    key, text = given[0]
    try:
        if key == "date":
            return Period("day", date.fromisoformat(text))
        if key == "month":
            y, m = text.split("-")
            return Period("month", date(int(y), int(m), 1))
        return Period("year", date(int(text), 1, 1))
    except ValueError:
        shape = {"date": "YYYY-MM-DD", "month": "YYYY-MM", "year": "YYYY"}[key]
        raise ValueError(f"{key} {text!r} is not {shape}") from None


def last_complete(kind: PeriodKind, now: datetime) -> Period:
    """The latest whole local day, month or year before ``now``."""
    today = now.astimezone(LOCAL_TZ).date()
    if kind == "day":
        return Period("day", today - timedelta(days=1))
    if kind == "month":
        last = today.replace(day=1) - timedelta(days=1)
        return Period("month", last.replace(day=1))
    return Period("year", date(today.year - 1, 1, 1))
