"""Migrations, the registry tables, idempotent batched writes and dead letters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from ingest.collector.decode import Accepted, Decoder
from ingest.collector.inbound import Inbound
from ingest.collector.writer import BatchWriter
from ingest.feeds import KINDS
from ingest.reasons import Reason
from ingest.registry import device_types, load_registry, sync_registry
from ingest.storage.migrate import MIGRATIONS, MigrationError, migrate
from tests.fixtures.servers import Database

pytestmark = [pytest.mark.database, pytest.mark.both_flavours]
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def test_migrations_are_recorded_and_not_reapplied(database: Database) -> None:
    # ingest's own migrations (other packages number theirs from 100)
    ingest_own = "SELECT count(*) FROM schema_migration WHERE version < 100"
    assert database.scalar(ingest_own) == len(MIGRATIONS)
    again = migrate(database.url, database.schema, "off")
    assert again["applied"] == []


def test_an_edited_migration_is_refused(database: Database) -> None:
    with database.connect() as conn:
        conn.execute("UPDATE schema_migration SET checksum = 'x' WHERE version = 1")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(database.url, database.schema, "off")


def test_feed_tables_match_the_wire_contract(database: Database) -> None:
    """The SQL migration and the pydantic models describe the same columns and types."""
    with database.connect() as conn:
        for kind in KINDS:
            rows = conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                (database.schema, kind.table),
            ).fetchall()
            expected = [
                ("device_id", "text"),
                ("ts", "timestamp with time zone"),
                ("seq", "bigint"),
                ("received_at", "timestamp with time zone"),
            ] + [
                (c, "timestamp with time zone" if t == "timestamptz" else t)
                for c, t in zip(kind.columns, kind.sql_types, strict=True)
            ]
            assert rows == [*expected, ("flags", "jsonb")], kind.table


def test_registry_covers_the_district(database: Database) -> None:
    def count(device_type: str) -> object:
        return database.scalar(
            "SELECT count(*) FROM device WHERE device_type = %s AND retired_at IS NULL",
            (device_type,),
        )

    assert count("rsu") == 1600
    assert database.scalar("SELECT count(*) FROM intersection") == 535
    assert (
        database.scalar("SELECT count(DISTINCT parent_id) FROM device WHERE device_type = 'rsu'")
        == 535
    )
    assert int(count("air_station")) >= 8  # type: ignore[call-overload]
    assert int(count("dma")) >= 12  # type: ignore[call-overload]
    assert int(count("leak_logger")) >= 200  # type: ignore[call-overload]
    names = database.scalar("SELECT string_agg(name_zh, ',') FROM device WHERE feed = 'wastewater'")
    for plant in ("官塘", "雒容南", "中欧", "盘古", "下金田", "花岭北", "洛埠", "中山街"):
        assert plant in str(names)
    assert (
        database.scalar(
            "SELECT count(*) FROM wastewater_site WHERE site_type = 'wwtp'"
            " AND discharge_standard = 'GB 18918-2002 1A' AND design_capacity_m3d > 0"
        )
        == 5
    )
    outside = database.scalar(
        "SELECT count(*) FROM device WHERE lat NOT BETWEEN 24.28 AND 24.50"
        " OR lon NOT BETWEEN 109.40 AND 109.70"
    )
    assert outside == 0


def test_registry_sync_retires_devices_no_longer_listed(database: Database) -> None:
    registry = load_registry()
    smaller = registry.model_copy(update={"rsus": registry.rsus[:-1]})
    with database.connect() as conn:
        counts = sync_registry(conn, smaller)
        assert counts["retired"] == 1
        assert registry.rsus[-1].id not in device_types(conn)
        sync_registry(conn, registry)
        assert registry.rsus[-1].id in device_types(conn)


@pytest.fixture
def writer(database: Database) -> Iterator[BatchWriter]:
    w = BatchWriter(database.url, database.schema)
    w.connect()
    yield w
    w.close()


def inbound(decoder: Decoder, topic: str, payload: bytes) -> Inbound:
    return Inbound(topic.encode(), payload, 1, 1, NOW, decoder.decode(topic.encode(), payload, NOW))


def air_payload(minute: int, pm25: float = 30.0) -> bytes:
    ts = (NOW - timedelta(hours=1) + timedelta(minutes=minute)).isoformat()
    return f'{{"v":1,"ts":"{ts}","seq":{minute},"pm25_ugm3":{pm25}}}'.encode()


def test_redelivered_rows_are_counted_as_duplicates_not_stored_twice(
    database: Database, writer: BatchWriter
) -> None:
    with database.connect() as conn:
        decoder = Decoder(device_types(conn))
    batch = [
        inbound(decoder, "liudong/air/air-guantang/reading", air_payload(m)) for m in range(50)
    ]
    first = writer.write(batch)
    assert first.stored["air"] == 50
    # The same batch again, plus a duplicate inside one batch.
    second = writer.write([*batch[:10], batch[0]])
    assert second.stored["air"] == 0
    assert second.duplicates["air"] == 11
    assert database.scalar("SELECT count(*) FROM air_reading") == 50
    assert database.scalar("SELECT sum(seq) FROM air_reading") == sum(range(50))


def test_a_conflicting_duplicate_is_dead_lettered_with_both_values(
    database: Database, writer: BatchWriter
) -> None:
    with database.connect() as conn:
        decoder = Decoder(device_types(conn))
    topic = "liudong/air/air-guantang/reading"
    assert writer.write([inbound(decoder, topic, air_payload(m)) for m in range(5)]).stored
    again = [inbound(decoder, topic, air_payload(m)) for m in range(5)]  # redelivered
    other = inbound(decoder, topic, air_payload(2, pm25=99.0))  # same time, another value
    inside = [inbound(decoder, topic, air_payload(9)), inbound(decoder, topic, air_payload(9, 1.5))]
    out = writer.write([*again, other, *inside])
    assert (out.stored["air"], out.duplicates["air"], out.dead_lettered["air"]) == (1, 5, 2)
    with database.connect() as conn:
        rows = conn.execute(
            "SELECT reason, detail, payload, device_ts FROM dead_letter ORDER BY id"
        ).fetchall()
    assert [r[0] for r in rows] == ["conflicting_duplicate"] * 2
    assert "pm25_ugm3 stored 30.0, this message 99.0" in rows[0][1]
    assert rows[0][2] == air_payload(2, pm25=99.0)  # the new value kept whole
    assert "pm25_ugm3 stored 30.0, this message 1.5" in rows[1][1]
    assert database.scalar("SELECT pm25_ugm3 FROM air_reading WHERE seq = 2") == 30.0


def test_dead_letters_keep_the_raw_bytes_topic_and_reason(
    database: Database, writer: BatchWriter
) -> None:
    with database.connect() as conn:
        decoder = Decoder(device_types(conn))
    raw = b"\xff{broken"
    out = writer.write([inbound(decoder, "liudong/air/air-guantang/reading", raw)])
    assert out.dead_lettered["air"] == 1
    with database.connect() as conn:
        row = conn.execute(
            "SELECT topic, payload, reason, device_id, feed, received_at FROM dead_letter"
        ).fetchone()
    assert row == (
        "liudong/air/air-guantang/reading",
        raw,
        "invalid_json",
        "air-guantang",
        "air",
        NOW,
    )


def test_a_row_the_database_refuses_is_dead_lettered_and_the_rest_stored(
    database: Database, writer: BatchWriter
) -> None:
    """Validation should stop this; if it ever does not, one row must not block a batch."""
    with database.connect() as conn:
        decoder = Decoder(device_types(conn))
    good = [inbound(decoder, "liudong/air/air-guantang/reading", air_payload(m)) for m in range(3)]
    event = next(k for k in KINDS if k.table == "road_event")
    values = ("ev\x00bad", "RSI", "accident", 24.4, 109.5, NOW, None)
    bad = Inbound(
        b"liudong/v2x/rsu-0001/event", b"{}", 9, 1, NOW, Accepted(event, "rsu-0001", NOW, 1, values)
    )
    out = writer.write([*good, bad])
    assert out.stored["air"] == 3
    assert out.dead_lettered["v2x"] == 1
    assert database.scalar("SELECT reason FROM dead_letter") == Reason.DB_REJECTED.value


def test_a_lost_connection_raises_and_the_next_write_reconnects(
    database: Database, writer: BatchWriter
) -> None:
    with database.connect() as conn:
        decoder = Decoder(device_types(conn))
        pid = writer._conn.info.backend_pid  # type: ignore[union-attr]
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    batch = [inbound(decoder, "liudong/air/air-guantang/reading", air_payload(1))]
    with pytest.raises(psycopg.OperationalError):
        writer.write(batch)
    writer.close()
    assert writer.write(batch).stored["air"] == 1
