"""Which periods a logger's readings miss, when the gateway asks for them, and when a gap
counts as recovered: the gateway's history bookkeeping, on its own clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingest.gateway.directory import Directory, Logger
from ingest.gateway.history import History, Span, floor_to, missing
from ingest.hj212 import CommandReply
from ingest.registry import load_registry

T0 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def logger(device: str) -> Logger:
    return next(x for x in Directory(load_registry()) if x.device_id == device)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def history(clock: Clock) -> History:
    return History(
        max_span=timedelta(hours=72), delay_s=60, timeout_s=120, retry_s=300, monotonic=clock
    )


def reply(cn: str, qn: str, code: int) -> CommandReply:
    return CommandReply(cn, qn, code, "meaning")


def test_missing_periods_lie_strictly_between_two_readings() -> None:
    assert list(missing(T0, T0 + 4 * MINUTE, MINUTE)) == [T0 + k * MINUTE for k in (1, 2, 3)]
    assert list(missing(T0 + 20 * MINUTE / 60, T0 + MINUTE, MINUTE)) == []
    assert floor_to(T0 + timedelta(seconds=89), MINUTE) == T0 + MINUTE


def test_a_gap_is_asked_for_once_resends_had_their_time(history: History, clock: Clock) -> None:
    plant = logger("wwtp-guantang")  # real-time readings each minute: minute data stands in
    history.observe(plant, T0)
    history.observe(plant, T0 + MINUTE)
    assert history.due(plant) is None  # no gap
    history.observe(plant, T0 + 11 * MINUTE)
    assert history.due(plant) is None  # resends may still come
    clock.t += 61
    span = history.due(plant)
    assert span == Span("2051", T0 + 2 * MINUTE, T0 + 10 * MINUTE, MINUTE)
    assert span is not None
    assert span.periods == 9
    history.asked(plant, span, "Q1")
    assert history.due(plant) is None  # one request at a time
    answer = history.answering(plant.mn, "Q1", "2051")
    assert answer is not None
    assert history.answering(plant.mn, "Q1", "2061") is None
    for _ in range(9):
        history.published(answer)
    history.replied(plant, reply("9011", "Q1", 1))
    history.replied(plant, reply("9012", "Q1", 1))
    assert history.due(plant) is None
    assert history.as_dict() == {
        "missing_found": 9,
        "filled_by_resends": 0,
        "requested": 1,
        "recovered": 9,
        "failed": 0,
        "missing_now": 0,
    }


def test_resends_fill_their_periods_and_runs_are_asked_one_by_one(
    history: History, clock: Clock
) -> None:
    station = logger("air-luobu")  # minute data as its readings
    history.observe(station, T0)
    history.observe(station, T0 + 10 * MINUTE)
    history.observe(station, T0 + 4 * MINUTE)  # sent again, late
    history.observe(station, T0 + 5 * MINUTE)
    clock.t += 61
    first = history.due(station)
    assert first == Span("2051", T0 + MINUTE, T0 + 3 * MINUTE, MINUTE)
    history.asked(station, first, "Q1")
    history.replied(station, reply("9012", "Q1", 100))  # no data: nothing more to ask
    assert history.due(station) == Span("2051", T0 + 6 * MINUTE, T0 + 9 * MINUTE, MINUTE)
    assert history.as_dict()["filled_by_resends"] == 2


def test_a_refused_unanswered_or_unconfirmed_request_is_asked_again_later(
    history: History, clock: Clock
) -> None:
    plant = logger("wwtp-guantang")
    history.observe(plant, T0)
    history.observe(plant, T0 + 5 * MINUTE)
    clock.t += 61
    span = history.due(plant)
    assert span is not None
    history.asked(plant, span, "Q1")
    history.replied(plant, reply("9011", "Q1", 2))  # refused
    assert history.due(plant) is None
    clock.t += 301
    assert history.due(plant) == span
    history.asked(plant, span, "Q2")
    clock.t += 121  # no 9012 in time
    assert history.due(plant) is None  # failed now, asked again after the retry delay
    clock.t += 301
    history.asked(plant, span, "Q3")
    answer = history.answering(plant.mn, "Q3", "2051")
    assert answer is not None
    answer.failed = True  # the broker did not take one of the answers
    history.replied(plant, reply("9012", "Q3", 1))
    clock.t += 301
    assert history.due(plant) == span
    assert history.as_dict()["failed"] == 3


def test_only_the_newest_max_span_is_kept(clock: Clock) -> None:
    history = History(
        max_span=timedelta(hours=1), delay_s=0, timeout_s=120, retry_s=300, monotonic=clock
    )
    plant = logger("wwtp-guantang")
    history.observe(plant, T0)
    history.observe(plant, T0 + timedelta(hours=6))
    span = history.due(plant)
    assert span is not None
    assert span.end == T0 + timedelta(hours=6) - MINUTE
    assert span.periods == 60
    assert history.as_dict()["missing_now"] == 60


def test_hourly_readings_leave_hours_missing(history: History, clock: Clock) -> None:
    plant = logger("wwtp-guantang")
    hourly = Logger(**{**{f: getattr(plant, f) for f in plant.__slots__}, "readings_cn": "2061"})
    history.observe(hourly, T0)
    history.observe(hourly, T0 + timedelta(minutes=90))  # within 1.5 periods: no gap
    history.observe(hourly, T0 + timedelta(hours=5))
    clock.t += 61
    hour = timedelta(hours=1)
    assert history.due(hourly) == Span("2061", T0 + 2 * hour, T0 + 4 * hour, hour)
