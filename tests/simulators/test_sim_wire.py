"""Every generated message honours the wire contract (ingest's models, topics, decoder)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ingest.collector.decode import Accepted, Decoder, Rejected
from ingest.registry.model import Registry
from simulators import DistrictSimulator
from simulators.v2x import V2xSimulator
from tests.simulators.conftest import T0
from tests.simulators.helpers import by_device, decode_valid


def test_valid_messages_validate_in_time_order(registry: Registry) -> None:
    """A day and more (nightly and daily kinds included); RSUs get their own shorter test."""
    sim = DistrictSimulator(registry, seed=3, feeds=("wastewater", "air", "water"))
    messages = list(sim.messages(T0, T0 + timedelta(hours=26)))
    messages += DistrictSimulator(registry, seed=3, feeds=("v2x",)).messages(
        T0, T0 + timedelta(hours=2)
    )
    messages.sort(key=lambda m: m.ts)
    decoded = decode_valid(registry, messages)
    assert len(decoded) == len(messages)
    assert [m.ts for m in messages] == sorted(m.ts for m in messages)
    kinds = {k for _, k, _ in decoded}
    assert kinds >= {"reading", "flow", "pressure", "leak", "billing", "heartbeat", "counters"}
    for (device, kind), payloads in by_device(decoded).items():
        stamps = [p.ts for p in payloads]
        assert len(set(stamps)) == len(stamps), (device, kind)
        seqs = [p.seq for p in payloads]
        assert seqs == sorted(seqs), (device, kind)
        assert len(set(seqs)) == len(seqs), (device, kind)


def test_every_device_reports_on_schedule(registry: Registry) -> None:
    hour = list(DistrictSimulator(registry).messages(T0, T0 + timedelta(hours=1)))
    counts: dict[str, int] = {}
    for m in hour:
        device = m.topic.split("/")[2]
        counts[device] = counts.get(device, 0) + 1
    for d in registry.devices():
        expected = {
            "wwtp": 60,
            "pumping_station": 60,
            "air_station": 60,
            "flow_meter": 60,
            "pressure_point": 60,
            "rsu": 360 + 60,  # heartbeats every 10 s, counters every minute (+ rare events)
        }.get(d.device_type)
        if expected is not None:
            assert expected <= counts[d.device_id] <= expected + 2, d.device_id


def test_decoder_accepts_valid_and_rejects_each_malformed_as_labelled(registry: Registry) -> None:
    now = T0 + timedelta(hours=1)  # the collector's clock: the window is live data
    sim = DistrictSimulator(registry, seed=5, malformed_rate=0.2, now=lambda: now)
    decoder = Decoder({d.device_id: d.device_type for d in registry.devices()})
    messages = list(sim.messages(T0, T0 + timedelta(minutes=30)))
    for m in messages:
        result = decoder.decode(m.topic.encode(), m.payload, now)
        if m.valid:
            assert isinstance(result, Accepted), (m, result)
        else:
            assert isinstance(result, Rejected), m
            assert result.reason == m.reason, (m, result)


def test_district_registry_short_window(district_registry: Registry) -> None:
    """The real registry: a few minutes of every device validates (and RSUs spread out)."""
    t0 = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)
    messages = list(
        DistrictSimulator(district_registry, seed=1).messages(t0, t0 + timedelta(minutes=2))
    )
    decoded = decode_valid(district_registry, messages)
    assert len(decoded) == len(messages) > 1600 * 12
    per_second: dict[datetime, int] = {}
    for m in messages:
        second = m.ts.replace(microsecond=0)
        per_second[second] = per_second.get(second, 0) + 1
    assert max(per_second.values()) < 1600 / 3  # no thundering herd


def test_road_events(registry: Registry) -> None:
    sim = V2xSimulator(registry, seed=2)
    events = list(sim._events(T0, T0 + timedelta(days=30)))
    decoded = decode_valid(registry, events)
    assert 5 <= len(decoded) <= 60
    assert {p.msg_type for _, _, p in decoded} <= {"RSI", "RSM"}  # type: ignore[attr-defined]
    assert [m.ts for m in events] == sorted(m.ts for m in events)


def test_malformed_billing_is_refused_as_labelled(district_registry: Registry) -> None:
    """Billing is fixed at 00:00 of its day: a corruption of it is refused for the reason it
    was made for (a repeated key, a NaN …), not as a schema error."""
    now = T0 + timedelta(hours=26)
    sim = DistrictSimulator(
        district_registry, seed=7, feeds=("water",), malformed_rate=1.0, now=lambda: now
    )
    decoder = Decoder({d.device_id: d.device_type for d in district_registry.devices()})
    billing = [m for m in sim.messages(T0, now) if not m.valid and m.topic.endswith("/billing")]
    assert {"duplicate_key", "non_finite", "future_timestamp"} <= {m.reason for m in billing}
    for m in billing:
        result = decoder.decode(m.topic.encode(), m.payload, now)
        assert isinstance(result, Rejected), m
        assert result.reason == m.reason, (m, result)
