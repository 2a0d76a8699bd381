"""Malformed messages: every reason, the requested rate, never in place of a valid one."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from ingest.reasons import Reason
from ingest.registry.model import Registry
from simulators import DistrictSimulator
from simulators.malformed import INJECTED_REASONS
from tests.simulators.conftest import T0

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def test_every_reason_at_the_requested_rate(registry: Registry) -> None:
    rate = 0.1
    clean = list(DistrictSimulator(registry, seed=9).messages(T0, T0 + timedelta(hours=1)))
    sim = DistrictSimulator(registry, seed=9, malformed_rate=rate, now=lambda: NOW)
    mixed = list(sim.messages(T0, T0 + timedelta(hours=1)))
    assert [m for m in mixed if m.valid] == clean  # additional, never replacing
    bad = [m for m in mixed if not m.valid]
    assert abs(len(bad) / len(clean) - rate) < 0.015
    reasons = Counter(m.reason for m in bad)
    assert set(reasons) == {r.value for r in INJECTED_REASONS}
    # the two a payload cannot earn on its own: refused by the database, or by a stored row
    assert set(INJECTED_REASONS) == set(Reason) - {
        Reason.DB_REJECTED,
        Reason.CONFLICTING_DUPLICATE,
    }
    assert min(reasons.values()) > len(bad) / len(INJECTED_REASONS) / 2


def test_no_collision_with_valid_rows(registry: Registry) -> None:
    sim = DistrictSimulator(registry, seed=2, malformed_rate=0.3, now=lambda: NOW)
    messages = list(sim.messages(T0, T0 + timedelta(minutes=20)))
    valid = {(m.topic, json.loads(m.payload)["ts"]) for m in messages if m.valid}
    for m in messages:
        if m.valid:
            continue
        try:
            ts = json.loads(m.payload).get("ts")
        except ValueError:
            continue  # not JSON at all
        assert (m.topic, ts) not in valid, m


def test_future_timestamps_are_ahead_of_the_wall_clock(registry: Registry) -> None:
    sim = DistrictSimulator(registry, seed=1, malformed_rate=0.5, now=lambda: NOW)
    future = [
        m for m in sim.messages(T0, T0 + timedelta(minutes=10)) if m.reason == "future_timestamp"
    ]
    assert future
    for m in future:
        ts = datetime.fromisoformat(json.loads(m.payload)["ts"])
        assert ts == max(m.ts, NOW) + timedelta(hours=1)


def test_rate_is_checked(registry: Registry) -> None:
    with pytest.raises(ValueError, match="rate"):
        DistrictSimulator(registry, malformed_rate=1.5)
