"""Everything TimescaleDB-specific, in one place, behind detection.

Differences from plain PostgreSQL (see the README's storage section):
- feed tables become hypertables (1-day chunks) with compression after 7 days
  (segmented by device); raw rows are kept unless a retention is configured
  (``retention.py``, the same setting on both flavours);
- ``<table>_hourly`` / ``<table>_daily`` are continuous aggregates (daily built on
  hourly, days bucketed in Asia/Shanghai) with real-time aggregation. Their policies
  materialize only closed buckets (``end_offset``), so the open hour and day are always
  computed from the rows below them, and refresh over the whole history
  (``start_offset => NULL``): late data of any age is re-aggregated from TimescaleDB's
  invalidation log. The collector's maintainer also refreshes the closed buckets that a
  late batch touched (``refresh_pending``), within the same bound as on plain PostgreSQL.

The extension lives outside the project's schema — where it is already installed, or
created in ``public`` (as the official image does) — so that several schemas share it and
dropping a schema never drops it. Its functions are called schema-qualified.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from ingest.feeds import KINDS
from ingest.storage.rollups import (
    DAY,
    DAY_ORIGIN,
    HOUR,
    HOUR_ORIGIN,
    LOCK_NAME,
    ROLLUPS,
    floor_to,
    read_pending,
)

log = logging.getLogger(__name__)

EXTENSION_SCHEMA = "public"  # where the extension is created when it is not installed yet
COMPRESS_AFTER = "7 days"
# Policies: (end_offset, schedule) of the hourly and the daily aggregates.
HOURLY_POLICY = ("1 hour", "5 minutes")
DAILY_POLICY = ("1 day", "1 hour")


class TimescaleSetupError(RuntimeError):
    """TimescaleDB cannot be used on this server as it is configured; says what to set."""


@dataclass(frozen=True)
class Status:
    """What the server offers: the extension installable, installed (where), preloaded."""

    available: bool
    installed_in: str | None
    preloaded: bool


def status(conn: psycopg.Connection[TupleRow]) -> Status:
    available = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    installed = conn.execute(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'timescaledb'"
    ).fetchone()
    # shared_preload_libraries is readable by superusers only; a setting the preloaded
    # library defines is typed (a bare entry in postgresql.conf would read as a string).
    defined = conn.execute(
        "SELECT vartype FROM pg_settings WHERE name = 'timescaledb.max_background_workers'"
    ).fetchone()
    return Status(
        available=available is not None,
        installed_in=str(installed[0]) if installed else None,
        preloaded=defined is not None and defined[0] == "integer",
    )


def not_preloaded_message(st: Status) -> str:
    where = f" (the extension is already created in schema {st.installed_in})"
    return (
        "the timescaledb extension is installed on the server but not preloaded: add"
        " timescaledb to shared_preload_libraries in postgresql.conf (e.g."
        " shared_preload_libraries = 'timescaledb') and restart PostgreSQL, or set"
        " ENVMON_DATABASE__TIMESCALEDB=off to use plain PostgreSQL"
        + (where if st.installed_in else "")
    )


def extension_schema(conn: psycopg.Connection[TupleRow]) -> str:
    """The schema holding the extension, creating it in ``public`` when absent."""
    st = status(conn)
    if not st.preloaded:
        raise TimescaleSetupError(not_preloaded_message(st))
    if st.installed_in is not None:
        return st.installed_in
    try:
        with conn.transaction():
            conn.execute(
                sql.SQL("CREATE EXTENSION IF NOT EXISTS timescaledb SCHEMA {}").format(
                    sql.Identifier(EXTENSION_SCHEMA)
                )
            )
    except psycopg.errors.InsufficientPrivilege:
        raise TimescaleSetupError(
            f"this role may not create the timescaledb extension in schema {EXTENSION_SCHEMA}:"
            f" have the database owner run CREATE EXTENSION timescaledb SCHEMA"
            f" {EXTENSION_SCHEMA}, or GRANT CREATE ON SCHEMA {EXTENSION_SCHEMA} to it"
        ) from None
    return EXTENSION_SCHEMA


def _fn(ext: str, name: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(ext), sql.Identifier(name))


def install(conn: psycopg.Connection[TupleRow]) -> None:
    """Hypertables, compression and continuous aggregates (inside a migration)."""
    ext = extension_schema(conn)
    for k in KINDS:
        table = sql.Literal(k.table)
        conn.execute(
            sql.SQL("SELECT {}({}, {}('ts', INTERVAL '1 day'), migrate_data => true)").format(
                _fn(ext, "create_hypertable"), table, _fn(ext, "by_range")
            )
        )
        conn.execute(
            sql.SQL(
                "ALTER TABLE {} SET (timescaledb.compress,"
                " timescaledb.compress_segmentby = 'device_id',"
                " timescaledb.compress_orderby = 'ts')"
            ).format(sql.Identifier(k.table))
        )
        conn.execute(
            sql.SQL("SELECT {}({}, INTERVAL {})").format(
                _fn(ext, "add_compression_policy"), table, sql.Literal(COMPRESS_AFTER)
            )
        )
    for r in ROLLUPS:
        hour = sql.SQL("{}(INTERVAL '1 hour', ts)").format(_fn(ext, "time_bucket"))
        day = sql.SQL("{}(INTERVAL '1 day', bucket, 'Asia/Shanghai')").format(
            _fn(ext, "time_bucket")
        )
        for name, select, source in (
            (r.hourly, r.hourly_select(hour), r.table),
            (r.daily, r.daily_select(day), r.hourly),
        ):
            conn.execute(
                sql.SQL(
                    # materialized_only = false: real-time aggregation, so the newest rows
                    # show up at once, as with the plain-PostgreSQL rollups
                    "CREATE MATERIALIZED VIEW {} WITH (timescaledb.continuous,"
                    " timescaledb.materialized_only = false) AS"
                    " SELECT {} FROM {} GROUP BY 1, 2 WITH NO DATA"
                ).format(sql.Identifier(name), select, sql.Identifier(source))
            )
    set_policies(conn, ext)


def set_policies(
    conn: psycopg.Connection[TupleRow], ext: str, retention_days: int | None = None
) -> None:
    """The continuous-aggregate policies: closed buckets only, over the whole history —
    or, with a raw-row retention, only where raw rows are kept: TimescaleDB logs dropped
    chunks as changed, and refreshing them would empty the rollups of that time."""
    start = None if retention_days is None else timedelta(days=max(retention_days - 1, 1))
    for r in ROLLUPS:
        for name, (end, every) in ((r.hourly, HOURLY_POLICY), (r.daily, DAILY_POLICY)):
            conn.execute(
                sql.SQL("SELECT {}({}, if_exists => true)").format(
                    _fn(ext, "remove_continuous_aggregate_policy"), sql.Literal(name)
                )
            )
            conn.execute(
                sql.SQL(
                    "SELECT {}({}, start_offset => %s::interval, end_offset => INTERVAL {},"
                    " schedule_interval => INTERVAL {})"
                ).format(
                    _fn(ext, "add_continuous_aggregate_policy"),
                    sql.Literal(name),
                    sql.Literal(end),
                    sql.Literal(every),
                ),
                (start,),
            )


def upgrade_policies(conn: psycopg.Connection[TupleRow]) -> None:
    """Migration 8 on TimescaleDB: the rollup policies of ``install`` for schemas made
    before it (whose policies left late data and the open buckets out), and no retention
    policy unless one is configured."""
    ext = extension_schema(conn)
    set_policies(conn, ext)
    for k in KINDS:
        conn.execute(
            sql.SQL("SELECT {}({}, if_exists => true)").format(
                _fn(ext, "remove_retention_policy"), sql.Literal(k.table)
            )
        )


def refresh_pending(conn: psycopg.Connection[TupleRow], now: datetime) -> int:
    """The maintainer's pass on TimescaleDB (an autocommit connection): the closed buckets
    that batches since the last pass touched are refreshed. Returns hour buckets done."""
    lock = conn.execute(
        "SELECT pg_try_advisory_lock(hashtextextended(%s || current_schema(), 0))",
        (LOCK_NAME,),
    ).fetchone()
    if not lock or not lock[0]:
        return 0  # another maintainer is at it
    try:
        done = 0
        for table, (ids, ranges) in read_pending(conn).items():
            try:
                done += refresh_closed(conn, table, ranges, now)
            except psycopg.errors.LockNotAvailable:
                # A policy is refreshing this aggregate (TimescaleDB refuses overlapping
                # refreshes): the ranges stay for the next pass.
                log.info("%s: a policy refresh is running; its late ranges wait", table)
                continue
            conn.execute("DELETE FROM rollup_pending WHERE id = ANY(%s)", (ids,))
        return done
    finally:
        conn.execute(
            "SELECT pg_advisory_unlock(hashtextextended(%s || current_schema(), 0))",
            (LOCK_NAME,),
        )


def refresh_closed(
    conn: psycopg.Connection[TupleRow],
    table: str,
    ranges: list[tuple[datetime, datetime]],
    now: datetime,
) -> int:
    """Re-materialize the closed hour and day buckets that ``ranges`` of raw rows touched
    (autocommit connection: refreshing cannot run in a transaction). The open hour and
    day are left to real-time aggregation. Returns the hour buckets refreshed."""
    ext = _installed_schema(conn)
    hourly, daily = f"{table}_hourly", f"{table}_daily"
    hour_end = floor_to(now, HOUR, HOUR_ORIGIN)
    day_end = floor_to(now, DAY, DAY_ORIGIN)
    hours = 0
    for lo, hi in _merged(ranges):
        h0 = floor_to(lo, HOUR, HOUR_ORIGIN)
        h1 = min(floor_to(hi, HOUR, HOUR_ORIGIN) + HOUR, hour_end)
        if h0 < h1:
            _refresh(conn, ext, hourly, h0, h1)
            hours += int((h1 - h0) / HOUR)
        d0 = floor_to(lo, DAY, DAY_ORIGIN)
        d1 = min(floor_to(hi, DAY, DAY_ORIGIN) + DAY, day_end)
        if d0 < d1:
            _refresh(conn, ext, daily, d0, d1)
    return hours


def _refresh(
    conn: psycopg.Connection[TupleRow], ext: str, name: str, start: datetime, end: datetime
) -> None:
    conn.execute(
        sql.SQL("CALL {}({}, %s, %s)").format(
            _fn(ext, "refresh_continuous_aggregate"), sql.Literal(name)
        ),
        (start, end),
    )


def _merged(ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Overlapping or adjacent (within a day) ranges joined, so few refresh calls run."""
    out: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + timedelta(days=1):
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _installed_schema(conn: psycopg.Connection[TupleRow]) -> str:
    row = conn.execute(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'timescaledb'"
    ).fetchone()
    if row is None:
        raise TimescaleSetupError("the timescaledb extension is not installed in this database")
    return str(row[0])


