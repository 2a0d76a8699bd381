"""Hourly and daily rollups: the same names and columns on plain PostgreSQL and TimescaleDB.

For each rolled-up feed table ``t`` there are ``t_hourly`` and ``t_daily`` with
``bucket``, ``device_id``, ``n`` (rows) and, per measure ``x``: ``x_avg``, ``x_min``,
``x_max``, ``x_n`` (non-null samples); per flag ``b``: ``b_ratio`` (share of true);
per counter ``c``: ``c_sum``. Hours are clock hours; days are Asia/Shanghai calendar days.

On TimescaleDB they are continuous aggregates (see ``timescale.py``). On plain
PostgreSQL they are tables that :class:`RollupMaintainer` keeps up to date: every
batch the collector commits records the time range it touched in ``rollup_pending``;
the maintainer recomputes the touched hour buckets from raw rows and the touched
days from the hours — the same invalidate-and-recompute scheme a continuous
aggregate uses, so late data lands in the bucket it belongs to.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from ingest.feeds import KINDS, Aggregates

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Origins for date_bin: hour buckets on the clock hour, day buckets at local midnight.
HOUR_ORIGIN = "2000-01-01 00:00:00+00"
DAY_ORIGIN = "2000-01-01 00:00:00+08"
# Advisory lock: one maintainer at a time per schema (several deployments, or tests,
# may share a database; each schema has its own rollups).
LOCK_NAME = "envmon-rollups:"


@dataclass(frozen=True)
class Rollup:
    """The rollup tables of one feed table, and the SQL that computes them."""

    table: str
    keep: Aggregates

    @property
    def hourly(self) -> str:
        return f"{self.table}_hourly"

    @property
    def daily(self) -> str:
        return f"{self.table}_daily"

    def hourly_select(self, bucket: sql.Composable) -> sql.Composed:
        """Aggregates of raw rows, grouped by ``bucket`` and device."""
        parts: list[sql.Composable] = [
            sql.SQL("{} AS bucket").format(bucket),
            sql.SQL("device_id"),
            sql.SQL("count(*) AS n"),
        ]
        for m in self.keep.measures:
            x = sql.Identifier(m)
            parts += [
                sql.SQL("avg({}) AS {}").format(x, sql.Identifier(f"{m}_avg")),
                sql.SQL("min({}) AS {}").format(x, sql.Identifier(f"{m}_min")),
                sql.SQL("max({}) AS {}").format(x, sql.Identifier(f"{m}_max")),
                sql.SQL("count({}) AS {}").format(x, sql.Identifier(f"{m}_n")),
            ]
        for f in self.keep.flags:
            parts.append(
                sql.SQL("avg({}::int)::double precision AS {}").format(
                    sql.Identifier(f), sql.Identifier(f"{f}_ratio")
                )
            )
        for c in self.keep.counters:
            parts.append(
                sql.SQL("sum({})::bigint AS {}").format(
                    sql.Identifier(c), sql.Identifier(f"{c}_sum")
                )
            )
        return sql.SQL(", ").join(parts)

    def daily_select(self, bucket: sql.Composable) -> sql.Composed:
        """Aggregates of hourly rows into days, weighted by sample counts."""
        parts: list[sql.Composable] = [
            sql.SQL("{} AS bucket").format(bucket),
            sql.SQL("device_id"),
            sql.SQL("sum(n)::bigint AS n"),
        ]
        for m in self.keep.measures:
            avg, mn, mx, cnt = (sql.Identifier(f"{m}_{s}") for s in ("avg", "min", "max", "n"))
            parts += [
                sql.SQL("sum({} * {}) / nullif(sum({}), 0) AS {}").format(avg, cnt, cnt, avg),
                sql.SQL("min({}) AS {}").format(mn, mn),
                sql.SQL("max({}) AS {}").format(mx, mx),
                sql.SQL("sum({})::bigint AS {}").format(cnt, cnt),
            ]
        for f in self.keep.flags:
            r = sql.Identifier(f"{f}_ratio")
            parts.append(sql.SQL("sum({} * n) / nullif(sum(n), 0) AS {}").format(r, r))
        for c in self.keep.counters:
            s = sql.Identifier(f"{c}_sum")
            parts.append(sql.SQL("sum({})::bigint AS {}").format(s, s))
        return sql.SQL(", ").join(parts)

    def column_types(self) -> list[tuple[str, str]]:
        cols = [("n", "bigint")]
        for m in self.keep.measures:
            cols += [
                (f"{m}_avg", "double precision"),
                (f"{m}_min", "double precision"),
                (f"{m}_max", "double precision"),
                (f"{m}_n", "bigint"),
            ]
        cols += [(f"{f}_ratio", "double precision") for f in self.keep.flags]
        cols += [(f"{c}_sum", "bigint") for c in self.keep.counters]
        return cols


# Each feed declares what its rollups keep, next to its payload model (ingest/feeds/).
ROLLUPS: tuple[Rollup, ...] = tuple(
    Rollup(k.table, k.rollup) for k in KINDS if k.rollup is not None
)
ROLLUP_BY_TABLE = {r.table: r for r in ROLLUPS}


def _hour_bucket(col: str) -> sql.Composed:
    return sql.SQL("date_bin('1 hour', {}, {}::timestamptz)").format(
        sql.Identifier(col), sql.Literal(HOUR_ORIGIN)
    )


def _day_bucket(col: str) -> sql.Composed:
    return sql.SQL("date_bin('1 day', {}, {}::timestamptz)").format(
        sql.Identifier(col), sql.Literal(DAY_ORIGIN)
    )


def create_pending_log(conn: psycopg.Connection[TupleRow]) -> None:
    """The log of raw-row ranges the writer changed, read by the maintainer."""
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS rollup_pending (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            table_name  text NOT NULL,
            lo          timestamptz NOT NULL,
            hi          timestamptz NOT NULL
        )
        """
    )


