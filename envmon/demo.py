"""``envmon demo`` and ``envmon up``: the whole district simulated into the collector."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from envmon.drive import DriveStats, drive
from envmon.runtime import Runtime
from ingest.collector.service import Collector
from ingest.collector.stats import StatsSnapshot
from ingest.mqtt import MqttPublisher
from simulators import DistrictSimulator, SimClock, start_for

log = logging.getLogger(__name__)
SETTLE_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class RunOptions:
    scenarios: Sequence[str] = ()
    speed: float = 1.0
    seed: int = 0
    malformed_rate: float = 0.01


def _wait_settled(collector: Collector, sent: int, timeout: float) -> bool:
    """Until the collector has received all that was sent and committed it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snap = collector.snapshot()
        if snap.total("received") >= sent and snap.pending == 0:
            return True
        time.sleep(0.05)
    return False


def summarise(drove: DriveStats, snap: StatsSnapshot, runtime: Runtime) -> dict[str, Any]:
    published = drove.valid.total()
    stored = snap.total("stored")
    feeds = sorted(set(drove.valid) | set(snap.stored) | set(snap.dead_lettered))
    return {
        "published": published,
        "stored": stored,
        "dead_lettered": snap.total("dead_lettered"),
        "duplicates": snap.total("duplicates"),
        "malformed_injected": drove.malformed.total(),
        "lost": published - stored,
        "by_feed": {
            f: {
                "published": drove.valid.get(f, 0),
                "stored": snap.stored.get(f, 0),
                "duplicates": snap.duplicates.get(f, 0),
                "dead_lettered": snap.dead_lettered.get(f, 0),
            }
            for f in feeds
        },
        "dead_letter_reasons": dict(sorted(snap.dead_letter_reasons.items())),
        "injected_reasons": dict(sorted(drove.malformed.items())),
        "storage": runtime.flavour,
        "broker": "embedded" if runtime.embedded_broker else "external",
    }


def run_demo(
    runtime: Runtime,
    duration_s: float,
    options: RunOptions,
    on_progress: Callable[[DriveStats, StatsSnapshot], None] | None = None,
) -> dict[str, Any]:
    """A bounded run ending by itself; returns the counts of what went where."""
    settings = runtime.settings
    # A session of its own, so nothing queued for an earlier run is counted in this one.
    client_id = f"envmon-demo-{uuid.uuid4().hex[:8]}"
    collector = Collector(settings, runtime.db_url, client_id=client_id)
    collector.start(broker_attempts=5)
    if not collector.wait_connected(30):
        raise SystemExit("the collector could not subscribe to the broker within 30 s")
    publisher = MqttPublisher(settings.mqtt, f"{client_id}-sim")
    publisher.start(attempts=5)
    now = datetime.now(UTC)
    end = now + timedelta(seconds=duration_s)
    start = start_for(duration_s, options.speed, end)
    sim = DistrictSimulator(
        runtime.registry,
        options.seed,
        options.scenarios,
        options.malformed_rate,
        run_window=(start, end),
        root=settings.mqtt.topic_root,
    )
    for active in sim.active_scenarios:
        log.info("scenario %s", active)
    clock = SimClock(start, options.speed)
    stats = DriveStats()
    drive(
        sim.messages(start, end),
        publisher,
        root=settings.mqtt.topic_root,
        clock=clock,
        stats=stats,
        on_progress=(lambda d: on_progress(d, collector.snapshot())) if on_progress else None,
    )
    if not publisher.wait_confirmed(SETTLE_TIMEOUT_S):
        log.error("the broker did not confirm %d publishes", publisher.backlog())
    publisher.stop()
    if not _wait_settled(collector, stats.sent, SETTLE_TIMEOUT_S):
        log.error("the collector did not receive everything within %.0f s", SETTLE_TIMEOUT_S)
    snap = collector.stop()
    if runtime.flavour == "postgresql":
        collector.refresh_rollups()
    return summarise(stats, snap, runtime)


def run_forever(
    runtime: Runtime,
    options: RunOptions,
    stop: threading.Event,
    on_progress: Callable[[DriveStats, StatsSnapshot], None],
) -> dict[str, Any]:
    """``envmon up``: collector and simulators until ``stop`` is set."""
    settings = runtime.settings
    collector = Collector(settings, runtime.db_url)
    collector.start()
    publisher = MqttPublisher(settings.mqtt, f"{settings.mqtt.client_id}-sim")
    publisher.start()
    now = datetime.now(UTC)
    # Faster than real time: replay the last day first, then follow the clock.
    start = now - timedelta(days=1) if options.speed > 1 else now
    window = (start, now) if options.speed > 1 else (now, now + timedelta(hours=1))
    sim = DistrictSimulator(
        runtime.registry,
        options.seed,
        options.scenarios,
        options.malformed_rate,
        run_window=window,
        root=settings.mqtt.topic_root,
    )
    clock = SimClock(start, options.speed)
    stats = DriveStats()
    chunk = timedelta(minutes=1)
    t = start
    while not stop.is_set():
        drive(
            sim.messages(t, t + chunk),
            publisher,
            root=settings.mqtt.topic_root,
            clock=clock,
            stop=stop,
            stats=stats,
            on_progress=lambda d: on_progress(d, collector.snapshot()),
        )
        t += chunk
    publisher.wait_confirmed(10)
    publisher.stop()
    snap = collector.stop()
    return summarise(stats, snap, runtime)
