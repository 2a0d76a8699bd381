"""Per-process limits: failed authentications and open event streams.

The counters live in the API process (each worker has its own), which is enough to make
guessing keys slow and to keep one client's streams from starving everyone else.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

MAX_TRACKED = 10_000  # addresses and keys with recent failures kept at most


class AuthThrottle:
    """Past ``limit`` failures of one client address or one key within ``window_s``, that
    address or key is refused for ``lockout_s``."""

    def __init__(
        self,
        limit: int,
        window_s: float,
        lockout_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit, self._window, self._lockout, self._clock = limit, window_s, lockout_s, clock
        self._failures: dict[str, list[float]] = {}
        self._locked: dict[str, float] = {}  # id → until
        self._lock = threading.Lock()

    def retry_after(self, *ids: str) -> float | None:
        """Seconds until the first of ``ids`` may try again, or None when none is locked."""
        now = self._clock()
        with self._lock:
            waits = [u - now for i in ids if (u := self._locked.get(i)) is not None and u > now]
        return max(waits) if waits else None

    def failed(self, *ids: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) > MAX_TRACKED:
                self._prune(now)
            for i in ids:
                recent = [t for t in self._failures.get(i, ()) if now - t < self._window]
                recent.append(now)
                self._failures[i] = recent
                if len(recent) >= self._limit:
                    self._locked[i] = now + self._lockout
                    self._failures[i] = []

    def _prune(self, now: float) -> None:
        self._failures = {
            i: ts for i, ts in self._failures.items() if ts and now - ts[-1] < self._window
        }
        self._locked = {i: u for i, u in self._locked.items() if u > now}


class StreamSlots:
    """Event streams open at once: at most ``per_key`` for one key, ``total`` in all."""

    def __init__(self, per_key: int, total: int) -> None:
        self.per_key, self.total = per_key, total
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()

    def acquire(self, holder: str) -> str | None:
        """None when a slot was taken, else why not."""
        with self._lock:
            if self._open[holder] >= self.per_key:
                return f"this key has {self.per_key} event streams open, the most it may"
            if sum(self._open.values()) >= self.total:
                return f"{self.total} event streams are open, the most this server serves"
            self._open[holder] += 1
            return None

    def release(self, holder: str) -> None:
        with self._lock:
            self._open[holder] -= 1
            if self._open[holder] <= 0:
                del self._open[holder]
