"""A one-line progress display for long runs (rewritten in place on a terminal)."""

from __future__ import annotations

import time
from typing import TextIO

from ingest.collector.stats import StatsSnapshot
from ingest.feeds import FEED_NAMES
from simulators.publish import DriveStats


class ProgressLine:
    def __init__(self, out: TextIO, interval_s: float = 2.0) -> None:
        self._out = out
        self._tty = out.isatty()
        self._interval = interval_s
        self._last = 0.0
        self._wrote = False

    def update(self, drove: DriveStats, snap: StatsSnapshot) -> None:
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        self._last = now
        stored = " ".join(f"{f} {snap.stored.get(f, 0):,}" for f in FEED_NAMES)
        line = (
            f"[{now - drove.started:6.0f} s] published {drove.valid.total():,}"
            f" | stored {stored} | dead letters {snap.total('dead_lettered'):,}"
            f" | duplicates {snap.total('duplicates'):,} | pending {snap.pending:,}"
        )
        if snap.latency_p50_ms is not None:
            line += f" | lag p50 {snap.latency_p50_ms / 1000:.1f} s"
        if self._tty:
            self._out.write("\r\033[K" + line)
        else:
            self._out.write(line + "\n")
        self._out.flush()
        self._wrote = True

    def done(self) -> None:
        if self._tty and self._wrote:
            self._out.write("\n")
            self._out.flush()
