"""Per-device sequence gaps: recorded with the missing range, filled by late arrivals, not
mistaken for a device that restarted its count; events and HJ 212 loggers not watched."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ingest.collector.decode import Decoder
from ingest.collector.inbound import Inbound
from ingest.collector.writer import BatchWriter
from ingest.registry import load_registry
from ingest.registry.store import device_types
from services.rules import default_pack, load_rules
from services.rules.evaluators import evaluator_for
from services.rules.windows import Span
from tests.fixtures.servers import Database

pytestmark = [pytest.mark.database, pytest.mark.both_flavours]
NOW = datetime.now(UTC).replace(microsecond=0)
T0 = NOW - timedelta(hours=2)
DEVICE = "air-guantang"
TOPIC = f"liudong/air/{DEVICE}/reading"


@pytest.fixture
def write(database: Database) -> Iterator[Any]:
    writer = BatchWriter(database.url, database.schema)
    writer.connect()
    with database.connect() as conn:
        decoder = Decoder(device_types(conn))

    def batch(*seqs: int | tuple[int, int], topic: str = TOPIC) -> Any:
        items = []
        for s in seqs:
            minute, seq = s if isinstance(s, tuple) else (s, s)
            ts = (T0 + timedelta(minutes=minute)).isoformat()
            body = f'{{"v":1,"ts":"{ts}","seq":{seq},"pm25_ugm3":30}}'.encode()
            items.append(
                Inbound(topic.encode(), body, 1, 1, NOW, decoder.decode(topic.encode(), body, NOW))
            )
        return writer.write(items)

    yield batch
    writer.close()


def gaps(database: Database) -> list[tuple[Any, ...]]:
    with database.connect() as conn:
        return conn.execute(
            "SELECT device_id, feed, from_seq, to_seq, recovered,"
            " extract(epoch FROM before_ts - after_ts)::int / 60 FROM seq_gap ORDER BY id"
        ).fetchall()


def test_a_jump_is_recorded_and_late_arrivals_fill_it(database: Database, write: Any) -> None:
    write(*range(5))
    assert gaps(database) == []
    out = write(5, 6, 9, 10)  # 7 and 8 missing
    assert out.missing["air"] == 2
    assert gaps(database) == [("air-guantang", "air", 7, 8, 0, 3)]
    write(12)  # across batches: 11 missing
    assert [g[2:4] for g in gaps(database)] == [(7, 8), (11, 11)]
    write(8)  # late, inside the first gap
    write(8)  # and again: a redelivery fills nothing more
    assert [g[4] for g in gaps(database)] == [1, 0]


def test_a_restarted_count_and_redeliveries_are_no_gap(database: Database, write: Any) -> None:
    write(*range(10))
    write(*range(10))  # all redelivered
    write((10, 0), (11, 1), (12, 2))  # later times, the device counting from 0 again
    write(*[(m, m - 10) for m in range(13, 16)])
    assert gaps(database) == []


def test_hj212_loggers_are_not_watched(database: Database, write: Any) -> None:
    write(0, 5, topic="liudong/air/air-luorong/reading")  # an HJ 212 station
    assert gaps(database) == []


def test_the_data_gap_rule_counts_what_is_still_missing(database: Database, write: Any) -> None:
    registry = load_registry()
    rule = next(r for r in load_rules(default_pack(), registry) if r.id == "air-data-gap")
    ev = evaluator_for(rule, registry)
    assert "air-luorong" not in ev.by_id  # HJ 212: its gateway asks for what is missing
    write(0, 1, 8, 9)  # 2..7 missing: six
    now = T0 + timedelta(minutes=30)
    with database.connect() as conn:
        [obs] = ev.evaluate(conn, Span(now - timedelta(hours=1), now), [ev.by_id[DEVICE]], now)
    assert (obs.verdict.value, obs.verdict.breach) == (6.0, True)
    write(3, 4)  # two arrive late: four missing, under the rule's five
    with database.connect() as conn:
        [obs] = ev.evaluate(conn, Span(now - timedelta(hours=1), now), [ev.by_id[DEVICE]], now)
    assert (obs.verdict.value, obs.verdict.breach) == (4.0, False)
