"""The drain figure of ``envmon bench ingest``: a backlog queued by the broker for a
subscriber's persistent session while it is away, then taken — by the collector (stored),
and by a subscriber that only receives and acknowledges (the transport's own rate).

Each side subscribes once, goes away, ``--backlog`` messages are published for it, and it
comes back; its rate is the backlog over the time from its return (connected) to its
last message stored (collector) or received (transport).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from envmon.bench.ingest_procs import collector_main, count_rows, publish_count
from ingest import topics
from ingest.mqtt import MqttReceiver
from ingest.settings import Settings

log = logging.getLogger(__name__)
DRAIN_TIMEOUT_S = 600.0


def _transport_main(settings_json: str, n: int, conn: Connection) -> None:
    """Subscribe, go away on "away", come back on "back": seconds to receive ``n``."""
    settings = Settings.model_validate_json(settings_json)
    got = 0
    done = threading.Event()
    lock = threading.Lock()
    mids: list[int] = []

    def handler(_topic: bytes, _payload: bytes, mid: int, _qos: int) -> None:
        nonlocal got
        with lock:
            got += 1
            mids.append(mid)
            if got >= n:
                done.set()

    def session() -> MqttReceiver:
        receiver = MqttReceiver(settings.mqtt, "bench-transport-drain", handler)
        receiver.start(topics.subscription(settings.mqtt.topic_root, None))
        receiver.connected.wait(30)
        return receiver

    receiver = session()
    conn.send("ready")
    conn.recv()  # "away"
    receiver.stop()
    conn.send("away")
    conn.recv()  # "back"
    began = time.monotonic()
    receiver = session()
    deadline = began + DRAIN_TIMEOUT_S
    while not done.wait(0.02) and time.monotonic() < deadline:
        with lock:
            batch, mids[:] = mids[:], []
        receiver.ack_many(batch)
    seconds = time.monotonic() - began
    with lock:
        receiver.ack_many(mids)
    receiver.stop()
    conn.send({"seconds": seconds, "received": got})


def drain(ctx: Any, settings: Settings, db_url: str, schema: str, n: int) -> dict[str, Any]:
    """The collector's and the transport's drain of an ``n``-message backlog."""
    print(f"draining a backlog of {n:,} messages: collector ...", file=sys.stderr)
    # Topics of its own: the live run's collector, gone with its session kept, is in the
    # shared group of the live topics and would be queued half of the backlog.
    root = f"{settings.mqtt.topic_root}drain"
    blob = settings.model_copy(
        update={"mqtt": settings.mqtt.model_copy(update={"topic_root": root})}
    ).model_dump_json()
    conn, child = ctx.Pipe()
    first = ctx.Process(target=collector_main, args=(blob, db_url, child, "bench-drain"))
    first.start()
    conn.recv()  # subscribed: its session now holds the subscription
    conn.send("stop")
    conn.recv()
    first.join(30)
    before = count_rows(db_url, schema)
    confirmed = publish_count(ctx, blob, n)
    conn, child = ctx.Pipe()
    second = ctx.Process(target=collector_main, args=(blob, db_url, child, "bench-drain"))
    second.start()
    conn.recv()
    began = time.monotonic()
    stored = 0
    while time.monotonic() - began < DRAIN_TIMEOUT_S:
        stored = count_rows(db_url, schema) - before
        if stored >= confirmed:
            break
        time.sleep(0.1)
    collector_s = time.monotonic() - began
    conn.send("stop")
    conn.recv()
    second.join(30)
    stored = count_rows(db_url, schema) - before

    print("... and the transport alone", file=sys.stderr)
    raw = settings.model_copy(
        update={"mqtt": settings.mqtt.model_copy(update={"topic_root": "rawdrain"})}
    ).model_dump_json()
    conn, child = ctx.Pipe()
    transport = ctx.Process(target=_transport_main, args=(raw, n, child))
    transport.start()
    conn.recv()
    conn.send("away")
    conn.recv()
    raw_confirmed = publish_count(ctx, raw, n)
    conn.send("back")
    got = conn.recv()
    transport.join(30)
    collector_rate = stored / collector_s
    transport_rate = got["received"] / got["seconds"]
    return {
        "backlog": confirmed,
        "drain_rate": round(collector_rate),
        "drain_transport_rate": round(transport_rate),
        "drain_vs_transport": round(collector_rate / transport_rate, 3) if transport_rate else None,
        "drain_lost": confirmed - stored,
        "drain_transport_lost": raw_confirmed - got["received"],
        "drain_s": round(collector_s, 1),
    }
