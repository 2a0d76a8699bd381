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
from services.standards.hj633 import daily_aqi, published_aqi
from services.standards.targets import (
    INTERSECTIONS_PLANNED,
    LEAKAGE_DEFAULT_PCT,
    TREATMENT_RATE_PCT,
)
from services.statistics.air import daily_aqi_inputs, missing_indicators
from services.statistics.v2x import online_rsus
from services.statistics.wastewater import plant_treatment, treatment_rate_pct
from services.statistics.water import dma_balance, leakage_rate_pct

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
    aqi: int | None  # None: no data, or an indicator missing and the others at 100 or less
    level: int | None
    category_zh: str | None
    primary_pollutants: list[str]
    valid: bool  # every indicator met its GB 3095 validity minimum
    missing: list[str]  # the indicators without a valid value
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
    days_with_data: int  # local days of the window with metered input


class Leakage(BaseModel):
    window: Window
    target_pct: float
    utility_rate_pct: float | None  # over the DMAs reporting
    meets_target: bool | None  # None: no data, or not every DMA reported
    dmas_reporting: int  # DMAs with metered input and a bill in the window
    dmas_expected: int
    missing: list[str]
    days_in_window: int
    dmas: list[DmaLeakage]
    note: str


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
    balances = dma_balance(conn, w.start, w.end)
    out = [
        DmaLeakage(
            device_id=d.device_id, name_zh=d.name_zh, supplied_m3=d.supplied_m3,
            billed_m3=d.billed_m3, bills=d.bills, rate_pct=d.rate_pct, target_pct=d.target_pct,
            meets_target=_meets(d.rate_pct, (d.rate_pct or 0) <= d.target_pct),
            days_with_data=d.days,
        )
        for d in balances
    ]  # fmt: skip
    reporting = [d for d in balances if d.rate_pct is not None]
    missing = [d.device_id for d in balances if d.rate_pct is None]
    rate = leakage_rate_pct(
        sum(d.supplied_m3 for d in reporting), sum(d.billed_m3 for d in reporting)
    )
    meets = _meets(rate, (rate or 0) <= LEAKAGE_DEFAULT_PCT)
    note = "DMA balance: (metered input - billed) / metered input, CJJ 92-2016"
    if missing and rate is not None:
        meets = None
        note = (
            f"{len(reporting)} of {len(balances)} DMAs reporting: no utility verdict until"
            f" every DMA has input and billing; {note}"
        )
    return Leakage(
        window=w, target_pct=LEAKAGE_DEFAULT_PCT, utility_rate_pct=rate, meets_target=meets,
        dmas_reporting=len(reporting), dmas_expected=len(balances), missing=missing,
        days_in_window=round((w.end - w.start) / timedelta(days=1)), dmas=out, note=note,
    )  # fmt: skip


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
def aqi_daily(request: Request, conn: DbConn, day: DateParam = None) -> list[StationDailyAqi]:
    """The daily AQI of every registered station for a local day (HJ 633 daily report), from
    the valid readings (data flag N or none): 24-h means of hours with 45 valid samples,
    needing 20 such hours per pollutant, and the O3 daily maximum 8-h and 1-h means; with
    the concentrations it was computed from (the air daily report's figures). A station
    without data is listed with every indicator missing; with some missing, the AQI is
    given only above 100 (HJ 633-2026 §5.3)."""
    w = window("day", day)
    local_day = w.start.astimezone(LOCAL_TZ).date()
    stations = [s.id for s in request.app.state.registry.air]
    inputs = daily_aqi_inputs(conn, w.start, w.end, stations)
    out = []
    for device in stations:
        got = inputs.get(device)
        conc = got.concentrations if got is not None else {}
        result = daily_aqi(conc, w.start)
        missing = missing_indicators(conc, w.start)
        aqi = published_aqi(result, bool(missing))
        out.append(
            StationDailyAqi(
                device_id=device, day=local_day, aqi=aqi,
                level=result.level if aqi is not None else None,
                category_zh=result.category_zh if aqi is not None else None,
                primary_pollutants=list(result.primary) if aqi is not None else [],
                valid=not missing, missing=missing,
                valid_hours=got.valid_hours if got is not None else {},
                concentrations=conc, edition=result.edition,
            )
        )  # fmt: skip
    return out
