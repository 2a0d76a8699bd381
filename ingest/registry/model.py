"""The district's device registry file format (``liudong.json``), validated on load."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ingest.registry.hj212 import (
    CodeMapping,
    Hj212Logger,
    SystemCode,
    Transport,
    check_logger,
    check_mapping,
)

# A generous box around Liudong New District (about 24.30-24.48 N, 109.42-109.68 E).
LAT_RANGE = (24.25, 24.55)
LON_RANGE = (109.35, 109.75)
ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Area(_Strict):
    code: str = Field(pattern=r"^[a-z0-9_-]+$")
    name_zh: str
    name_en: str


class Place(_Strict):
    """Anything with an id, a bilingual name and WGS-84 coordinates inside the district."""

    id: str = Field(pattern=ID_PATTERN)
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1, description="pinyin or English alias")
    lat: float = Field(ge=LAT_RANGE[0], le=LAT_RANGE[1])
    lon: float = Field(ge=LON_RANGE[0], le=LON_RANGE[1])


class Reporting(Place):
    """A site that may report through an HJ 212 data logger instead of over MQTT."""

    transport: Transport = "mqtt"
    hj212: Hj212Logger | None = None

    @model_validator(mode="after")
    def _check_transport(self) -> Reporting:
        if self.transport == "hj212" and self.hj212 is None:
            raise ValueError(f"{self.id}: transport hj212 needs its hj212 logger settings")
        return self


class WastewaterSite(Reporting):
    type: Literal["wwtp", "pumping_station"]
    area: str
    service_zone: str = Field(description="sewage service zone the site belongs to")
    design_capacity_m3d: float = Field(gt=0, description="design capacity, m³/day")
    discharge_standard: str = "GB 18918-2002 1A"
    receiving_water: str | None = None
    commissioned: date | None = None


class AirStation(Reporting):
    area: str


class Dma(Place):
    """A district metered area; publishes its daily billed consumption itself."""

    area: str
    population: int = Field(ge=0)
    mains_km: float = Field(gt=0)
    service_connections: int = Field(ge=0)
    leakage_target_pct: float = Field(default=9.0, gt=0, le=100)
    inlet_meters: tuple[Place, ...] = Field(min_length=1)
    pressure_points: tuple[Place, ...] = Field(min_length=1)


class LeakLogger(Place):
    dma: str


class Intersection(Place):
    area: str
    road_zh: str
    road_en: str


class Rsu(Place):
    intersection: str


class Registry(_Strict):
    # the file holds the loggers' PWs and SM4 keys: errors name fields, never echo input
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    version: Literal[1]
    areas: tuple[Area, ...]
    wastewater: tuple[WastewaterSite, ...]
    air: tuple[AirStation, ...]
    dmas: tuple[Dma, ...]
    leak_loggers: tuple[LeakLogger, ...]
    intersections: tuple[Intersection, ...]
    rsus: tuple[Rsu, ...]
    # HJ 212 pollutant code → field and unit, per system code (ST)
    hj212_codes: dict[SystemCode, dict[str, CodeMapping]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_hj212(self) -> Registry:
        for st, codes in self.hj212_codes.items():
            check_mapping(st, codes)
        seen: dict[str, str] = {}
        serials: dict[str, str] = {}
        for feed, site in self.reporting_sites():
            if site.hj212 is None:
                continue
            if isinstance(site, WastewaterSite) and site.type != "wwtp":
                raise ValueError(f"{site.id}: only treatment plants have HJ 212 loggers")
            check_logger(site.id, feed, site.hj212, self.hj212_codes)
            if site.hj212.mn in seen:
                raise ValueError(f"MN {site.hj212.mn} given to {seen[site.hj212.mn]} and {site.id}")
            seen[site.hj212.mn] = site.id
            serial = site.hj212.serial
            if serial is not None and serial in serials:
                raise ValueError(f"serial {serial} given to {serials[serial]} and {site.id}")
            if serial is not None:
                serials[serial] = site.id
        return self

    def reporting_sites(self) -> list[tuple[str, WastewaterSite | AirStation]]:
        """(feed, site) of the plants, lift stations and air stations."""
        out: list[tuple[str, WastewaterSite | AirStation]] = []
        out += [("wastewater", s) for s in self.wastewater]
        out += [("air", s) for s in self.air]
        return out

    def hj212_sites(self) -> list[tuple[str, WastewaterSite | AirStation]]:
        """(feed, site) of the sites whose readings come through an HJ 212 logger."""
        return [(f, s) for f, s in self.reporting_sites() if s.transport == "hj212"]

    @model_validator(mode="after")
    def _check_references(self) -> Registry:
        areas = {a.code for a in self.areas}
        sites: list[WastewaterSite | AirStation | Dma | Intersection] = [
            *self.wastewater,
            *self.air,
            *self.dmas,
            *self.intersections,
        ]
        for site in sites:
            if site.area not in areas:
                raise ValueError(f"{site.id}: unknown area {site.area!r}")
        dmas = {d.id for d in self.dmas}
        for logger in self.leak_loggers:
            if logger.dma not in dmas:
                raise ValueError(f"{logger.id}: unknown DMA {logger.dma!r}")
        crossings = {i.id for i in self.intersections}
        for rsu in self.rsus:
            if rsu.intersection not in crossings:
                raise ValueError(f"{rsu.id}: unknown intersection {rsu.intersection!r}")
        ids = [d.device_id for d in self.devices()]
        dupes = {i for i in ids if ids.count(i) > 1} if len(ids) != len(set(ids)) else set()
        if dupes:
            raise ValueError(f"device ids used twice: {sorted(dupes)[:10]}")
        return self

    def sites(self) -> set[str]:
        """Ids of the plants and stations, stations, DMAs and intersections."""
        out = {s.id for s in self.wastewater} | {s.id for s in self.air}
        return out | {d.id for d in self.dmas} | {i.id for i in self.intersections}

    def restricted_to(self, sites: set[str]) -> Registry:
        """Only the given sites, with the meters, loggers and RSUs that belong to them."""
        if unknown := sorted(sites - self.sites()):
            raise ValueError(f"{unknown} are not plant, station, DMA or intersection ids")
        return self.model_copy(
            update={
                "wastewater": tuple(s for s in self.wastewater if s.id in sites),
                "air": tuple(s for s in self.air if s.id in sites),
                "dmas": tuple(d for d in self.dmas if d.id in sites),
                "leak_loggers": tuple(g for g in self.leak_loggers if g.dma in sites),
                "intersections": tuple(i for i in self.intersections if i.id in sites),
                "rsus": tuple(r for r in self.rsus if r.intersection in sites),
            }
        )

    def devices(self) -> list[Device]:
        """Every publishing device with its type, area and parent."""
        out: list[Device] = []
        out += [Device(s.id, "wastewater", s.type, s, s.area, None) for s in self.wastewater]
        out += [Device(s.id, "air", "air_station", s, s.area, None) for s in self.air]
        for d in self.dmas:
            out.append(Device(d.id, "water", "dma", d, d.area, None))
            out += [Device(m.id, "water", "flow_meter", m, d.area, d.id) for m in d.inlet_meters]
            out += [
                Device(p.id, "water", "pressure_point", p, d.area, d.id) for p in d.pressure_points
            ]
        dma_area = {d.id: d.area for d in self.dmas}
        out += [
            Device(g.id, "water", "leak_logger", g, dma_area[g.dma], g.dma)
            for g in self.leak_loggers
        ]
        ix_area = {i.id: i.area for i in self.intersections}
        out += [
            Device(r.id, "v2x", "rsu", r, ix_area[r.intersection], r.intersection)
            for r in self.rsus
        ]
        return out


class Device:
    __slots__ = ("area", "device_id", "device_type", "feed", "parent_id", "place")

    def __init__(  # noqa: PLR0917
        self,
        device_id: str,
        feed: str,
        device_type: str,
        place: Place,
        area: str,
        parent_id: str | None,
    ) -> None:
        self.device_id = device_id
        self.feed = feed
        self.device_type = device_type
        self.place = place
        self.area = area
        self.parent_id = parent_id
