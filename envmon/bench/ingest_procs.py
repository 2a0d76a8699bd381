"""The processes of the ingest benchmarks: a collector, a publisher of the load generator,
and the row counts they are judged by."""

from __future__ import annotations

import logging
import os
import resource
import sys
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from ingest.collector.service import Collector
from ingest.feeds import KINDS
from ingest.mqtt import MqttPublisher
from ingest.registry import load_registry
from ingest.settings import Settings
from ingest.storage.migrate import connect
from simulators import LoadGenerator

TICK_S = 0.01


def collector_main(
    settings_json: str, db_url: str, conn: Connection, client_id: str = "bench-collector"
) -> None:
    """One collector in a process of its own: "ready" once subscribed, its counters at stop."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    settings = Settings.model_validate_json(settings_json)
    collector = Collector(settings, db_url, client_id=client_id)
    collector.start()
    collector.wait_connected(30)
    conn.send("ready")
    conn.recv()  # "stop"
    snap = collector.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    conn.send(
        {
            "snapshot": snap.as_dict(),
            "p50": snap.latency_p50_ms,
            "p99": snap.latency_p99_ms,
            "rss_mb": rss_mb,
        }
    )


def publisher_main(
    settings_json: str, rate: float, duration: float, conn: Connection, count: int | None = None
) -> None:
    """Publish at ``rate`` for ``duration`` seconds, or ``count`` messages flat out."""
    settings = Settings.model_validate_json(settings_json)
    gen = LoadGenerator(load_registry(), seed=1, root=settings.mqtt.topic_root)
    pub = MqttPublisher(settings.mqtt, f"bench-load-{os.getpid()}")
    pub.start(attempts=5)
    conn.send("ready")
    conn.recv()  # "go"
    start = time.monotonic()
    sent = 0
    while (elapsed := time.monotonic() - start) < duration and (count is None or sent < count):
        due = min(int(rate * elapsed), sent + 5000) - sent
        if count is not None:
            due = min(due, count - sent)
        if due <= 0:
            time.sleep(TICK_S)
            continue
        for topic, payload in gen.take(min(due, 5000), datetime.now(UTC)):
            pub.publish(topic, payload)
        sent += min(due, 5000)
    publish_s = time.monotonic() - start
    pub.wait_confirmed(120)
    conn.send(
        {
            "sent": sent,
            "confirmed": pub.confirmed,
            "publish_s": publish_s,
            "unconfirmed": pub.backlog(),
        }
    )
    pub.stop()


def stored_rows(conn: psycopg.Connection[TupleRow]) -> int:
    """Rows in all the feed tables."""
    total = 0
    for k in KINDS:
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(k.table))
        ).fetchone()
        total += int(row[0]) if row else 0
    return total


def publish_count(ctx: Any, settings_json: str, n: int) -> int:
    """Publish ``n`` messages flat out from a process of its own; how many were confirmed."""
    conn, child = ctx.Pipe()
    publisher = ctx.Process(target=publisher_main, args=(settings_json, 1e9, 1e9, child, n))
    publisher.start()
    conn.recv()
    conn.send("go")
    pub = conn.recv()
    publisher.join(30)
    return int(pub["confirmed"])


def count_rows(db_url: str, schema: str) -> int:
    with connect(db_url, schema) as conn:
        return stored_rows(conn)
