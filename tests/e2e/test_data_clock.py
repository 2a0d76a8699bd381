"""The rule clock of simulated runs (``envmon up``/``demo``) follows the stored data, and a
device cannot push it ahead with a future-dated message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from envmon.runtime.demo import DataClock
from simulators import SimClock
from tests.fixtures.servers import Database

pytestmark = [pytest.mark.database]


def latest(database: Database, device: str, ts: datetime) -> None:
    with database.connect() as conn:
        conn.execute(
            "INSERT INTO device_latest (table_name, device_id, ts, received_at)"
            " VALUES ('air_reading', %s, %s, now())"
            " ON CONFLICT (table_name, device_id) DO UPDATE SET ts = excluded.ts",
            (device, ts),
        )


def test_a_future_dated_message_does_not_move_the_rule_clock(database: Database) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    sim = SimClock(start, speed=0)  # simulated time stands at start
    clock = DataClock(database.url, database.schema, sim)
    try:
        assert clock() == start  # nothing stored yet
        latest(database, "air-guantang", start - timedelta(minutes=1))
        assert clock() == start  # behind the start: the clock never goes back
        latest(database, "air-hualing", start)
        latest(database, "air-longhu", start + timedelta(hours=20))  # the rogue device
        assert clock() == start
        moving = DataClock(database.url, database.schema, SimClock(start, speed=3600))
        latest(database, "air-luorong", start + timedelta(seconds=1))
        assert moving() == start + timedelta(seconds=1)
        moving.close()
    finally:
        clock.close()
