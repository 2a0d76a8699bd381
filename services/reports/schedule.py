"""Reports on a schedule: each entry of the routing file's ``reports`` list is made once per
period, after its time, and queued in the notification outbox for its receivers.

An entry's period is the latest whole day, month or year whose due time has passed: the
air daily report at 08:00 covers the day before; a monthly report due on the 3rd covers
the month before from the 3rd on, and the month before that until then. A pass makes the
due period's files (one per format and language), keeps them in ``report_file`` and
writes one outbox row per receiver and channel, all in one transaction; the unique keys
of both tables make a second pass, a restart or a second service queue nothing again.
The dispatcher then sends each row like an alert's (retries, backoff, idempotency keys):
e-mail with the files attached, chat robots with the headline figures and a link.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import cast, get_args

import psycopg
from psycopg.rows import TupleRow

from ingest.backoff import Backoff
from ingest.feeds import LOCAL_TZ
from ingest.loops import LoopGuard, LoopWatch, run_connected
from ingest.registry import Registry
from services.notify.routing import ReportSchedule, RoutingConfig
from services.reports.catalog import PERIODS, build_report
from services.reports.formats import MEDIA_TYPES, Format, ReportFontError, filename, render
from services.reports.formats.pdf_file import register_font
from services.reports.model import Language, Report
from services.reports.period import Period, PeriodKind, last_complete

log = logging.getLogger(__name__)

Conn = psycopg.Connection[TupleRow]
Clock = Callable[[], datetime]
INTERVAL_S = 60.0
_QUERY = {"day": "date", "month": "month", "year": "year"}


class ScheduleError(ValueError):
    """A schedule entry cannot be used; the message names the entry and field."""


@dataclass(frozen=True, slots=True)
class Scheduled:
    entry: ReportSchedule
    kind: PeriodKind
    formats: tuple[Format, ...]


def check_schedule(routing: RoutingConfig) -> list[Scheduled]:
    """The routing file's entries checked against the reports there are."""
    out = []
    known_formats = get_args(Format)
    for i, entry in enumerate(routing.reports):
        kind = PERIODS.get(entry.report)
        if kind is None:
            raise ScheduleError(
                f"reports.{i}.report: no report {entry.report!r} (the reports are"
                f" {', '.join(PERIODS)})"
            )
        bad = [f for f in entry.formats if f not in known_formats]
        if bad:
            raise ScheduleError(
                f"reports.{i}.formats: {', '.join(bad)} (use {', '.join(known_formats)})"
            )
        if kind == "day" and entry.day is not None:
            raise ScheduleError(f"reports.{i}.day: {entry.report} is daily; give only 'at'")
        if kind != "year" and entry.month is not None:
            raise ScheduleError(f"reports.{i}.month: only for an annual report")
        out.append(Scheduled(entry, kind, tuple(cast(Format, f) for f in entry.formats)))
    return out


def due_at(entry: ReportSchedule, period: Period) -> datetime:
    """When the report for ``period`` is due (aware UTC)."""
    after = period.after
    if period.kind == "day":
        day = after
    elif period.kind == "month":
        day = after.replace(day=entry.day or 1)
    else:
        day = date(after.year, entry.month or 1, entry.day or 1)
    return datetime.combine(day, entry.at, LOCAL_TZ).astimezone(UTC)


def due_period(s: Scheduled, now: datetime) -> Period:
    """The latest period whose report is due at ``now``."""
    period = last_complete(s.kind, now)
    while due_at(s.entry, period) > now:
        period = _before(period)
    return period


def _before(period: Period) -> Period:
    if period.kind == "day":
        return Period("day", period.first - timedelta(days=1))
    if period.kind == "month":
        return Period("month", (period.first - timedelta(days=1)).replace(day=1))
    return Period("year", period.first.replace(year=period.first.year - 1))


def enqueue_due(
    conn: Conn,
    registry: Registry,
    routing: RoutingConfig,
    schedule: Sequence[Scheduled],
    now: datetime,
    *,
    font: str | None = None,
) -> list[str]:
    """Make and queue every entry's due report not made yet; the ``entry/period`` queued."""
    queued = []
    for s in schedule:
        period = due_period(s, now)
        with conn.transaction():
            made = conn.execute(
                "SELECT 1 FROM report_file WHERE schedule = %s AND period = %s LIMIT 1",
                (s.entry.key, period.label),
            ).fetchone()
            if made is not None:
                continue
            report = build_report(conn, registry, s.entry.report, period, now=now)
            if _queue(conn, routing, s, report, period, font=font):
                queued.append(f"{s.entry.key}/{period.label}")
                log.info("report %s for %s queued", s.entry.key, period.label)
    return queued


