"""KPIs against the district's 2025 targets: treatment rate, AQI, leakage, RSUs online."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from ingest.feeds import LOCAL_TZ
from services.api.auth import require
from services.api.deps import DbConn
from services.api.problems import RESPONSES, ApiError
from services.standards.hj633 import daily_aqi
from services.standards.targets import INTERSECTIONS_PLANNED, TREATMENT_RATE_PCT
from services.statistics.air import daily_aqi_inputs
from services.statistics.v2x import online_rsus
from services.statistics.wastewater import plant_treatment, treatment_rate_pct
from services.statistics.water import dma_balance

router = APIRouter(
    prefix="/api/v1/kpi", tags=["KPIs"], responses=RESPONSES,
    dependencies=[Depends(require("viewer"))],
)  # fmt: skip
Period = Literal["day", "month", "ytd"]
RSU_TIMEOUT = timedelta(seconds=60)
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)


class Window(BaseModel):
    period: Period
    start: datetime
    end: datetime


class PlantRate(BaseModel):
    device_id: str
    name_zh: str
    treated_m3: float
    bypass_m3: float
    rate_pct: float | None
    meets_target: bool | None


class TreatmentRate(BaseModel):
    window: Window
    target_pct: float
    district_rate_pct: float | None
    meets_target: bool | None  # None: no data, or not every plant reported
    plants_reporting: int
    plants_expected: int
    missing: list[str]  # plants with no volume in the window
    plants: list[PlantRate]
    note: str


class StationAqi(BaseModel):
    device_id: str
    hour: datetime
    aqi: int
    level: int
    category_zh: str
    category_en: str
    colour: str
    primary_pollutants: list[str]
    edition: str


class StationDailyAqi(BaseModel):
    device_id: str
    day: date
    aqi: int | None
    level: int | None
    category_zh: str | None
    primary_pollutants: list[str]
    valid_hours: dict[str, int]
    concentrations: dict[str, float | None]
    edition: str


class DmaLeakage(BaseModel):
    device_id: str
    name_zh: str
    supplied_m3: float
    billed_m3: float
    bills: int
    rate_pct: float | None
    target_pct: float
    meets_target: bool | None


class Leakage(BaseModel):
    window: Window
    dmas: list[DmaLeakage]


class RsuOnline(BaseModel):
    at: datetime
    online: int
    registered: int
    rate_pct: float
    intersections_covered: int
    intersections_planned: int


def window(period: Period, day: date | None) -> Window:
    """The local day, month or year to date that ends with ``day`` (default: today)."""
    today = day or datetime.now(LOCAL_TZ).date()
    if not FIRST_DAY <= today <= LAST_DAY:
        raise ApiError(422, f"date must be between {FIRST_DAY} and {LAST_DAY}")
    end = datetime.combine(today + timedelta(days=1), time(0), LOCAL_TZ)
    first = {"day": today, "month": today.replace(day=1), "ytd": today.replace(month=1, day=1)}
    start = datetime.combine(first[period], time(0), LOCAL_TZ)
    return Window(period=period, start=start.astimezone(UTC), end=end.astimezone(UTC))


def _meets(rate: float | None, ok: bool) -> bool | None:
    return None if rate is None else ok


DateParam = Annotated[date | None, Query(alias="date", description="local date; default today")]


@router.get("/treatment-rate", response_model=TreatmentRate)
def treatment_rate(conn: DbConn, period: Period = "day", day: DateParam = None) -> TreatmentRate:
    """Treated ÷ (treated + bypass/overflow) per plant and for the district, from the daily
    rollups (the ``kpi_treatment_daily`` view the dashboards also read) — an engineering
    proxy of the official 污水处理率, target ≥ 95 %."""
    w = window(period, day)
    plants = [
        PlantRate(
            device_id=p.device_id, name_zh=p.name_zh, treated_m3=p.treated_m3,
            bypass_m3=p.bypass_m3, rate_pct=p.rate_pct,
            meets_target=_meets(p.rate_pct, (p.rate_pct or 0) >= TREATMENT_RATE_PCT),
        )
        for p in plant_treatment(conn, w.start, w.end)
    ]  # fmt: skip
    district = treatment_rate_pct(
        sum(p.treated_m3 for p in plants), sum(p.bypass_m3 for p in plants)
    )
    missing = [p.device_id for p in plants if p.treated_m3 + p.bypass_m3 <= 0]
    note = "proxy from plant meters; the official rate is treated ÷ estimated discharged"
    meets = _meets(district, (district or 0) >= TREATMENT_RATE_PCT)
    if missing and district is not None:
        meets = None
        note = (
            f"{len(plants) - len(missing)} of {len(plants)} plants reporting: no district"
            f" verdict until every plant has data; {note}"
        )
    return TreatmentRate(
        window=w, target_pct=TREATMENT_RATE_PCT, district_rate_pct=district,
        meets_target=meets, plants_reporting=len(plants) - len(missing),
        plants_expected=len(plants), missing=missing, plants=plants, note=note,
    )  # fmt: skip


@router.get("/aqi", response_model=list[StationAqi])
def aqi_now(conn: DbConn) -> list[StationAqi]:
    """Each station's latest hourly AQI with level, category, colour, primary pollutants and
    the HJ 633 edition it was computed by."""
    rows = conn.execute(
        "SELECT DISTINCT ON (device_id) device_id, hour, aqi, level, category_zh, category_en,"
        " colour, primary_pollutants, edition FROM air_aqi_hourly"
        " ORDER BY device_id, hour DESC"
    ).fetchall()
    keys = (
        "device_id", "hour", "aqi", "level", "category_zh", "category_en", "colour",
        "primary_pollutants", "edition",
    )  # fmt: skip
    return [StationAqi(**dict(zip(keys, r, strict=True))) for r in rows]


@router.get("/leakage", response_model=Leakage)
def leakage(
    conn: DbConn, period: Literal["day", "month"] = "day", day: DateParam = None
) -> Leakage:
    """CJJ 92-2016 comprehensive leakage rate per DMA: (supplied − billed) ÷ supplied, from
    the ``kpi_leakage_daily`` view the dashboards also read."""
    w = window(period, day)
    out = [
        DmaLeakage(
            device_id=d.device_id, name_zh=d.name_zh, supplied_m3=d.supplied_m3,
            billed_m3=d.billed_m3, bills=d.bills, rate_pct=d.rate_pct, target_pct=d.target_pct,
            meets_target=_meets(d.rate_pct, (d.rate_pct or 0) <= d.target_pct),
        )
        for d in dma_balance(conn, w.start, w.end)
    ]  # fmt: skip
    return Leakage(window=w, dmas=out)


@router.get("/rsu-online", response_model=RsuOnline)
def rsu_online(request: Request, conn: DbConn) -> RsuOnline:
    """RSUs with a heartbeat saying online in the last 60 s, and the intersections they
    cover, against the plan's 535."""
    registry = request.app.state.registry
    now = datetime.now(UTC)
    rsus = {r.id: r.intersection for r in registry.rsus}
    up = online_rsus(conn, list(rsus), now - RSU_TIMEOUT, now)
    covered = {rsus[r] for r in up}
    return RsuOnline(
        at=now, online=len(up), registered=len(rsus),
        rate_pct=100.0 * len(up) / len(rsus) if rsus else 0.0,
        intersections_covered=len(covered), intersections_planned=INTERSECTIONS_PLANNED,
    )  # fmt: skip


@router.get("/aqi-daily", response_model=list[StationDailyAqi])
def aqi_daily(conn: DbConn, day: DateParam = None) -> list[StationDailyAqi]:
    """The daily AQI of each station for a local day (HJ 633 daily report), from the valid
    readings (data flag N or none): 24-h means of hours with 45 valid samples, needing 20
    such hours per pollutant, and the O3 daily maximum 8-h and 1-h means; with the
    concentrations it was computed from (the air daily report's figures)."""
    w = window("day", day)
    out = []
    for device, inputs in daily_aqi_inputs(conn, w.start, w.end).items():
        result = daily_aqi(inputs.concentrations, w.start)
        out.append(
            StationDailyAqi(
                device_id=device, day=w.start.astimezone(LOCAL_TZ).date(), aqi=result.aqi,
                level=result.level, category_zh=result.category_zh,
                primary_pollutants=list(result.primary), valid_hours=inputs.valid_hours,
                concentrations=inputs.concentrations, edition=result.edition,
            )
        )  # fmt: skip
    return out
