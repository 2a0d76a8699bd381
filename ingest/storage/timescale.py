"""Everything TimescaleDB-specific, in one place, behind detection.

Differences from plain PostgreSQL (see the README's storage section):
- feed tables become hypertables (1-day chunks) with compression after 7 days
  (segmented by device) and retention of raw rows after ``RAW_RETENTION``;
- ``<table>_hourly`` / ``<table>_daily`` are continuous aggregates (daily built on
  hourly, days bucketed in Asia/Shanghai) refreshed by policies, instead of tables
  kept by the service;
- ``refresh_continuous_aggregate`` must run outside a transaction block.
"""

from __future__ import annotations

import logging

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from ingest.feeds import KINDS
from ingest.storage.rollups import ROLLUPS

log = logging.getLogger(__name__)

RAW_RETENTION = "400 days"
COMPRESS_AFTER = "7 days"
# Continuous-aggregate refresh window: data arriving later than this is not re-aggregated.
REFRESH_START = "7 days"


def available(conn: psycopg.Connection[TupleRow]) -> bool:
    row = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    return row is not None


def install(conn: psycopg.Connection[TupleRow]) -> None:
    """Hypertables, compression, retention and continuous aggregates (inside a migration)."""
    conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    for k in KINDS:
        table = sql.Literal(k.table)
        conn.execute(
            sql.SQL(
                "SELECT create_hypertable({}, by_range('ts', INTERVAL '1 day'),"
                " migrate_data => true)"
            ).format(table)
        )
        conn.execute(
            sql.SQL(
                "ALTER TABLE {} SET (timescaledb.compress,"
                " timescaledb.compress_segmentby = 'device_id',"
                " timescaledb.compress_orderby = 'ts')"
            ).format(sql.Identifier(k.table))
        )
        conn.execute(
            sql.SQL("SELECT add_compression_policy({}, INTERVAL {})").format(
                table, sql.Literal(COMPRESS_AFTER)
            )
        )
        conn.execute(
            sql.SQL("SELECT add_retention_policy({}, INTERVAL {})").format(
                table, sql.Literal(RAW_RETENTION)
            )
        )
    for r in ROLLUPS:
        hour = sql.SQL("time_bucket(INTERVAL '1 hour', ts)")
        day = sql.SQL("time_bucket(INTERVAL '1 day', bucket, 'Asia/Shanghai')")
        for name, select, source, start, every in (
            (r.hourly, r.hourly_select(hour), r.table, REFRESH_START, "5 minutes"),
            (r.daily, r.daily_select(day), r.hourly, "30 days", "1 hour"),
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
            conn.execute(
                sql.SQL(
                    "SELECT add_continuous_aggregate_policy({}, start_offset => INTERVAL {},"
                    " end_offset => NULL, schedule_interval => INTERVAL {})"
                ).format(sql.Literal(name), sql.Literal(start), sql.Literal(every))
            )


def refresh_all(url: str, schema: str) -> None:
    """Bring every continuous aggregate up to date now (autocommit: not in a transaction)."""
    with psycopg.connect(url, autocommit=True, options=f"-c search_path={schema}") as conn:
        for r in ROLLUPS:
            for name in (r.hourly, r.daily):
                conn.execute(
                    sql.SQL("CALL refresh_continuous_aggregate({}, NULL, NULL)").format(
                        sql.Literal(name)
                    )
                )
