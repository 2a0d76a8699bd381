"""The terminal of long runs (``envmon up``, ``envmon demo``): one status line, rewritten
in place on a terminal, with log records and this run's alerts printed above it — never
glued to it — and an outage shown as such, not as a frozen line."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TextIO

from ingest.collector.stats import StatsSnapshot
from ingest.feeds import FEED_NAMES
from simulators.publish import DriveStats

if TYPE_CHECKING:
    from envmon.runtime.alert_feed import AlertFeed
    from ingest.collector import Collector

STALLED_S = 6.0  # no progress from the simulators for this long is shown as a stall


class ProgressLine:
    def __init__(
        self, out: TextIO, interval_s: float = 2.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._out = out
        self._tty = out.isatty()
        self._interval = interval_s
        self._clock = clock
        self._last = 0.0
        self._line = ""  # what is drawn now (terminal only)
        self._drove: DriveStats | None = None
        self._drove_total = 0
        self._snap: StatsSnapshot | None = None
        self._moved = clock()
        self._collector: Collector | None = None
        self._alerts: AlertFeed | None = None
        self._db_retries = 0
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def watch(self, collector: Collector, alerts: AlertFeed | None = None) -> None:
        """Follow the run: the status line is redrawn even while the simulators are held
        up (a broker or database outage), and new alerts are printed as they fire."""
        self._collector, self._alerts = collector, alerts
        self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
        self._ticker.start()

    def update(self, drove: DriveStats, snap: StatsSnapshot) -> None:
        with self._lock:
            if drove.valid.total() != self._drove_total:
                self._moved = self._clock()
                self._drove_total = drove.valid.total()
            self._drove, self._snap = drove, snap
            if self._clock() - self._last >= self._interval:
                self._draw()

    def note(self, text: str) -> None:
        """A line above the status line."""
        with self._lock:
            if self._tty and self._line:
                self._out.write("\r\033[K")
            self._out.write(text.rstrip("\n") + "\n")
            if self._tty and self._line:
                self._out.write(self._line)
            self._out.flush()

    @contextlib.contextmanager
    def logging_above(self) -> Iterator[None]:
        """Route the root logger's console output through :meth:`note` meanwhile."""
        root = logging.getLogger()
        swapped = [h for h in root.handlers if type(h) is logging.StreamHandler]
        above = _Above(self)
        if swapped:
            above.setFormatter(swapped[0].formatter)
            above.setLevel(swapped[0].level)
        for h in swapped:
            root.removeHandler(h)
        root.addHandler(above)
        try:
            yield
        finally:
            root.removeHandler(above)
            for h in swapped:
                root.addHandler(h)

    def done(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(5)
        with self._lock:
            if self._tty and self._line:
                self._out.write("\n")
                self._out.flush()
            self._line = ""

    def _tick(self) -> None:
        while not self._stop.wait(self._interval):
            with contextlib.suppress(Exception):  # the display never stops the run
                if self._alerts is not None:
                    for line in self._alerts.new():
                        self.note(line)
            with self._lock:
                if self._drove is not None and self._clock() - self._last >= self._interval:
                    if self._collector is not None:
                        self._snap = self._collector.snapshot()
                    self._draw()

    def _outages(self, snap: StatsSnapshot) -> list[str]:
        out = []
        if self._collector is not None and not self._collector.wait_connected(0):
            out.append("broker unreachable, reconnecting")
        if snap.db_retries > self._db_retries:
            out.append("database unreachable, retrying")
        self._db_retries = snap.db_retries
        stalled = self._clock() - self._moved
        if stalled >= STALLED_S:
            out.append(f"nothing published for {stalled:.0f} s")
        return out

    def _draw(self) -> None:
        drove, snap = self._drove, self._snap
        assert drove is not None
        assert snap is not None
        now = self._clock()
        self._last = now
        stored = " ".join(f"{f} {snap.stored.get(f, 0):,}" for f in FEED_NAMES)
        line = (
            f"[{time.monotonic() - drove.started:6.0f} s] published {drove.valid.total():,}"
            f" | stored {stored} | dead letters {snap.total('dead_lettered'):,}"
            f" | duplicates {snap.total('duplicates'):,} | pending {snap.pending:,}"
        )
        if snap.latency_p50_ms is not None:
            line += f" | lag p50 {snap.latency_p50_ms / 1000:.1f} s"
        for outage in self._outages(snap):
            line += f" | !! {outage}"
        if self._tty:
            self._out.write("\r\033[K" + line)
            self._line = line
        else:
            self._out.write(line + "\n")
        self._out.flush()


class _Above(logging.Handler):
    def __init__(self, progress: ProgressLine) -> None:
        super().__init__()
        self._progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._progress.note(self.format(record))
        except Exception:
            self.handleError(record)
