"""TimescaleDB as deployed: the extension shared in public, failed setups, late data,
open buckets, background workers and retention — each compared with plain PostgreSQL."""

from __future__ import annotations

import logging
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from psycopg import sql

from envmon.runtime.embedded import embedded_postgres, embedded_timescaledb_available
from ingest.collector.decode import Decoder
from ingest.collector.inbound import Inbound
from ingest.collector.writer import BatchWriter
from ingest.feeds import KINDS
from ingest.storage import retention, timescale
from ingest.storage.migrate import MIGRATIONS, MigrationError, connect, migrate
from ingest.storage.rollups import ROLLUPS
from services.storage import MIGRATIONS as SERVICE_MIGRATIONS
from tests.fixtures.servers import Database, drop_schema, fresh_database, pause_jobs

pytestmark = [pytest.mark.database]
NOW = datetime.now(UTC).replace(microsecond=0)
TYPES = {"air-guantang": "air_station", "air-hualing": "air_station"}


def reading(device: str, ts: datetime, pm25: float) -> Inbound:
    payload = f'{{"v":1,"ts":"{ts.isoformat()}","seq":1,"pm25_ugm3":{pm25}}}'.encode()
    topic = f"liudong/air/{device}/reading".encode()
    return Inbound(topic, payload, 1, 1, NOW, Decoder(TYPES).decode(topic, payload, NOW))


def minutes(start: datetime, n: int, device: str = "air-guantang") -> list[Inbound]:
    return [reading(device, start + timedelta(minutes=i), 10.0 + i % 17) for i in range(n)]


def store(db: Database, rows: list[Inbound]) -> None:
    writer = BatchWriter(db.url, db.schema)
    writer.write(rows)
    writer.close()


def rollup_rows(db: Database, name: str) -> list[tuple[object, ...]]:
    with db.connect() as conn:
        return conn.execute(
            sql.SQL(
                "SELECT bucket, device_id, n, round(pm25_ugm3_avg::numeric, 6),"
                " pm25_ugm3_min, pm25_ugm3_max, pm25_ugm3_n FROM {} ORDER BY 1, 2"
            ).format(sql.Identifier(name))
        ).fetchall()


@pytest.fixture
def both(postgres_url: str, timescale_url: str) -> Iterator[tuple[Database, Database]]:
    with (
        fresh_database(postgres_url) as plain,
        fresh_database(timescale_url, "timescaledb") as tsdb,
    ):
        yield plain, tsdb


def test_on_time_late_and_very_late_readings_give_the_same_rollups(
    both: tuple[Database, Database],
) -> None:
    hour = NOW.replace(minute=0, second=0)
    weeks_ago = hour - timedelta(days=21)
    on_time = minutes(hour - timedelta(hours=3), 150) + minutes(weeks_ago, 30)
    late = minutes(hour - timedelta(hours=5), 40, "air-hualing")  # hours late
    very_late = minutes(weeks_ago + timedelta(minutes=30), 30)  # weeks late, same hour
    for db in both:
        store(db, on_time)
        db.refresh_rollups()
    plain, tsdb = both
    with tsdb.connect() as conn:  # as the compression policy leaves a week-old chunk
        compressed = conn.execute(
            "SELECT count(public.compress_chunk(c))"
            " FROM public.show_chunks('air_reading', older_than => INTERVAL '7 days') c"
        ).fetchone()
        conn.commit()
    assert compressed is not None
    assert compressed[0] >= 1
    for db in both:
        store(db, late + very_late)
        db.refresh_rollups()
    for name in ("air_reading_hourly", "air_reading_daily"):
        got = rollup_rows(tsdb, name)
        assert got == rollup_rows(plain, name), name
        assert got  # not two empty views
    weeks_bucket = [r for r in rollup_rows(tsdb, "air_reading_hourly") if r[0] == weeks_ago]
    assert weeks_bucket[0][2] == 60  # the very late half reached the compressed hour


def test_the_open_hour_stays_current_after_the_policies_ran(timescale_url: str) -> None:
    with fresh_database(timescale_url, "timescaledb") as db:
        now = datetime.now(UTC)
        if now.minute == 59 and now.second > 50:  # keep the whole test inside one hour
            time.sleep(61 - now.second)
            now = datetime.now(UTC)
        start = now.replace(minute=0, second=0, microsecond=0)  # the open hour
        store(db, [reading("air-guantang", start + timedelta(seconds=i), 20.0) for i in range(7)])
        run_jobs(db, "policy_refresh_continuous_aggregate", expected=2 * len(ROLLUPS))
        db.refresh_rollups()
        assert count_in_hour(db, start) == 7
        store(db, [reading("air-guantang", start + timedelta(seconds=8), 21.0)])
        assert count_in_hour(db, start) == 8  # at once: real-time aggregation


def run_jobs(db: Database, proc: str, *, expected: int) -> None:
    """Run the schema's policy jobs of ``proc`` now (the tests pause their schedule)."""
    with db.connect() as conn:
        jobs = conn.execute(
            "SELECT job_id FROM timescaledb_information.jobs"
            " WHERE proc_name = %s AND hypertable_schema = %s ORDER BY job_id",
            (proc, db.schema),
        ).fetchall()
        conn.commit()
        assert len(jobs) == expected
        conn.autocommit = True
        for (job,) in jobs:
            conn.execute("CALL public.run_job(%s)", (job,))


def count_in_hour(db: Database, ts: datetime) -> int:
    return int(
        db.scalar(
            "SELECT n FROM air_reading_hourly WHERE device_id = 'air-guantang'"
            " AND bucket = date_bin('1 hour', %s::timestamptz, '2000-01-01 00:00+00')",
            (ts,),
        )
    )


