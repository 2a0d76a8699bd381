"""Property: for any seed and window, valid messages round-trip through ingest's models."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.feeds import kind_for
from ingest.registry.model import Registry
from ingest.topics import parse_topic
from simulators import DistrictSimulator
from tests.simulators.conftest import small_registry

REGISTRY: Registry = small_registry()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    start=st.datetimes(
        min_value=datetime(2020, 1, 2),  # noqa: DTZ001 - hypothesis bounds are naive
        max_value=datetime(2035, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    minutes=st.integers(min_value=1, max_value=15),
    rate=st.sampled_from([0.0, 0.1]),
)
def test_round_trip(seed: int, start: datetime, minutes: int, rate: float) -> None:
    sim = DistrictSimulator(REGISTRY, seed=seed, malformed_rate=rate)
    for m in sim.messages(start, start + timedelta(minutes=minutes)):
        if not m.valid:
            continue
        parts = parse_topic(m.topic)
        assert parts is not None
        kind = kind_for(parts.feed, parts.kind)
        assert kind is not None
        payload = kind.model.model_validate_json(m.payload)
        again = kind.model.model_validate_json(payload.model_dump_json())
        assert again == payload
        assert json.loads(m.payload) == json.loads(payload.model_dump_json())
