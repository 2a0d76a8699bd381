"""Same seed and window give the same bytes, in one go or in chunks."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from ingest.registry.model import Registry
from simulators import DistrictSimulator
from tests.simulators.conftest import T0

NOW = datetime(2030, 1, 1, tzinfo=UTC)
SCENARIOS = ("bypass", "nh3-exceedance", "pm25-episode", "pipe-burst", "rsu-outage")


def _sim(registry: Registry, seed: int = 7) -> DistrictSimulator:
    return DistrictSimulator(
        registry, seed=seed, scenarios=SCENARIOS, malformed_rate=0.05, now=lambda: NOW
    )


def test_same_seed_same_bytes(registry: Registry) -> None:
    t1 = T0 + timedelta(minutes=40)
    a = list(_sim(registry).messages(T0, t1))
    b = list(_sim(registry).messages(T0, t1))
    assert a == b
    assert any(not m.valid for m in a)
    c = list(_sim(registry, seed=8).messages(T0, t1))
    assert [m.payload for m in a] != [m.payload for m in c]


def test_chunked_equals_unchunked(registry: Registry) -> None:
    t1 = T0 + timedelta(minutes=40)
    whole = list(_sim(registry).messages(T0, t1))
    sim = DistrictSimulator(
        registry,
        seed=7,
        scenarios=SCENARIOS,
        malformed_rate=0.05,
        now=lambda: NOW,
        run_window=(T0, t1),
    )
    cuts = [T0, T0 + timedelta(seconds=7.5), T0 + timedelta(minutes=13, microseconds=3), t1]
    chunked = [m for a, b in itertools.pairwise(cuts) for m in sim.messages(a, b)]
    assert chunked == whole


def test_run_window_defaults_to_first_call(registry: Registry) -> None:
    sim = _sim(registry)
    list(sim.messages(T0, T0 + timedelta(minutes=10)))
    assert sim.run_window == (T0, T0 + timedelta(minutes=10))
    burst = next(s for s in sim.active_scenarios if s.name == "pipe-burst")
    assert (burst.start, burst.end) == (T0 + timedelta(minutes=2), T0 + timedelta(minutes=8))
