"""Evaluation windows on measurement time: where each window of a rule starts and ends."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import NamedTuple

from ingest.feeds import LOCAL_TZ
from services.rules.model import Day, Hour, Instant, Month, Night, Rolling, Window

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


class Span(NamedTuple):
    """A half-open window ``[start, end)`` of measurement time (aware UTC)."""

    start: datetime
    end: datetime


def _local_midnight(t: datetime) -> datetime:
    local = t.astimezone(LOCAL_TZ)
    return datetime.combine(local.date(), time(0), LOCAL_TZ).astimezone(UTC)


def _next_month(t: datetime) -> datetime:
    local = t.astimezone(LOCAL_TZ)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime(year, month, 1, tzinfo=LOCAL_TZ).astimezone(UTC)


def _month_start(t: datetime) -> datetime:
    local = t.astimezone(LOCAL_TZ)
    return datetime(local.year, local.month, 1, tzinfo=LOCAL_TZ).astimezone(UTC)


def length(window: Window) -> timedelta:
    """A window's (longest) length."""
    if isinstance(window, Rolling):
        return window.length
    if isinstance(window, Hour):
        return HOUR
    if isinstance(window, Day):
        return DAY
    if isinstance(window, Night):
        return datetime.combine(_EPOCH.date(), window.end) - datetime.combine(
            _EPOCH.date(), window.start
        )
    if isinstance(window, Month):
        return timedelta(days=31)
    return timedelta(0)


def spans(window: Window, after: datetime, until: datetime) -> list[Span]:
    """Every window of the rule that ends in ``(after, until]``, in order."""
    if isinstance(window, Instant) or until <= after:
        return []
    if isinstance(window, Rolling | Hour):
        step = window.step if isinstance(window, Rolling) else HOUR
        size = window.length if isinstance(window, Rolling) else HOUR
        k = (after - _EPOCH) // step + 1
        out = []
        while (end := _EPOCH + k * step) <= until:
            out.append(Span(end - size, end))
            k += 1
        return out
    if isinstance(window, Day | Night):
        out = []
        day = _local_midnight(after) - DAY
        while day <= until:
            if isinstance(window, Day):
                span = Span(day, _local_midnight(day + DAY + HOUR))
            else:
                local = day.astimezone(LOCAL_TZ).date()
                span = Span(
                    datetime.combine(local, window.start, LOCAL_TZ).astimezone(UTC),
                    datetime.combine(local, window.end, LOCAL_TZ).astimezone(UTC),
                )
            if after < span.end <= until:
                out.append(span)
            day = _local_midnight(day + DAY + HOUR)
        return out
    out = []
    start = _month_start(after)
    while (end := _next_month(start)) <= until:
        if end > after:
            out.append(Span(start, end))
        start = end
    return out


def local_time_in(t: datetime, start: time, end: time) -> bool:
    """Whether ``t``'s Asia/Shanghai wall-clock time is in ``[start, end)``."""
    clock = t.astimezone(LOCAL_TZ).time()
    return start <= clock < end if start <= end else clock >= start or clock < end
