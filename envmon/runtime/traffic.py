"""``envmon simulate``, ``replay`` and ``backfill``: device traffic into a configured broker."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from ingest.mqtt import MqttPublisher
from ingest.registry import load_registry
from ingest.settings import ConfigError, Settings
from simulators import (
    FEED_NAMES,
    DistrictSimulator,
    Message,
    SimClock,
    read_recording,
    recording_line,
    replay,
    start_for,
    write_recording,
)
from simulators.publish import DriveStats, drive

log = logging.getLogger(__name__)
CHUNK = timedelta(minutes=10)


def _publisher(settings: Settings, name: str) -> MqttPublisher:
    if settings.mqtt.url is None:
        raise ConfigError("set ENVMON_MQTT_URL to the broker to publish to")
    pub = MqttPublisher(settings.mqtt, f"envmon-{name}-{int(time.time())}")
    pub.start(attempts=5)
    return pub


def _report(stats: DriveStats, pub: MqttPublisher | None) -> None:
    if pub is not None and not pub.wait_confirmed(60):
        log.error("%d publishes were not confirmed by the broker", pub.backlog())
    if pub is not None:
        pub.stop()
    print(
        json.dumps(
            {
                "published": stats.valid.total(),
                "by_feed": dict(stats.valid),
                "malformed": dict(stats.malformed),
            }
        )
    )


def _progress(stats: DriveStats) -> None:
    rate = stats.sent / max(time.monotonic() - stats.started, 1e-9)
    print(f"sent {stats.sent:,} ({rate:,.0f}/s)", file=sys.stderr, flush=True)


def _chunks(sim: DistrictSimulator, start: datetime, end: datetime | None) -> Iterator[Message]:
    t = start
    while end is None or t < end:
        t1 = t + CHUNK if end is None else min(t + CHUNK, end)
        yield from sim.messages(t, t1)
        t = t1


def simulate(settings: Settings, args: argparse.Namespace, stop: threading.Event) -> int:
    """Live devices, optionally recorded; or, with --no-publish, a recording made offline."""
    registry = load_registry()
    now = datetime.now(UTC)
    if args.no_publish and not (args.duration and args.record):
        raise ConfigError("--no-publish needs --duration and --record FILE")
    wall = timedelta(seconds=args.duration or 3600)  # the span scenarios are timed on
    if args.no_publish:
        start = now - wall * args.speed  # simulated time that ends now
    else:
        start = start_for(wall.total_seconds(), args.speed, now + wall)
    end = None if args.duration is None else start + wall * args.speed
    sim = DistrictSimulator(
        registry,
        args.seed,
        args.scenario,
        args.malformed_rate,
        feeds=args.feeds or FEED_NAMES,
        run_window=(start, start + wall * args.speed),
        root=settings.mqtt.topic_root,
    )
    messages = _chunks(sim, start, end)
    if args.no_publish:
        n = write_recording(args.record, ((m.ts, m) for m in messages))
        print(json.dumps({"recorded": n, "file": str(args.record)}))
        return 0
    pub = _publisher(settings, "sim")
    with contextlib.ExitStack() as stack:
        on_sent = None
        if args.record:
            out = stack.enter_context(args.record.open("w", encoding="utf-8"))

            def on_sent(m: Message) -> None:
                out.write(recording_line(datetime.now(UTC), m) + "\n")

        stats = drive(
            messages,
            pub,
            root=settings.mqtt.topic_root,
            clock=SimClock(start, args.speed),
            stop=stop,
            on_progress=_progress,
            on_sent=on_sent,
        )
    _report(stats, pub)
    return 0


def replay_file(settings: Settings, args: argparse.Namespace, stop: threading.Event) -> int:
    pub = _publisher(settings, "replay")
    stats = DriveStats()
    for delay, m in replay(read_recording(args.file), args.speed):
        if delay > 0 and stop.wait(delay):
            break
        drive([m], pub, root=settings.mqtt.topic_root, stats=stats)
    _report(stats, pub)
    return 0


def backfill(settings: Settings, args: argparse.Namespace, stop: threading.Event) -> int:
    """History up to now, as fast as the broker takes it (bounded in-flight backlog)."""
    registry = load_registry()
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=args.days)
    sim = DistrictSimulator(
        registry,
        args.seed,
        (),
        0.0,
        feeds=args.feeds or FEED_NAMES,
        run_window=(start, end),
        root=settings.mqtt.topic_root,
    )
    pub = _publisher(settings, "backfill")
    stats = drive(
        _chunks(sim, start, end),
        pub,
        root=settings.mqtt.topic_root,
        stop=stop,
        on_progress=_progress,
    )
    _report(stats, pub)
    return 0
