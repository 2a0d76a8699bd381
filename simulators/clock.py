"""Simulated time: an accelerated clock that catches up with the present, then runs in real time.

Device timestamps come from this clock, so they are never in the future: a run started at
``start`` in the past at speed ``S`` sweeps forward ``S`` simulated seconds per wall second
until it reaches the real now, and from then on follows it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def _aware(t: datetime) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"naive datetime {t.isoformat()}: pass an aware time (UTC)")
    return t.astimezone(UTC)


class SimClock:
    """``now() = min(start + speed x (wall() - wall at creation), real now)``, aware UTC."""

    def __init__(
        self, start: datetime, speed: float, wall: Callable[[], float] = time.time
    ) -> None:
        if not speed >= 0:  # also rejects NaN
            raise ValueError(f"speed must be >= 0, got {speed}")
        self.start = _aware(start)
        self.speed = speed
        self._wall = wall
        self._wall0 = wall()

    def _real(self, w: float) -> datetime:
        return datetime.fromtimestamp(w, UTC)

    def _at(self, w: float) -> datetime:
        real = self._real(w)
        if math.isinf(self.speed):
            return real
        return min(self.start + timedelta(seconds=self.speed * (w - self._wall0)), real)

    def now(self) -> datetime:
        return self._at(self._wall())

    def caught_up(self) -> bool:
        """True once the clock runs in real time."""
        w = self._wall()
        return self._at(w) >= self._real(w)

    def delay_until(self, t: datetime) -> float:
        """Wall seconds to wait until ``now()`` reaches ``t`` (0 when already there)."""
        t = _aware(t)
        w = self._wall()
        needed = t.timestamp()  # real time must reach t ...
        if not math.isinf(self.speed):
            if self.speed == 0:
                return 0.0 if t <= self.start else math.inf
            # ... and so must the accelerated time.
            needed = max(needed, self._wall0 + (t - self.start).total_seconds() / self.speed)
        return max(0.0, needed - w)


def start_for(duration_s: float, speed: float, now: datetime | None = None) -> datetime:
    """The ``start`` for a run of ``duration_s`` wall seconds at ``speed`` that ends at ``now``."""
    end = _aware(now) if now is not None else datetime.now(UTC)
    return end - timedelta(seconds=duration_s * speed)