@dataclass(frozen=True)
class Workers:
    """The background workers a database's policy jobs need, against what is configured."""

    jobs: int
    max_worker_processes: int
    max_background_workers: int
    max_parallel_workers: int

    @property
    def needed_background(self) -> int:
        # One scheduler per database plus room for the jobs that fall due together.
        return min(self.jobs, 16) + 2

    @property
    def needed_processes(self) -> int:
        return self.needed_background + self.max_parallel_workers + 3

    @property
    def short(self) -> bool:
        return (
            self.max_background_workers < self.needed_background
            or self.max_worker_processes < self.needed_processes
        )

    def advice(self) -> str:
        background = max(self.max_background_workers, self.needed_background)
        processes = max(self.max_worker_processes, background + self.max_parallel_workers + 3)
        return (
            f"{self.jobs} TimescaleDB policy jobs in this database, but"
            f" timescaledb.max_background_workers = {self.max_background_workers} and"
            f" max_worker_processes = {self.max_worker_processes}: jobs will fail to start"
            ' ("failed to start a background worker") and run late. Set'
            f" timescaledb.max_background_workers = {background} and"
            f" max_worker_processes = {processes} (background workers +"
            f" max_parallel_workers {self.max_parallel_workers} + 3) in postgresql.conf and"
            " restart PostgreSQL"
        )


def workers(conn: psycopg.Connection[TupleRow]) -> Workers:
    jobs = conn.execute(
        "SELECT count(*) FROM timescaledb_information.jobs WHERE hypertable_name IS NOT NULL"
    ).fetchone()

    def setting(name: str) -> int:
        row = conn.execute("SELECT current_setting(%s)", (name,)).fetchone()
        return int(row[0]) if row else 0

    return Workers(
        jobs=int(jobs[0]) if jobs else 0,
        max_worker_processes=setting("max_worker_processes"),
        max_background_workers=setting("timescaledb.max_background_workers"),
        max_parallel_workers=setting("max_parallel_workers"),
    )
