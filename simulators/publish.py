"""Publish a simulated (or replayed) message stream through the broker, paced by a clock."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ingest.mqtt import MqttPublisher
from ingest.topics import parse_topic
from simulators.clock import SimClock
from simulators.message import Message


@dataclass
class DriveStats:
    valid: Counter[str] = field(default_factory=Counter)  # by feed
    malformed: Counter[str] = field(default_factory=Counter)  # by expected reason
    started: float = field(default_factory=time.monotonic)

    @property
    def sent(self) -> int:
        return self.valid.total() + self.malformed.total()


def _feed(topic: str, root: str) -> str:
    parts = parse_topic(topic, root)
    return parts.feed if parts else "unknown"


def drive(
    messages: Iterable[Message],
    publisher: MqttPublisher,
    *,
    root: str,
    clock: SimClock | None = None,
    stop: threading.Event | None = None,
    stats: DriveStats | None = None,
    on_progress: Callable[[DriveStats], None] | None = None,
    on_sent: Callable[[Message], None] | None = None,
) -> DriveStats:
    """Send each message when ``clock`` reaches its time (at once without a clock)."""
    stats = stats or DriveStats()
    stop = stop or threading.Event()
    last_progress = time.monotonic()
    for m in messages:
        if clock is not None:
            delay = clock.delay_until(m.ts)
            if delay > 0 and stop.wait(delay):
                break
        if stop.is_set():
            break
        publisher.publish(m.topic, m.payload)
        if on_sent is not None:
            on_sent(m)
        if m.valid:
            stats.valid[_feed(m.topic, root)] += 1
        else:
            stats.malformed[m.reason or "unknown"] += 1
        if on_progress is not None and time.monotonic() - last_progress >= 1.0:
            last_progress = time.monotonic()
            on_progress(stats)
    return stats