def create_plain_tables(conn: psycopg.Connection[TupleRow]) -> None:
    """The rollup tables and the pending-range log, for plain PostgreSQL."""
    create_pending_log(conn)
    for r in ROLLUPS:
        for name in (r.hourly, r.daily):
            cols: list[sql.Composable] = [
                sql.SQL("bucket timestamptz NOT NULL"),
                sql.SQL("device_id text NOT NULL"),
            ]
            cols += [
                sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in r.column_types()
            ]
            cols.append(sql.SQL("PRIMARY KEY (device_id, bucket)"))
            conn.execute(
                sql.SQL("CREATE TABLE {} ({})").format(
                    sql.Identifier(name), sql.SQL(", ").join(cols)
                )
            )
            conn.execute(
                sql.SQL("CREATE INDEX {} ON {} (bucket)").format(
                    sql.Identifier(f"{name}_bucket_idx"), sql.Identifier(name)
                )
            )


def record_pending(cur: psycopg.Cursor[TupleRow], table: str, lo: datetime, hi: datetime) -> None:
    """Called in the writer's transaction: raw rows in [lo, hi] of ``table`` changed.

    On both flavours: plain PostgreSQL recomputes those buckets, TimescaleDB refreshes the
    closed ones among them (late data), the open ones being real-time aggregates."""
    if table in ROLLUP_BY_TABLE:
        cur.execute(
            "INSERT INTO rollup_pending (table_name, lo, hi) VALUES (%s, %s, %s)", (table, lo, hi)
        )


