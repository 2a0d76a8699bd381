"""The whole district through broker and collector: exactly the expected rows and dead letters."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from psycopg import sql

from ingest.collector.decode import Accepted, Decoder
from ingest.feeds import KINDS
from ingest.mqtt import MqttPublisher
from ingest.registry import device_types, load_registry
from ingest.settings import Settings
from simulators import DistrictSimulator, Message
from tests.fixtures.collectors import CollectorFactory, settled, wait_until
from tests.fixtures.servers import Database

pytestmark = [pytest.mark.broker, pytest.mark.database, pytest.mark.slow]
DAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)
# 03:00 local (leak loggers report) and local midnight (daily billing closes).
NIGHT = (DAY + timedelta(hours=19) - timedelta(seconds=20), DAY + timedelta(hours=19, seconds=45))
MIDNIGHT = (DAY + timedelta(hours=16), DAY + timedelta(hours=16, minutes=6))


def district_traffic(root: str) -> list[Message]:
    registry = load_registry()
    everything = DistrictSimulator(
        registry,
        seed=11,
        scenarios=["bypass", "nh3-exceedance", "pm25-episode", "pipe-burst", "rsu-outage"],
        malformed_rate=0.02,
        run_window=NIGHT,
        root=root,
    )
    water = DistrictSimulator(
        registry, seed=11, malformed_rate=0.02, feeds=["water"], run_window=MIDNIGHT, root=root
    )
    return [*everything.messages(*NIGHT), *water.messages(*MIDNIGHT)]


def test_district_stream_lands_exactly(
    settings: Settings,
    database: Database,
    start_collector: CollectorFactory,
    publisher: MqttPublisher,
) -> None:
    root = settings.mqtt.topic_root
    messages = district_traffic(root)
    valid = [m for m in messages if m.valid]
    bad = [m for m in messages if not m.valid]
    assert len(messages) >= 10_000
    assert {m.topic.split("/")[1] for m in valid} == {"wastewater", "air", "water", "v2x"}
    assert len({m.reason for m in bad}) >= 8

    with database.connect() as conn:
        decoder = Decoder(device_types(conn), root=root)
    now = datetime.now(UTC)
    expected: dict[str, set[tuple[str, datetime, int]]] = {k.table: set() for k in KINDS}
    for m in valid:
        a = decoder.decode(m.topic.encode(), m.payload, now)
        assert isinstance(a, Accepted), (m.topic, a)
        expected[a.kind.table].add((a.device_id, a.ts, a.seq))

    collector = start_collector(settings)
    for m in messages:
        publisher.publish(m.topic, m.payload)
    assert publisher.wait_confirmed(60)
    assert wait_until(
        settled(collector, len(messages)),
        timeout=120,
    )
    snap = collector.stop()
    assert snap.total("stored") == len(valid)
    assert snap.total("duplicates") == 0
    assert snap.total("dead_lettered") == len(bad)

    with database.connect() as conn:
        for table, rows in expected.items():
            got = conn.execute(
                sql.SQL("SELECT device_id, ts, seq FROM {}").format(sql.Identifier(table))
            ).fetchall()
            assert set(got) == rows, table
            assert len(got) == len(rows), table
        dead = conn.execute("SELECT topic, payload, reason FROM dead_letter").fetchall()
    assert Counter((t, bytes(p), r) for t, p, r in dead) == Counter(
        (m.topic, m.payload, m.reason) for m in bad
    )
