"""Each scenario visibly changes its signal in its window, and only there."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ingest.registry.model import Registry
from simulators import SCENARIOS, DistrictSimulator, ScenarioRun, UnknownScenarioError
from simulators.message import Message
from tests.simulators.conftest import T0
from tests.simulators.helpers import mean, series

HOURS = 10
T1 = T0 + timedelta(hours=HOURS)


def _pair(
    registry: Registry, name: str, feed: str, hours: float = HOURS
) -> tuple[list[Message], list[Message], DistrictSimulator]:
    t1 = T0 + timedelta(hours=hours)
    normal = list(DistrictSimulator(registry, seed=4, feeds=(feed,)).messages(T0, t1))
    sim = DistrictSimulator(registry, seed=4, scenarios=(name,), feeds=(feed,))
    return normal, list(sim.messages(T0, t1)), sim


def _inside(points: list[tuple[datetime, float]], a: datetime, b: datetime) -> list[float]:
    return [v for t, v in points if a <= t < b]


def test_names_and_errors(registry: Registry) -> None:
    assert set(SCENARIOS) == {
        "bypass",
        "nh3-exceedance",
        "pm25-episode",
        "pipe-burst",
        "rsu-outage",
        "o3-episode",
        "pc5-fault",
        "device-silent",
        "device-buffered",
        "sensor-stuck",
        "impossible-values",
        "sensor-set",
        "sensor-calibration",
    }
    with pytest.raises(UnknownScenarioError, match="valid: bypass, device-buffered"):
        DistrictSimulator(registry, scenarios=("flood",))
    sim = DistrictSimulator(registry, scenarios=("pipe-burst:dma-99",))
    with pytest.raises(UnknownScenarioError, match="dma-99"):
        sim.messages(T0, T1)


def test_bypass(registry: Registry) -> None:
    normal, event, sim = _pair(registry, "bypass", "wastewater")
    (s,) = sim.active_scenarios
    (plant,) = s.targets
    a, b = s.start + s.ramp, s.end - s.ramp
    bypass = _inside(series(event, plant, "reading", "bypass_flow_m3h"), a, b)
    inflow = _inside(series(event, plant, "reading", "influent_flow_m3h"), a, b)
    assert min(x / q for x, q in zip(bypass, inflow, strict=True)) > 0.35
    out_before = _inside(series(normal, plant, "reading", "effluent_flow_m3h"), a, b)
    out_during = _inside(series(event, plant, "reading", "effluent_flow_m3h"), a, b)
    assert mean(out_during) < 0.65 * mean(out_before)
    assert all(
        v == 0 for v in _inside(series(event, plant, "reading", "bypass_flow_m3h"), T0, s.start)
    )


def test_nh3_exceedance(registry: Registry) -> None:
    normal, event, sim = _pair(registry, "nh3-exceedance", "wastewater")
    (s,) = sim.active_scenarios
    (plant,) = s.targets
    during = _inside(
        series(event, plant, "reading", "effluent_nh3n_mgl"), s.start + s.ramp, s.end - s.ramp
    )
    assert min(during) >= 9
    assert max(during) <= 14
    assert max(v for _, v in series(normal, plant, "reading", "effluent_nh3n_mgl")) < 5
    tn = _inside(series(event, plant, "reading", "effluent_tn_mgl"), s.start, s.end)
    nh3 = _inside(series(event, plant, "reading", "effluent_nh3n_mgl"), s.start, s.end)
    assert all(t > n for t, n in zip(tn, nh3, strict=True))


def test_pm25_episode(registry: Registry) -> None:
    normal, event, sim = _pair(registry, "pm25-episode", "air")
    (s,) = sim.active_scenarios
    assert s.targets == {a.id for a in registry.air}
    for station in s.targets:
        during = _inside(
            series(event, station, "reading", "pm25_ugm3"), s.start + s.ramp, s.end - s.ramp
        )
        assert min(during) >= 150
        assert max(during) <= 250
        pm10 = _inside(
            series(event, station, "reading", "pm10_ugm3"), s.start + s.ramp, s.end - s.ramp
        )
        assert all(1.4 <= p10 / p25 <= 1.8 for p10, p25 in zip(pm10, during, strict=True))
        assert max(v for _, v in series(normal, station, "reading", "pm25_ugm3")) < 150


def test_pipe_burst(registry: Registry) -> None:
    # Over a local night so the leak loggers (03:00 local = 19:00 UTC) report in the window.
    normal, event, sim = _pair(registry, "pipe-burst", "water", hours=16)
    (s,) = sim.active_scenarios
    (dma,) = s.targets
    d = next(x for x in registry.dmas if x.id == dma)
    for meter in d.inlet_meters:
        q0 = mean(_inside(series(normal, meter.id, "flow", "flow_m3h"), s.start, s.end))
        q1 = mean(_inside(series(event, meter.id, "flow", "flow_m3h"), s.start, s.end))
        assert q1 >= 1.3 * q0
    for point in d.pressure_points:
        p0 = mean(_inside(series(normal, point.id, "pressure", "pressure_kpa"), s.start, s.end))
        p1 = mean(_inside(series(event, point.id, "pressure", "pressure_kpa"), s.start, s.end))
        assert p1 <= 0.75 * p0
    loggers = [g.id for g in registry.leak_loggers if g.dma == dma]
    loud = [
        v for g in loggers for v in _inside(series(event, g, "leak", "noise_db"), s.start, s.end)
    ]
    flags = [
        v for g in loggers for v in _inside(series(event, g, "leak", "leak_flag"), s.start, s.end)
    ]
    assert loud
    assert min(loud) >= 55
    assert all(flags)
    quiet = [v for g in loggers for _, v in series(normal, g, "leak", "noise_db")]
    assert quiet
    assert max(quiet) <= 35


def test_rsu_outage(registry: Registry) -> None:
    sim = DistrictSimulator(registry, seed=4, scenarios=("rsu-outage",), feeds=("v2x",))
    messages = list(sim.messages(T0, T0 + timedelta(minutes=30)))
    (s,) = sim.active_scenarios
    (crossing,) = s.targets
    dark = {r.id for r in registry.rsus if r.intersection == crossing}
    assert dark
    mine = [m for m in messages if m.topic.split("/")[2] in dark]
    assert mine
    assert not [m for m in mine if s.start <= m.ts < s.end]
    assert [m for m in mine if m.ts >= s.end]  # back afterwards
    others = [m for m in messages if s.start <= m.ts < s.end and m.topic.split("/")[2] not in dark]
    assert others


def test_explicit_targets_and_times(registry: Registry) -> None:
    run = ScenarioRun(
        "pipe-burst", ("dma-02",), T0 + timedelta(minutes=5), T0 + timedelta(minutes=6)
    )
    sim = DistrictSimulator(registry, scenarios=(run, "nh3-exceedance:wwtp-luorong-s"))
    sim.messages(T0, T1)
    burst, nh3 = sim.active_scenarios
    assert burst.targets == {"dma-02"}
    assert burst.start == T0 + timedelta(minutes=5)
    assert nh3.targets == {"wwtp-luorong-s"}
    assert nh3.start == T0 + timedelta(hours=HOURS * 0.2)
