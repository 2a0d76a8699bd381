"""The normal signals look like the district: limits met, curves where they belong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ingest.feeds import LOCAL_TZ
from ingest.registry.model import Registry
from simulators import DistrictSimulator
from simulators._signals import episode, local_hour
from tests.simulators.helpers import decode_valid, mean

DAY0 = datetime(2025, 7, 9, 16, 0, tzinfo=UTC)  # local midnight, 2025-07-10


def _day(registry: Registry, feed: str) -> list[tuple[str, str, Any]]:
    sim = DistrictSimulator(registry, seed=11, feeds=(feed,))
    return decode_valid(registry, sim.messages(DAY0, DAY0 + timedelta(days=1, minutes=10)))


def test_wastewater_meets_1a_and_follows_the_day(registry: Registry) -> None:
    rows = _day(registry, "wastewater")
    plants = [p for d, _, p in rows if d.startswith("wwtp")]
    for p in plants:
        assert 10 <= p.effluent_cod_mgl <= 40
        assert 0.2 <= p.effluent_nh3n_mgl <= 2.5
        assert p.effluent_tn_mgl < 15
        assert p.effluent_tp_mgl < 0.5
        assert p.effluent_ss_mgl < 10
        assert 6.8 <= p.effluent_ph <= 7.6
        assert 14 <= p.water_temp_c <= 31
        assert 150 <= p.influent_cod_mgl <= 420
        assert p.bypass_flow_m3h == 0
    stations = [p for d, _, p in rows if d.startswith("ps-")]
    assert all(p.effluent_flow_m3h is None and p.effluent_cod_mgl is None for p in stations)
    flows = [
        (local_hour(p.ts.timestamp()), p.influent_flow_m3h)
        for d, _, p in rows
        if d == "wwtp-guantang"
    ]
    night = mean(q for h, q in flows if 3 <= h < 5)
    morning = mean(q for h, q in flows if 9 <= h < 11)
    assert morning > 1.5 * night
    daily = mean(q for _, q in flows) * 24
    assert 0.6 * 50_000 < daily < 0.95 * 50_000  # a load of 70-90 % of design


def test_water_night_minimum_and_billing(registry: Registry) -> None:
    rows = _day(registry, "water")
    d = registry.dmas[1]
    meters = {m.id for m in d.inlet_meters}
    hourly: dict[int, list[float]] = {}
    for dev, _, p in rows:
        if dev in meters and p.ts < DAY0 + timedelta(days=1):
            hourly.setdefault(int(local_hour(p.ts.timestamp())), []).append(p.flow_m3h)
    by_hour = {h: sum(v) / len(v) * len(meters) for h, v in hourly.items()}
    assert min(by_hour, key=lambda h: by_hour[h]) in (2, 3)
    inflow = sum(by_hour.values())
    assert abs(inflow / (d.population * 0.2) - 1 / 0.915) < 0.08  # ~200 L/person/day + 7-10 % loss
    # Sent when each day closes: the window holds the bills of July 9 and July 10.
    bills = {p.day.isoformat(): p for dev, kind, p in rows if dev == d.id and kind == "billing"}
    assert set(bills) == {"2025-07-09", "2025-07-10"}
    bill = bills["2025-07-10"]
    assert bill.ts == DAY0.astimezone(LOCAL_TZ)
    assert 0.88 < bill.billed_m3 / inflow < 0.95


def test_air_ratios_and_cycles(registry: Registry) -> None:
    rows = [p for _, _, p in _day(registry, "air")]
    assert all(1.4 <= p.pm10_ugm3 / p.pm25_ugm3 <= 1.8 for p in rows if p.pm25_ugm3 > 10)
    afternoon = mean(p.o3_ugm3 for p in rows if 14 <= local_hour(p.ts.timestamp()) < 16)
    night = mean(p.o3_ugm3 for p in rows if 2 <= local_hour(p.ts.timestamp()) < 4)
    assert afternoon > 2 * night
    assert all(0.3 <= p.co_mgm3 <= 1.4 and 0 <= p.wind_dir_deg < 360 for p in rows)


def test_episodes_last_days() -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC).timestamp()
    days = [episode(t0 + 86_400 * i + 43_200, 1, "air", 0.06) for i in range(730)]
    active = [x > 0 for x in days]
    assert 0.05 < sum(active) / len(active) < 0.4
    runs = "".join("1" if a else "0" for a in active).split("0")
    assert max(len(r) for r in runs) >= 2
