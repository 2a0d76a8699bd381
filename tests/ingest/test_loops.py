"""The watch an entry point waits on: the first permanent failure wins and wakes it."""

from __future__ import annotations

import logging
import random
import threading

import psycopg
import pytest

from ingest.backoff import Backoff
from ingest.loops import LoopFailedError, LoopGuard, LoopWatch


def test_the_first_failure_is_kept_and_wakes_the_entry_points_event() -> None:
    watch = LoopWatch()
    stop = threading.Event()
    watch.wake(stop)
    watch.wait(0)  # nothing failed: returns
    first = LoopFailedError("collector-writer", "c", KeyError("x"))
    watch.fail(first)
    watch.fail(LoopFailedError("rules-engine", "c", KeyError("y")))
    assert stop.is_set()
    assert watch.error is first
    with pytest.raises(LoopFailedError, match="collector-writer"):
        watch.check()
    late = threading.Event()
    watch.wake(late)  # an event registered after the failure is set at once
    assert late.is_set()


def test_a_guard_retries_transient_failures_and_stops_on_a_permanent_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch = LoopWatch()
    guard = LoopGuard(
        "probe", "i", watch=watch, backoff=Backoff(1.0, 4.0, rand=random.Random(1).random)
    )
    with caplog.at_level(logging.INFO, logger="ingest.loops"):
        delays = [guard.failed(psycopg.OperationalError("lost")) for _ in range(4)]
        guard.succeeded()
        assert guard.failed(psycopg.OperationalError("lost")) is not None
        assert not watch.failed.is_set()
        assert guard.failed(ValueError("a bug")) is None
    assert all(d is not None and 0 <= d <= 4.0 for d in delays)
    assert watch.error is guard.failure
    assert isinstance(guard.failure, LoopFailedError)
    assert isinstance(guard.failure.cause, ValueError)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    # a traceback for the first failure of each streak only
    assert [r.exc_info is not None for r in warnings] == [True, False, False, False, True]
    assert "recovered after 4 failed attempts" in caplog.text
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert error.exc_info is not None
    assert error.loop == "probe"  # type: ignore[attr-defined]
