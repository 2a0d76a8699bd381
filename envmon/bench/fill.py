"""A schema holding N days of the whole district, for benchmarks of what reads the data.

The wastewater, air and water feeds are simulated over the whole span and stored by
ingest's own decoder and writer. The RSUs' heartbeats and counters (about 16 M rows a
day, 99 % of the district's traffic) are simulated for their first ten minutes the same
way, and that stretch is then repeated in SQL over the span: the row count, the per-device
spacing and the index shape are the district's, the values repeat every ten minutes.
Rollups are then computed as the collector's maintainer does, extended back to
``ROLLUP_DAYS`` by repeating the filled days, and every station's hourly AQI is stored as
the rule engine stores it.

A fill is kept (a marker table records its span) and reused by later runs with the same
days and seed, since it takes minutes.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from envmon.bench.ingest_procs import stored_rows
from envmon.replay import StoredReplay
from ingest.feeds import KINDS
from ingest.registry import load_registry
from ingest.storage.maintain import refresh_rollups
from ingest.storage.migrate import connect, flavour, migrate
from ingest.storage.rollups import ROLLUPS, record_pending
from services.standards.hj633 import hourly_aqi
from services.statistics.air import HOUR_SAMPLES, hourly_means, store_aqi
from services.storage import MIGRATIONS as SERVICE_MIGRATIONS
from simulators import DistrictSimulator

log = logging.getLogger(__name__)
HOUR = timedelta(hours=1)
BASE = timedelta(minutes=10)  # the RSU stretch simulated, then repeated
REPEAT_CHUNK = 36  # repeats per statement: six hours of RSU rows
ROLLUP_DAYS = 90
SIMULATED_FEEDS = ("wastewater", "air", "water")
REPEATED_TABLES = ("rsu_heartbeat", "rsu_counters")


@dataclass(frozen=True)
class Fill:
    start: datetime
    end: datetime
    days: int
    seed: int
    rows: int
    seconds: float
    reused: bool


def district_fill(
    db_url: str, schema: str, days: int, seed: int, *, refill: bool, timescaledb: str = "off"
) -> Fill:
    """The schema's fill when it matches (``days``, ``seed``), else a fresh one
    (``timescaledb``: the storage setting, auto | off | require)."""
    if not refill and (kept := _kept_fill(db_url, schema, days, seed)) is not None:
        log.info("reusing the fill of %s (%d days, %s rows)", kept.end, days, f"{kept.rows:,}")
        migrate(db_url, schema, timescaledb, SERVICE_MIGRATIONS)  # migrations added since
        return kept
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    migrate(db_url, schema, timescaledb, SERVICE_MIGRATIONS)
    began = time.monotonic()
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    _simulate(db_url, schema, start, end, seed)
    with connect(db_url, schema, autocommit=True) as conn:
        _repeat_rsu_rows(conn, start, end)
        log.info("computing the hourly and daily rollups ...")
        refresh_rollups(db_url, schema, datetime.now(UTC))
        _extend_rollups(conn, start, days, timescale=flavour(conn) == "timescaledb")
        _store_aqi(conn, start, end)
        log.info("analysing the tables ...")
        conn.execute("ANALYZE")
        rows = stored_rows(conn)
        fill = Fill(start, end, days, seed, rows, time.monotonic() - began, reused=False)
        conn.execute(
            "CREATE TABLE bench_fill (start_ts timestamptz, end_ts timestamptz, days int,"
            " seed int, rows bigint, seconds double precision)"
        )
        conn.execute(
            "INSERT INTO bench_fill VALUES (%s, %s, %s, %s, %s, %s)",
            (start, end, days, seed, rows, fill.seconds),
        )
    log.info("filled %s rows in %.0f s", f"{rows:,}", fill.seconds)
    return fill


def _kept_fill(db_url: str, schema: str, days: int, seed: int) -> Fill | None:
    with psycopg.connect(db_url) as conn:
        found = conn.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s"
            " AND table_name = 'bench_fill'",
            (schema,),
        ).fetchone()
        if found is None:
            return None
        row = conn.execute(
            sql.SQL("SELECT start_ts, end_ts, rows, seconds FROM {}.bench_fill"
                    " WHERE days = %s AND seed = %s").format(sql.Identifier(schema)),
            (days, seed),
        ).fetchone()  # fmt: skip
    if row is None:
        return None
    return Fill(row[0], row[1], days, seed, row[2], row[3], reused=True)


def _simulate(db_url: str, schema: str, start: datetime, end: datetime, seed: int) -> None:
    registry = load_registry()
    for feeds, until in ((SIMULATED_FEEDS, end), (("v2x",), start + BASE)):
        sim = DistrictSimulator(registry, seed, feeds=feeds, run_window=(start, until))
        replay = StoredReplay(db_url, schema, registry, sim)
        try:
            t = start
            while t < until:
                step = min(HOUR, until - t)
                replay.store(t, t + step)
                t += step
                if t.hour == 0 or t == until:
                    log.info(
                        "%s: simulated up to %s, %s messages stored",
                        "+".join(feeds), t.isoformat(), f"{replay.messages:,}",
                    )  # fmt: skip
        finally:
            replay.close()


def _repeat_rsu_rows(conn: psycopg.Connection[TupleRow], start: datetime, end: datetime) -> None:
    """Repeat the simulated first ``BASE`` of the RSU tables over ``[start, end)``."""
    repeats = int((end - start) / BASE)
    for table in REPEATED_TABLES:
        kind = next(k for k in KINDS if k.table == table)
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in kind.columns)
        # The stretch to repeat, kept apart: the table itself has no index while loading.
        conn.execute(
            sql.SQL(
                "CREATE TEMP TABLE repeat_base AS SELECT b.*, n.per_step"
                " FROM {t} b JOIN (SELECT device_id, count(*) AS per_step FROM {t}"
                "  WHERE ts >= %(a)s AND ts < %(b)s GROUP BY device_id) n USING (device_id)"
                " WHERE b.ts >= %(a)s AND b.ts < %(b)s"
            ).format(t=sql.Identifier(table)),
            {"a": start, "b": start + BASE},
        )
        insert = sql.SQL(
            "INSERT INTO {t} (device_id, ts, seq, received_at, {cols})"
            " SELECT device_id, ts + k * %(step)s, seq + k * per_step,"
            " received_at + k * %(step)s, {cols}"
            " FROM repeat_base CROSS JOIN generate_series(%(k0)s::int, %(k1)s::int) AS k"
        ).format(t=sql.Identifier(table), cols=cols)
        # A hypertable's indexes live on its chunks: it is loaded with them.
        plain = flavour(conn) == "postgresql"
        with _indexes_rebuilt_after(conn, table) if plain else contextlib.nullcontext():
            for k0 in range(1, repeats, REPEAT_CHUNK):
                k1 = min(repeats - 1, k0 + REPEAT_CHUNK - 1)
                conn.execute(insert, {"step": BASE, "k0": k0, "k1": k1})
                if k0 == 1 or (k1 + 1) % (REPEAT_CHUNK * 4) == 0 or k1 == repeats - 1:
                    log.info("%s: repeated up to %s", table, (start + (k1 + 1) * BASE).isoformat())
        with conn.cursor() as cur:
            record_pending(cur, table, start, end)
        conn.execute(
            "INSERT INTO device_latest (table_name, device_id, ts, received_at)"
            " SELECT %(t)s, device_id, max(ts) + %(last)s, max(received_at) + %(last)s"
            " FROM repeat_base GROUP BY device_id ON CONFLICT (table_name, device_id)"
            " DO UPDATE SET ts = excluded.ts, received_at = excluded.received_at",
            {"t": table, "last": (repeats - 1) * BASE},
        )
        conn.execute("DROP TABLE repeat_base")


@contextlib.contextmanager
def _indexes_rebuilt_after(conn: psycopg.Connection[TupleRow], table: str) -> Iterator[None]:
    """Bulk loading without the table's indexes, then building them once (sorted) is
    several times faster than keeping a tens-of-millions-row btree up to date."""
    pk = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype = 'p'",
        (table,),
    ).fetchone()
    others = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
        " AND tablename = %s AND indexname <> %s",
        (table, pk[0] if pk else ""),
    ).fetchall()
    if pk:
        conn.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(table), sql.Identifier(pk[0])
            )
        )
    for name, _ in others:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    yield
    log.debug("%s: building its indexes ...", table)
    conn.execute("SET maintenance_work_mem = '1GB'")
    if pk:
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                sql.Identifier(table), sql.Identifier(pk[0]), sql.SQL(pk[1])
            )
        )
    for _, definition in others:
        conn.execute(sql.SQL(definition))  # as pg_indexes gave it


def _extend_rollups(
    conn: psycopg.Connection[TupleRow], start: datetime, days: int, *, timescale: bool
) -> None:
    """Copy the filled days' rollups back in time until they cover ``ROLLUP_DAYS``.

    On TimescaleDB the copies go into the continuous aggregates' materialization
    hypertables, below their watermark, where the views read materialized buckets (a
    shortcut of this benchmark's: nothing else writes there)."""
    copies = math.ceil(ROLLUP_DAYS / days) - 1
    if copies <= 0:
        return
    log.info("extending the rollups back to %d days ...", ROLLUP_DAYS)
    for r in ROLLUPS:
        cols = [c for c, _ in r.column_types()]
        for name in (r.hourly, r.daily):
            if timescale:
                # A new aggregate has all time logged as changed: refreshed up to the fill
                # now, so that no policy run empties the copies below it later.
                conn.execute(
                    "CALL public.refresh_continuous_aggregate(%s, NULL, %s)", (name, start)
                )
            table = _materialization(conn, name) if timescale else sql.Identifier(name)
            # A day bucket that began before the fill holds part of a day; copies of
            # whole buckets take its place.
            conn.execute(sql.SQL("DELETE FROM {} WHERE bucket < %s").format(table), (start,))
            rebuilt = contextlib.nullcontext() if timescale else _indexes_rebuilt_after(conn, name)
            with rebuilt:
                conn.execute(
                    sql.SQL(
                        "INSERT INTO {t} (bucket, device_id, {cols})"
                        " SELECT r.bucket - k * %(span)s, r.device_id, {rcols}"
                        " FROM {t} r CROSS JOIN generate_series(1, %(copies)s::int) AS k"
                        " WHERE r.bucket >= %(start)s"
                    ).format(
                        t=table,
                        cols=sql.SQL(", ").join(sql.Identifier(c) for c in cols),
                        rcols=sql.SQL(", ").join(sql.Identifier("r", c) for c in cols),
                    ),
                    {"span": timedelta(days=days), "copies": copies, "start": start},
                )


def _materialization(conn: psycopg.Connection[TupleRow], view: str) -> sql.Composable:
    row = conn.execute(
        "SELECT materialization_hypertable_schema, materialization_hypertable_name"
        " FROM timescaledb_information.continuous_aggregates"
        " WHERE view_schema = current_schema() AND view_name = %s",
        (view,),
    ).fetchone()
    assert row is not None, view
    return sql.Identifier(str(row[0]), str(row[1]))


def _store_aqi(conn: psycopg.Connection[TupleRow], start: datetime, end: datetime) -> None:
    """Every station's hourly AQI, as the rule engine computes and stores it."""
    log.info("computing the stations' hourly AQI ...")
    stations = [d.device_id for d in load_registry().devices() if d.feed == "air"]
    hour = start
    while hour < end:
        for device, conc in hourly_means(conn, stations, hour, HOUR_SAMPLES).items():
            result = hourly_aqi(conc, hour) if any(v is not None for v in conc.values()) else None
            if result is not None and result.aqi is not None:
                store_aqi(conn, device, hour, result, conc)
        hour += HOUR
