"""The simulated clock runs fast until it meets the present, then follows it."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from simulators import SimClock, start_for

REAL0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Wall:
    def __init__(self) -> None:
        self.t = REAL0.timestamp()

    def __call__(self) -> float:
        return self.t


def test_accelerates_then_catches_up() -> None:
    wall = Wall()
    start = start_for(100, 60, now=REAL0)  # 100 wall seconds at 60x end at REAL0
    assert start == REAL0 - timedelta(seconds=6000)
    clock = SimClock(start, 60, wall)
    assert clock.now() == start
    wall.t += 50
    assert clock.now() == start + timedelta(seconds=3000)
    assert clock.delay_until(start + timedelta(seconds=3600)) == pytest.approx(10)
    assert not clock.caught_up()
    wall.t += 60  # past the catch-up point: real time, never the future
    real = datetime.fromtimestamp(wall.t, UTC)
    assert clock.now() == real
    assert clock.caught_up()
    assert clock.delay_until(real + timedelta(seconds=5)) == pytest.approx(5)
    assert clock.delay_until(real - timedelta(seconds=5)) == 0


def test_speed_edges() -> None:
    wall = Wall()
    assert SimClock(REAL0, math.inf, wall).now() == REAL0
    frozen = SimClock(REAL0 - timedelta(hours=1), 0, wall)
    wall.t += 100
    assert frozen.now() == REAL0 - timedelta(hours=1)
    with pytest.raises(ValueError, match="speed"):
        SimClock(REAL0, -1, wall)
    with pytest.raises(ValueError, match="naive"):
        SimClock(datetime(2025, 1, 1), 1, wall)  # noqa: DTZ001 - the point of the test
