"""A small registry for the simulator tests (the district file may not exist yet)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ingest.registry.model import Registry

REGISTRY_FILE = Path(__file__).parents[2] / "ingest" / "registry" / "liudong.json"
# A window after 2020 in local winter evening hours, kept short so tests stay fast.
T0 = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)


def _place(id_: str, lat: float = 24.38, lon: float = 109.5, **extra: Any) -> dict[str, Any]:
    return {"id": id_, "name_zh": id_, "name_en": id_, "lat": lat, "lon": lon, **extra}


def small_registry() -> Registry:
    areas = [
        {"code": "guantang", "name_zh": "官塘片区", "name_en": "Guantang"},
        {"code": "luorong", "name_zh": "雒容镇", "name_en": "Luorong"},
    ]
    ww = [
        _place(
            "wwtp-guantang",
            area="guantang",
            service_zone="north",
            design_capacity_m3d=50_000,
            type="wwtp",
        ),
        _place(
            "wwtp-luorong-s",
            area="luorong",
            service_zone="east",
            design_capacity_m3d=20_000,
            type="wwtp",
        ),
        _place(
            "ps-hualing",
            area="guantang",
            service_zone="north",
            design_capacity_m3d=15_000,
            type="pumping_station",
        ),
    ]
    air = [_place("aq-guantang", area="guantang"), _place("aq-luorong", area="luorong")]
    dmas = [
        _place(
            f"dma-{n}",
            area="guantang",
            population=pop,
            mains_km=30.0,
            service_connections=pop // 3,
            inlet_meters=[_place(f"fm-{n}-1"), _place(f"fm-{n}-2")],
            pressure_points=[_place(f"pp-{n}-1"), _place(f"pp-{n}-2")],
        )
        for n, pop in (("01", 12_000), ("02", 30_000))
    ]
    loggers = [_place(f"ll-{i:04d}", dma="dma-01" if i < 3 else "dma-02") for i in range(1, 5)]
    crossings = [
        _place(f"ix-{i:03d}", area="guantang", road_zh="官塘大道", road_en="Guantang Ave")
        for i in range(1, 4)
    ]
    rsus = [_place(f"rsu-{i:04d}", intersection=f"ix-{1 + i % 3:03d}") for i in range(6)]
    return Registry.model_validate(
        {
            "version": 1,
            "areas": areas,
            "wastewater": ww,
            "air": air,
            "dmas": dmas,
            "leak_loggers": loggers,
            "intersections": crossings,
            "rsus": rsus,
        }
    )


@pytest.fixture(scope="session")
def registry() -> Registry:
    return small_registry()


@pytest.fixture(scope="session")
def district_registry() -> Registry:
    if not REGISTRY_FILE.exists():
        pytest.skip(f"{REGISTRY_FILE.name} not generated yet")
    return Registry.model_validate_json(REGISTRY_FILE.read_bytes())