def test_the_extension_is_shared_in_public_and_outlives_a_dropped_schema(
    timescale_url: str,
) -> None:
    with fresh_database(timescale_url, "timescaledb") as first:
        with fresh_database(timescale_url, "timescaledb") as second:
            store(second, minutes(NOW - timedelta(hours=3), 10))
        # the second schema is dropped (CASCADE) here
        with first.connect() as conn:
            where = conn.execute(
                "SELECT extnamespace::regnamespace::text FROM pg_extension"
                " WHERE extname = 'timescaledb'"
            ).fetchone()
        assert where == ("public",)
        store(first, minutes(NOW - timedelta(hours=3), 10))
        first.refresh_rollups()
        assert first.scalar("SELECT sum(n) FROM air_reading_hourly") == 10


def test_a_failed_timescaledb_setup_is_explained_and_can_be_retried(
    timescale_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = f"t_{uuid.uuid4().hex[:12]}"

    def broken(*_args: object) -> None:  # after the hypertables and aggregates exist
        raise timescale.TimescaleSetupError("simulated: out of background workers")

    monkeypatch.setattr(timescale, "set_policies", broken)
    try:
        with pytest.raises(MigrationError) as failed:
            migrate(timescale_url, schema, "require", SERVICE_MIGRATIONS)
        assert "ENVMON_DATABASE__TIMESCALEDB=off" in str(failed.value)
        assert "simulated" in str(failed.value)
        with connect(timescale_url, schema) as conn:
            versions = [v for (v,) in conn.execute("SELECT version FROM schema_migration")]
            assert versions == [1, 2, 3]  # nothing of the TimescaleDB step, no flavour
            kept = conn.execute(
                "SELECT to_regclass('air_reading_hourly'), to_regclass('rollup_pending')"
            ).fetchone()
            assert kept == (None, None)  # no aggregate, no rollup table half made
        monkeypatch.undo()
        done = migrate(timescale_url, schema, "require", SERVICE_MIGRATIONS)  # tried again
        assert done["flavour"] == "timescaledb"
        pause_jobs(Database(timescale_url, schema, "timescaledb"))
        assert done["applied"] == [m.version for m in [*MIGRATIONS, *SERVICE_MIGRATIONS]][3:]
    finally:
        drop_schema(timescale_url, schema)


@pytest.fixture(scope="module")
def not_preloaded() -> Iterator[str]:
    """A PostgreSQL that has TimescaleDB installed but not in shared_preload_libraries."""
    if not embedded_timescaledb_available():
        pytest.skip("TimescaleDB is not built into the embedded PostgreSQL")
    with (
        tempfile.TemporaryDirectory(prefix="envmon-nopreload-") as tmp,
        embedded_postgres(Path(tmp)) as url,
    ):
        yield url


def test_installed_but_not_preloaded_names_the_setting(
    not_preloaded: str, caplog: pytest.LogCaptureFixture
) -> None:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with pytest.raises(MigrationError, match="shared_preload_libraries"):
            migrate(not_preloaded, schema, "require")
        with caplog.at_level(logging.WARNING, logger="ingest.storage.migrate"):
            done = migrate(not_preloaded, schema, "auto")
        assert done["flavour"] == "postgresql"
        assert any("shared_preload_libraries" in r.getMessage() for r in caplog.records)
    finally:
        drop_schema(not_preloaded, schema)


def test_too_few_background_workers_are_reported_with_the_numbers_to_set(
    timescale_url: str,
) -> None:
    with fresh_database(timescale_url, "timescaledb") as db, db.connect() as conn:
        found = timescale.workers(conn)
    # compression of each feed table, a policy for each continuous aggregate
    assert found.jobs >= len(KINDS) + 2 * len(ROLLUPS)
    assert not found.short  # the test server is sized for them
    small = timescale.Workers(
        jobs=found.jobs, max_worker_processes=8, max_background_workers=16, max_parallel_workers=8
    )
    assert small.short
    advice = small.advice()
    assert "timescaledb.max_background_workers = 18" in advice
    assert "max_worker_processes = 29" in advice


def retention_jobs(db: Database) -> int:
    return int(
        db.scalar(
            "SELECT count(*) FROM timescaledb_information.jobs"
            " WHERE proc_name = 'policy_retention' AND hypertable_schema = %s",
            (db.schema,),
        )
    )


def test_raw_rows_are_kept_by_default_and_dropped_only_when_configured(
    both: tuple[Database, Database],
) -> None:
    plain, tsdb = both
    old = minutes(NOW - timedelta(days=40), 5)
    rows = old + minutes(NOW - timedelta(days=3), 5)
    for db in both:
        store(db, rows)
        db.refresh_rollups()
    before = rollup_rows(plain, "air_reading_hourly")
    assert retention_jobs(tsdb) == 0  # keep, by default
    with tsdb.connect() as conn:
        retention.reconcile(conn, "timescaledb", 30)
    # reconcile makes the aggregates' policies anew, scheduled: the test runs them itself
    # (a scheduled refresh racing the test's own is refused as concurrent)
    pause_jobs(tsdb)
    assert retention_jobs(tsdb) == len(KINDS)
    run_jobs(tsdb, "policy_retention", expected=len(KINDS))
    run_jobs(tsdb, "policy_refresh_continuous_aggregate", expected=2 * len(ROLLUPS))
    with plain.connect() as conn:
        assert retention.prune(conn, 30, NOW) == len(old)
    for db in both:
        assert db.scalar("SELECT count(*) FROM air_reading") == len(rows) - len(old)
        assert rollup_rows(db, "air_reading_hourly") == before  # the rollups are kept
    with tsdb.connect() as conn:
        retention.reconcile(conn, "timescaledb", None)
    assert retention_jobs(tsdb) == 0
