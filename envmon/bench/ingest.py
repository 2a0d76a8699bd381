"""``envmon bench ingest``: load generator → broker → one collector process → database.

Prints, as its last line, one JSON object: the offered and stored rates, messages
lost, end-to-end latency (device timestamp → commit) p50/p99, the collector's peak
RSS, and ``copy_rate`` — a raw COPY of the same rows into the same database in the
same run, the database's own limit for this data; then the drain of a ``--backlog``
queued while the collector was away, beside the transport's own drain
(:mod:`envmon.bench.drain`).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from envmon.bench.drain import drain
from envmon.bench.ingest_procs import collector_main, count_rows, publisher_main
from envmon.bench.stats import machine
from envmon.runtime.embedded import start_broker
from envmon.runtime.servers import prepare_database, storage_database
from ingest import topics
from ingest.collector.decode import Accepted, Decoder
from ingest.collector.writer import copy_columns, copy_types
from ingest.feeds import Kind
from ingest.mqtt import MqttReceiver
from ingest.registry import load_registry
from ingest.registry.store import device_types
from ingest.settings import Settings
from ingest.storage.migrate import connect
from simulators import LoadGenerator

log = logging.getLogger(__name__)
TICK_S = 0.01


def _raw_subscriber_main(settings_json: str, seconds: float, conn: Connection) -> None:
    """The transport alone: receive and acknowledge, no decoding, no database."""
    settings = Settings.model_validate_json(settings_json)
    mids: list[int] = []
    lock = threading.Lock()
    count = 0
    first = 0.0

    def handler(_topic: bytes, _payload: bytes, mid: int, _qos: int) -> None:
        nonlocal count, first
        with lock:
            if not count:
                first = time.monotonic()
            count += 1
            mids.append(mid)

    receiver = MqttReceiver(settings.mqtt, "bench-raw-subscriber", handler)
    receiver.start(topics.subscription(settings.mqtt.topic_root, None))
    receiver.connected.wait(30)
    conn.send("ready")
    deadline = time.monotonic() + seconds + 30
    while time.monotonic() < deadline and not conn.poll(0.05):
        with lock:
            batch, mids[:] = mids[:], []
        receiver.ack_many(batch)
    conn.recv()
    with lock:
        rate = count / max(time.monotonic() - first, 1e-9) if count else 0.0
    receiver.stop()
    conn.send(rate)


def broker_rate(ctx: Any, settings: Settings, seconds: float = 8.0) -> float:
    """Messages/s through publisher → broker → subscriber with nothing else to do."""
    raw = settings.model_copy(
        update={"mqtt": settings.mqtt.model_copy(update={"topic_root": "rawbench"})}
    ).model_dump_json()
    sub_conn, sub_child = ctx.Pipe()
    pub_conn, pub_child = ctx.Pipe()
    subscriber = ctx.Process(target=_raw_subscriber_main, args=(raw, seconds, sub_child))
    publisher = ctx.Process(target=publisher_main, args=(raw, 1e9, seconds, pub_child))
    subscriber.start()
    sub_conn.recv()
    publisher.start()
    pub_conn.recv()
    pub_conn.send("go")
    pub = pub_conn.recv()
    time.sleep(1.0)
    sub_conn.send("stop")
    rate = float(sub_conn.recv())
    subscriber.join(30)
    publisher.join(30)
    return min(rate, float(pub["confirmed"] / pub["publish_s"]))


def copy_rate(db_url: str, schema: str, n: int, batch_size: int) -> float:
    """Rows/s of a plain COPY of ``n`` load-generator rows into copies of the feed tables."""
    gen = LoadGenerator(load_registry(), seed=2)
    with connect(db_url, schema) as conn:
        decoder = Decoder(device_types(conn))
        rows: dict[Kind, list[tuple[Any, ...]]] = defaultdict(list)
        now = datetime.now(UTC)
        for topic, payload in gen.take(n, now):
            a = decoder.decode(topic.encode(), payload, now)
            if isinstance(a, Accepted):
                rows[a.kind].append((a.device_id, a.ts, a.seq, now, *a.values))
        for k in rows:
            conn.execute(
                sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
                    sql.Identifier(f"copy_{k.table}"), sql.Identifier(k.table)
                )
            )
        conn.commit()
        flat = [(k, r) for k, rs in rows.items() for r in rs]
        start = time.perf_counter()
        for i in range(0, len(flat), batch_size):
            chunk = flat[i : i + batch_size]
            by_kind: dict[Kind, list[tuple[Any, ...]]] = defaultdict(list)
            for k, r in chunk:
                by_kind[k].append(r)
            with conn.transaction(), conn.cursor() as cur:
                for k, rs in by_kind.items():
                    with cur.copy(
                        sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
                            sql.Identifier(f"copy_{k.table}"), copy_columns(k)
                        )
                    ) as copy:
                        copy.set_types(copy_types(k))
                        for r in rs:
                            copy.write_row(r)
        return len(flat) / (time.perf_counter() - start)


def bench_ingest(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="envmon-bench-") as tmp,
        storage_database(settings, args.storage, Path(tmp)) as chosen,
    ):
        assert chosen.database.url is not None
        result = _run(chosen, chosen.database.url.get_secret_value(), Path(tmp), args)
        return {"storage": args.storage, **result}


def _run(settings: Settings, db_url: str, tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    broker = None
    if settings.mqtt.url is None:
        broker = start_broker(tmp, prefer="mosquitto")
        mqtt = settings.mqtt.model_copy(update={"url": broker.url, "protocol": broker.protocol})
    else:
        mqtt = settings.mqtt
    ingest = settings.ingest
    if args.batch_size:
        ingest = ingest.model_copy(update={"batch_size": args.batch_size})
    settings = settings.model_copy(
        update={
            "mqtt": mqtt.model_copy(update={"topic_root": f"bench{uuid.uuid4().hex[:6]}"}),
            "database": settings.database.model_copy(update={"schema_name": schema}),
            "ingest": ingest,
        }
    )
    prepare_database(settings, db_url)
    ctx = mp.get_context("spawn")
    try:
        return _measure(ctx, settings, db_url, schema, args)
    finally:
        if broker is not None:
            broker.stop()
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def _measure(
    ctx: Any, settings: Settings, db_url: str, schema: str, args: argparse.Namespace
) -> dict[str, Any]:
    blob = settings.model_dump_json()
    print("measuring the raw broker rate ...", file=sys.stderr)
    raw_broker = broker_rate(ctx, settings)
    coll_conn, coll_child = ctx.Pipe()
    pub_conn, pub_child = ctx.Pipe()
    collector = ctx.Process(target=collector_main, args=(blob, db_url, coll_child))
    publisher = ctx.Process(target=publisher_main, args=(blob, args.rate, args.duration, pub_child))
    collector.start()
    coll_conn.recv()
    publisher.start()
    pub_conn.recv()
    print(f"offering {args.rate:,.0f} msg/s for {args.duration:.0f} s ...", file=sys.stderr)
    start = time.monotonic()
    pub_conn.send("go")
    pub = pub_conn.recv()
    deadline = time.monotonic() + 300
    stored = 0
    while time.monotonic() < deadline:
        stored = count_rows(db_url, schema)
        if stored >= pub["confirmed"]:
            break
        time.sleep(0.25)
    drained_s = time.monotonic() - start
    coll_conn.send("stop")
    coll = coll_conn.recv()
    collector.join(30)
    publisher.join(30)
    stored = count_rows(db_url, schema)
    print("measuring raw COPY of the same rows ...", file=sys.stderr)
    raw = copy_rate(db_url, schema, min(stored, 500_000) or 1000, settings.ingest.batch_size)
    stored_rate = stored / drained_s
    drained = drain(ctx, settings, db_url, schema, args.backlog) if args.backlog else {}
    return {
        "offered_rate": round(pub["sent"] / pub["publish_s"]),
        "stored_rate": round(stored_rate),
        "lost": pub["confirmed"] - stored,
        "p50_ms": coll["p50"],
        "p99_ms": coll["p99"],
        "rss_mb": round(coll["rss_mb"], 1),
        "copy_rate": round(raw),
        "broker_rate": round(raw_broker),
        "stored_vs_copy": round(stored_rate / raw, 3),
        "stored_vs_broker": round(stored_rate / raw_broker, 3) if raw_broker else None,
        "published": pub["confirmed"],
        "stored": stored,
        "duplicates": coll["snapshot"]["duplicates"],
        "duration_s": round(pub["publish_s"], 1),
        "drained_s": round(drained_s, 1),
        "batch_size": settings.ingest.batch_size,
        **drained,
        "machine": machine(),
    }
