"""Rollups equal aggregates of the raw rows, late data included, on both flavours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingest.collector.decode import Decoder
from ingest.collector.inbound import Inbound
from ingest.collector.writer import BatchWriter
from ingest.registry import device_types
from ingest.storage.maintain import refresh_rollups
from tests.fixtures.servers import Database

pytestmark = [pytest.mark.database, pytest.mark.both_flavours]
RECEIVED = datetime(2026, 6, 3, 0, 0, tzinfo=UTC)


def air(device: str, ts: datetime, pm25: float | None, o3: float) -> Inbound:
    pm = "null" if pm25 is None else str(pm25)
    payload = f'{{"v":1,"ts":"{ts.isoformat()}","seq":1,"pm25_ugm3":{pm},"o3_ugm3":{o3}}}'.encode()
    topic = f"liudong/air/{device}/reading".encode()
    return Inbound(topic, payload, 1, 1, RECEIVED, Decoder(TYPES).decode(topic, payload, RECEIVED))


TYPES = {"air-guantang": "air_station", "air-hualing": "air_station"}
# 2026-06-01 15:00 UTC .. 2026-06-02 01:00 UTC spans local midnight (+08:00) at 16:00 UTC.
START = datetime(2026, 6, 1, 15, 0, tzinfo=UTC)


def rows(n_minutes: int, step: int = 7) -> list[Inbound]:
    out = []
    for i in range(0, n_minutes, step):
        ts = START + timedelta(minutes=i)
        pm = None if i % 35 == 0 else 20 + (i % 50)
        out.append(air("air-guantang", ts, pm, 60 + i % 13))
        out.append(air("air-hualing", ts, 40.0, 70.0))
    return out


COMPARE_HOURLY = """
SELECT count(*) FROM (
  SELECT date_bin('1 hour', ts, '2000-01-01 00:00+00') AS bucket, device_id,
         count(*) AS n, avg(pm25_ugm3) AS a, min(pm25_ugm3) AS lo, max(pm25_ugm3) AS hi,
         count(pm25_ugm3) AS c, avg(o3_ugm3) AS o
  FROM air_reading GROUP BY 1, 2
) raw FULL JOIN air_reading_hourly h USING (bucket, device_id)
WHERE raw.n IS DISTINCT FROM h.n
   OR abs(coalesce(raw.a, -1) - coalesce(h.pm25_ugm3_avg, -1)) > 1e-9
   OR raw.lo IS DISTINCT FROM h.pm25_ugm3_min OR raw.hi IS DISTINCT FROM h.pm25_ugm3_max
   OR raw.c IS DISTINCT FROM h.pm25_ugm3_n OR abs(raw.o - h.o3_ugm3_avg) > 1e-9
"""
COMPARE_DAILY = """
SELECT count(*) FROM (
  SELECT date_bin('1 day', ts, '2000-01-01 00:00+08') AS bucket, device_id,
         count(*) AS n, avg(pm25_ugm3) AS a, max(pm25_ugm3) AS hi
  FROM air_reading GROUP BY 1, 2
) raw FULL JOIN air_reading_daily d USING (bucket, device_id)
WHERE raw.n IS DISTINCT FROM d.n OR abs(raw.a - d.pm25_ugm3_avg) > 1e-9
   OR raw.hi IS DISTINCT FROM d.pm25_ugm3_max
"""


def refresh(database: Database) -> int:
    return refresh_rollups(database.url, database.schema, datetime.now(UTC))


def test_rollups_equal_raw_aggregates_including_late_data(database: Database) -> None:
    writer = BatchWriter(database.url, database.schema)
    with database.connect() as conn:
        TYPES.update(device_types(conn))
    data = rows(600)
    on_time, late = data[: len(data) // 2], data[len(data) // 2 :]
    writer.write(on_time)
    assert refresh(database) > 0
    # Late data for hours already rolled up, plus an exact redelivery (must not count).
    writer.write(late)
    writer.write(on_time[:20])
    writer.close()
    refresh(database)
    with database.connect() as conn:
        assert conn.execute(COMPARE_HOURLY).fetchone() == (0,)
        assert conn.execute(COMPARE_DAILY).fetchone() == (0,)
        days = conn.execute("SELECT DISTINCT bucket FROM air_reading_daily ORDER BY 1").fetchall()
        assert conn.execute("SELECT count(*) FROM rollup_pending").fetchone() == (0,)
    # Days are Asia/Shanghai calendar days: local midnight is 16:00 UTC.
    assert [d[0].astimezone(UTC).hour for d in days] == [16, 16]
    assert len(days) == 2


def test_nothing_pending_means_nothing_redone(database: Database) -> None:
    assert refresh(database) == 0