def _floor(ts: datetime, step: timedelta, origin: datetime) -> datetime:
    return origin + ((ts - origin) // step) * step


def floor_to(ts: datetime, step: timedelta, origin: str) -> datetime:
    """The start of the bucket of ``step`` (from ``origin``, e.g. ``DAY_ORIGIN``) holding ts."""
    return _floor(ts, step, datetime.fromisoformat(origin))


def _buckets(
    ranges: Iterable[tuple[datetime, datetime]], step: timedelta, origin: str
) -> list[datetime]:
    o = datetime.fromisoformat(origin)
    out: set[datetime] = set()
    for lo, hi in ranges:
        b = _floor(lo, step, o)
        while b <= hi:
            out.add(b)
            b += step
    return sorted(out)


def read_pending(
    conn: psycopg.Connection[TupleRow],
) -> dict[str, tuple[list[int], list[tuple[datetime, datetime]]]]:
    """The ranges recorded so far, by table, with their ids (to delete once handled)."""
    rows = conn.execute("SELECT id, table_name, lo, hi FROM rollup_pending ORDER BY id").fetchall()
    by_table: dict[str, tuple[list[int], list[tuple[datetime, datetime]]]] = {}
    for row_id, table, lo, hi in rows:
        ids, ranges = by_table.setdefault(table, ([], []))
        ids.append(row_id)
        if table in ROLLUP_BY_TABLE:
            ranges.append((lo, hi))
    return by_table


def take_pending(conn: psycopg.Connection[TupleRow]) -> dict[str, list[tuple[datetime, datetime]]]:
    """The ranges recorded since the last take, by table, removed from ``rollup_pending``
    (in the caller's transaction, or at once on an autocommit connection)."""
    rows = conn.execute("DELETE FROM rollup_pending RETURNING table_name, lo, hi").fetchall()
    by_table: dict[str, list[tuple[datetime, datetime]]] = {}
    for table, lo, hi in rows:
        if table in ROLLUP_BY_TABLE:
            by_table.setdefault(table, []).append((lo, hi))
    return by_table


def refresh_pending(conn: psycopg.Connection[TupleRow]) -> int:
    """Plain PostgreSQL: recompute every bucket touched since the last refresh; returns
    the hour buckets redone."""
    redone = 0
    with conn.transaction():
        got = conn.execute(
            "SELECT pg_try_advisory_xact_lock(hashtextextended(%s || current_schema(), 0))",
            (LOCK_NAME,),
        ).fetchone()
        if not got or not got[0]:
            return 0  # another maintainer is at it
        for table, ranges in take_pending(conn).items():
            redone += _recompute(conn, ROLLUP_BY_TABLE[table], ranges)
    return redone


def _recompute(
    conn: psycopg.Connection[TupleRow], r: Rollup, ranges: list[tuple[datetime, datetime]]
) -> int:
    hours = _buckets(ranges, HOUR, HOUR_ORIGIN)
    days = _buckets([(h, h + HOUR - timedelta(microseconds=1)) for h in hours], DAY, DAY_ORIGIN)
    hourly, daily = sql.Identifier(r.hourly), sql.Identifier(r.daily)
    conn.execute(sql.SQL("DELETE FROM {} WHERE bucket = ANY(%s)").format(hourly), (hours,))
    conn.execute(
        sql.SQL(
            "INSERT INTO {} SELECT {} FROM {} WHERE ts >= %s AND ts < %s"
            " AND {} = ANY(%s) GROUP BY 1, 2"
        ).format(
            hourly, r.hourly_select(_hour_bucket("ts")), sql.Identifier(r.table), _hour_bucket("ts")
        ),
        (hours[0], hours[-1] + HOUR, hours),
    )
    conn.execute(sql.SQL("DELETE FROM {} WHERE bucket = ANY(%s)").format(daily), (days,))
    conn.execute(
        sql.SQL(
            "INSERT INTO {} SELECT {} FROM {} WHERE bucket >= %s AND bucket < %s"
            " AND {} = ANY(%s) GROUP BY 1, 2"
        ).format(daily, r.daily_select(_day_bucket("bucket")), hourly, _day_bucket("bucket")),
        (days[0], days[-1] + DAY, days),
    )
    return len(hours)
