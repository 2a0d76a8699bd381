"""Counters per feed and latency histograms, shared between the collector's threads."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

_MAX_MS = 120_000


class Histogram:
    """Millisecond latency histogram (1 ms buckets up to two minutes, then one overflow)."""

    def __init__(self) -> None:
        self._counts = [0] * (_MAX_MS + 1)
        self.total = 0

    def add_many(self, values_ms: list[float]) -> None:
        counts = self._counts
        for v in values_ms:
            counts[min(max(int(v), 0), _MAX_MS)] += 1
        self.total += len(values_ms)

    def quantile(self, q: float) -> float | None:
        if self.total == 0:
            return None
        target = q * self.total
        seen = 0
        for ms, c in enumerate(self._counts):
            seen += c
            if seen >= target and c:
                return float(ms)
        return float(_MAX_MS)


@dataclass
class StatsSnapshot:
    received: dict[str, int] = field(default_factory=dict)
    stored: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    dead_lettered: dict[str, int] = field(default_factory=dict)
    dead_letter_reasons: dict[str, int] = field(default_factory=dict)
    pending: int = 0
    batches: int = 0
    db_retries: int = 0
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None

    def total(self, name: str) -> int:
        value: dict[str, int] = getattr(self, name)
        return sum(value.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.total("received"),
            "stored": self.total("stored"),
            "duplicates": self.total("duplicates"),
            "dead_lettered": self.total("dead_lettered"),
            "pending": self.pending,
            "by_feed": {
                feed: {
                    "received": self.received.get(feed, 0),
                    "stored": self.stored.get(feed, 0),
                    "duplicates": self.duplicates.get(feed, 0),
                    "dead_lettered": self.dead_lettered.get(feed, 0),
                }
                for feed in sorted(set(self.received) | set(self.stored))
            },
            "dead_letter_reasons": dict(sorted(self.dead_letter_reasons.items())),
        }


class CollectorStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.received: Counter[str] = Counter()
        self.stored: Counter[str] = Counter()
        self.duplicates: Counter[str] = Counter()
        self.dead_lettered: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.batches = 0
        self.db_retries = 0
        # device timestamp → commit: end-to-end when devices stamp at publish time
        self.latency = Histogram()

    def count_received(self, feed: str) -> None:
        with self._lock:
            self.received[feed] += 1

    def count_batch(
        self,
        stored: Counter[str],
        duplicates: Counter[str],
        dead: Counter[str],
        reasons: Counter[str],
        latencies_ms: list[float],
    ) -> None:
        with self._lock:
            self.stored.update(stored)
            self.duplicates.update(duplicates)
            self.dead_lettered.update(dead)
            self.reasons.update(reasons)
            self.batches += 1
            self.latency.add_many(latencies_ms)

    def count_retry(self) -> None:
        with self._lock:
            self.db_retries += 1

    def snapshot(self, pending: int = 0) -> StatsSnapshot:
        with self._lock:
            return StatsSnapshot(
                received=dict(self.received),
                stored=dict(self.stored),
                duplicates=dict(self.duplicates),
                dead_lettered=dict(self.dead_lettered),
                dead_letter_reasons=dict(self.reasons),
                pending=pending,
                batches=self.batches,
                db_retries=self.db_retries,
                latency_p50_ms=self.latency.quantile(0.50),
                latency_p99_ms=self.latency.quantile(0.99),
            )
