"""The load generator's payloads are valid; per device ts and seq strictly increase."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from ingest.feeds import kind_for
from ingest.registry.model import Registry
from ingest.topics import parse_topic
from simulators import LoadGenerator


def test_valid_and_increasing(registry: Registry) -> None:
    gen = LoadGenerator(registry, seed=1)
    now = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)
    batch = gen.take(3 * len(gen) + 5, now) + gen.take(len(gen), now + timedelta(milliseconds=1))
    feeds = set()
    last: dict[str, tuple[datetime, int]] = {}
    counts: dict[str, int] = defaultdict(int)
    for topic, payload in batch:
        parts = parse_topic(topic)
        assert parts is not None
        feeds.add(parts.feed)
        kind = kind_for(parts.feed, parts.kind)
        assert kind is not None
        p = kind.model.model_validate_json(payload)
        assert now <= p.ts < now + timedelta(seconds=1)
        if topic in last:
            assert p.ts > last[topic][0]
            assert p.seq == last[topic][1] + 1
        last[topic] = (p.ts, p.seq)
        counts[topic] += 1
    assert feeds == {"wastewater", "air", "water", "v2x"}
    assert max(counts.values()) - min(counts.values()) <= 1  # round robin


def test_rate_is_reported(registry: Registry) -> None:
    """Measured, not asserted (speed belongs to the benchmark command)."""
    gen = LoadGenerator(registry)
    t = time.perf_counter()
    n = len(gen.take(20_000, datetime.now(UTC)))
    rate = n / (time.perf_counter() - t)
    assert n == 20_000
    assert rate > 0
