"""KPIs against the district's 2025 targets: treatment rate, AQI, leakage, RSUs online."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from psycopg import sql
from pydantic import BaseModel

from ingest.feeds import LOCAL_TZ
from services.api.auth import require
from services.api.deps import DbConn
from services.api.problems import RESPONSES, ApiError
from services.rules.evaluators.air import POLLUTANTS as POLLUTANT_COLUMNS
from services.rules.evaluators.v2x import online_rsus
from services.standards.hj633 import daily_aqi
from services.standards.targets import INTERSECTIONS_PLANNED, TREATMENT_RATE_PCT

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
    meets_target: bool | None
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
    rows = conn.execute(
        "SELECT d.device_id, d.name_zh, coalesce(sum(k.treated_m3), 0),"
        " coalesce(sum(k.bypass_m3), 0)"
        " FROM device d LEFT JOIN kpi_treatment_daily k"
        " ON k.device_id = d.device_id AND k.bucket >= %s AND k.bucket < %s"
        " WHERE d.device_type = 'wwtp' AND d.retired_at IS NULL"
        " GROUP BY d.device_id, d.name_zh ORDER BY d.device_id",
        (w.start, w.end),
    ).fetchall()
    plants = []
    for device_id, name, treated, bypass in rows:
        total = float(treated) + float(bypass)
        rate = 100.0 * float(treated) / total if total > 0 else None
        plants.append(
            PlantRate(
                device_id=device_id, name_zh=name, treated_m3=float(treated),
                bypass_m3=float(bypass), rate_pct=rate,
                meets_target=_meets(rate, (rate or 0) >= TREATMENT_RATE_PCT),
            )
        )  # fmt: skip
    treated = sum(p.treated_m3 for p in plants)
    total = treated + sum(p.bypass_m3 for p in plants)
    district = 100.0 * treated / total if total > 0 else None
    return TreatmentRate(
        window=w, target_pct=TREATMENT_RATE_PCT, district_rate_pct=district,
        meets_target=_meets(district, (district or 0) >= TREATMENT_RATE_PCT), plants=plants,
        note="proxy from plant meters; the official rate is treated ÷ estimated discharged",
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
    rows = conn.execute(
        "SELECT d.device_id, d.name_zh, m.leakage_target_pct,"
        " coalesce(sum(k.supplied_m3), 0), coalesce(sum(k.billed_m3), 0),"
        " coalesce(sum(k.bills), 0)::int"
        " FROM device d JOIN dma m USING (device_id)"
        " LEFT JOIN kpi_leakage_daily k"
        " ON k.dma_id = d.device_id AND k.bucket >= %(a)s AND k.bucket < %(b)s"
        " WHERE d.retired_at IS NULL"
        " GROUP BY d.device_id, d.name_zh, m.leakage_target_pct ORDER BY d.device_id",
        {"a": w.start, "b": w.end},
    ).fetchall()
    out = []
    for device_id, name, target, supplied, billed, bills in rows:
        s, b = float(supplied), float(billed)
        rate = 100.0 * (s - b) / s if s > 0 and bills else None
        out.append(
            DmaLeakage(
                device_id=device_id, name_zh=name, supplied_m3=s, billed_m3=b, bills=bills,
                rate_pct=rate, target_pct=target, meets_target=_meets(rate, (rate or 0) <= target),
            )
        )  # fmt: skip
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


DAILY = ("so2", "no2", "co", "pm10", "pm25")
MIN_HOURS = 20  # GB 3095 Table 4: a daily mean needs 20 hourly means


def _o3_max_8h(hours: dict[datetime, float], start: datetime) -> float | None:
    """Daily max of the 8-h sliding means (hours t-7..t, 6 valid needed; 14 of them)."""
    means = []
    for k in range(24):
        t = start + timedelta(hours=k)
        got = [hours[h] for j in range(8) if (h := t - timedelta(hours=j)) in hours]
        if len(got) >= 6:
            means.append(sum(got) / len(got))
    return max(means) if len(means) >= 14 else None


@router.get("/aqi-daily", response_model=list[StationDailyAqi])
def aqi_daily(conn: DbConn, day: DateParam = None) -> list[StationDailyAqi]:
    """The daily AQI of each station for a local day (HJ 633 daily report), from the hourly
    rollups: 24-h means of hours with 45 samples, needing 20 such hours per pollutant."""
    w = window("day", day)
    cols = {p: POLLUTANT_COLUMNS[p] for p in (*DAILY, "o3")}
    select = sql.SQL(", ").join(
        sql.SQL("CASE WHEN {n} >= 45 THEN {avg} END").format(
            n=sql.Identifier(f"{c}_n"), avg=sql.Identifier(f"{c}_avg")
        )
        for c in cols.values()
    )
    rows = conn.execute(
        sql.SQL(
            "SELECT device_id, bucket, {} FROM air_reading_hourly"
            " WHERE bucket >= %s AND bucket < %s ORDER BY device_id, bucket"
        ).format(select),
        (w.start - timedelta(hours=7), w.end),
    ).fetchall()
    by_station: dict[str, dict[str, dict[datetime, float]]] = {}
    for device, hour, *values in rows:
        station = by_station.setdefault(device, {p: {} for p in cols})
        for p, v in zip(cols, values, strict=True):
            if v is not None:
                station[p][hour] = float(v)
    out = []
    for device, series in sorted(by_station.items()):
        conc: dict[str, float | None] = {}
        valid: dict[str, int] = {}
        for p in DAILY:
            hours = [v for h, v in series[p].items() if h >= w.start]
            valid[p] = len(hours)
            conc[p] = sum(hours) / len(hours) if len(hours) >= MIN_HOURS else None
        conc["o3_8h"] = _o3_max_8h(series["o3"], w.start)
        result = daily_aqi(conc, w.start)
        out.append(
            StationDailyAqi(
                device_id=device, day=w.start.astimezone(LOCAL_TZ).date(), aqi=result.aqi,
                level=result.level, category_zh=result.category_zh,
                primary_pollutants=list(result.primary), valid_hours=valid,
                edition=result.edition,
            )
        )  # fmt: skip
    return out