def _queue(
    conn: Conn,
    routing: RoutingConfig,
    s: Scheduled,
    report: Report,
    period: Period,
    *,
    font: str | None,
) -> bool:
    entry = s.entry
    languages = {r: entry.language or _language(routing, r) for r in entry.receivers}
    files: dict[Language, list[int]] = {}
    for lang in dict.fromkeys(languages.values()):
        for fmt in s.formats:
            row = conn.execute(
                "INSERT INTO report_file (schedule, report, period, format, language, filename,"
                " media_type, content) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT DO NOTHING RETURNING id",
                (
                    entry.key, report.name, period.label, fmt, lang, filename(report, fmt),
                    MEDIA_TYPES[fmt], render(report, fmt, lang, font=font),
                ),
            ).fetchone()  # fmt: skip
            if row is None:  # another service made it first: its rows are queued
                return False
            files.setdefault(lang, []).append(row[0])
    link = None
    if routing.api_base is not None:
        link = (
            f"{routing.api_base}/api/v1/reports/{report.name}"
            f"?{_QUERY[period.kind]}={period.label}&format={s.formats[0]}"
        )
    for receiver, lang in languages.items():
        facts = {
            "report": report.name,
            "title_zh": report.title.zh,
            "title_en": report.title.en,
            "period": period.label,
            "headline": [f.text(lang) for f in report.headline],
            "link": f"{link}&lang={lang}" if link else None,
        }
        known = routing.receivers.get(receiver)
        channels: list[int | None] = list(range(len(known.channels))) if known else []
        for channel in channels or [None]:
            slot = "none" if channel is None else str(channel)
            conn.execute(
                "INSERT INTO notification (kind, rule_id, transition, receiver, channel,"
                " idempotency_key, notice, files, state)"
                " VALUES ('report', %s, 'report', %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (idempotency_key) DO NOTHING",
                (
                    f"report:{report.name}", receiver, channel,
                    f"report-{entry.key}-{period.label}-{receiver}-{slot}",
                    json.dumps(facts, ensure_ascii=False), files[lang],
                    "pending" if channel is not None else "no_channel",
                ),
            )  # fmt: skip
    return True


def _language(routing: RoutingConfig, receiver: str) -> Language:
    known = routing.receivers.get(receiver)
    return known.language if known is not None else "zh"


class ReportScheduler:
    """The schedule's loop on a thread of its own: a pass a minute, and one at start so a
    report due while the service was down goes out when it is back. A failed pass is
    logged and counted (``ingest.loops``); a permanent failure ends the loop and sets
    ``watch``."""

    def __init__(
        self,
        routing: RoutingConfig,
        registry: Registry,
        connect: Callable[[], Conn],
        *,
        font: str | None = None,
        clock: Clock = lambda: datetime.now(UTC),
        guard: LoopGuard | None = None,
        interval_s: float = INTERVAL_S,
    ) -> None:
        self.schedule = check_schedule(routing)
        if any("pdf" in s.formats for s in self.schedule):
            try:
                register_font(font)
            except ReportFontError as exc:
                raise ScheduleError(str(exc)) from None
        self._routing = routing
        self._registry = registry
        self._connect = connect
        self._font = font
        self._clock = clock
        self._interval = interval_s
        self._guard = guard or LoopGuard(
            "report-schedule", "local", watch=LoopWatch(), backoff=Backoff(5.0, 300.0)
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, conn: Conn) -> list[str]:
        return enqueue_due(
            conn, self._registry, self._routing, self.schedule, self._clock(), font=self._font
        )

    def start(self) -> None:
        if not self.schedule:
            return
        log.info(
            "report schedule: %s",
            ", ".join(f"{s.entry.key} at {s.entry.at:%H:%M}" for s in self.schedule),
        )
        self._thread = threading.Thread(target=self._run, name="report-schedule", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        run_connected(self.run_once, self._connect, self._stop, self._interval, self._guard)
