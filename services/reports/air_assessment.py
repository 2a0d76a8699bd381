"""空气质量月报/年报: the HJ 663 assessment of a month or a year, per station and district.

From each day's valid inputs (``statistics.air.daily_inputs_by_day``, the daily report's
figures): the days assessed (every indicator of the daily AQI valid), the compliant days
(AQI ≤ 100) and their rate, the days per level, the primary pollutants and their share of
the days that had one (AQI > 50); the period means of SO2, NO2, PM10 and PM2.5 (means of
the valid daily means; GB 3095 needs 27 of them a month, 25 in February, 324 a year), the
CO 24-h 95th and O3 daily-max-8-h 90th percentiles, and the composite index Σ Cᵢ ÷ Sᵢ over
the six (Grade II annual limits, CO and O3 by their 24-h and 8-h limits), compared with
the limits and with the same period a year earlier where that has data.

Percentiles follow HJ 663 §5.2: with the n values sorted ascending, k = 1 + (n − 1) × p,
s = ⌊k⌋, and the percentile X(s) + (X(s+1) − X(s)) × (k − s) — linear interpolation
between order statistics. The district's daily values are the means of its stations'.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from ingest.feeds import LOCAL_TZ
from ingest.registry import Registry
from services.reports.model import Cell, Chart, Report, Table, Text, figures
from services.reports.model import column as _c
from services.reports.period import Period
from services.standards import gb3095
from services.standards.hj633 import daily_aqi, edition_for
from services.statistics.air import daily_inputs_by_day
from services.statistics.hourly import Conn

MONTHLY, ANNUAL = "air-monthly", "air-annual"
TITLES = {
    MONTHLY: Text("环境空气质量月报", "Monthly air-quality assessment"),
    ANNUAL: Text("环境空气质量年报", "Annual air-quality assessment"),
}
MEANS = ("so2", "no2", "pm10", "pm25")
NAMES = {"so2": "SO2", "no2": "NO2", "pm10": "PM10", "pm25": "PM2.5", "co": "CO", "o3": "O3"}
LEVELS = ("优", "良", "轻度污染", "中度污染", "重度污染", "严重污染")
Daily = Mapping[datetime, Mapping[str, float | None]]  # day → concentrations


def percentile(values: Sequence[float], p: float) -> float | None:
    """The HJ 663 percentile ``p`` (0–1) of ``values``."""
    xs = sorted(values)
    if not xs:
        return None
    k = 1 + (len(xs) - 1) * p
    s = math.floor(k)
    low = xs[s - 1]
    high = xs[min(s, len(xs) - 1)]
    return low + (high - low) * (k - s)


UG = "µg/m³"
COLUMNS = (
    _c("site_id", "编号", "Id", "text"),
    _c("site", "监测点位", "Site", "text"),
    _c("assessed", "有效天数", "Days assessed", "text"),
    _c("compliant", "达标天数", "Compliant days", "int"),
    _c("rate", "达标率", "Compliance rate", "percent", "%", d=1),
    *(_c(f"level{i}", name, f"Level {i}", "int") for i, name in enumerate(LEVELS, 1)),
    _c("primary", "首要污染物（天数占比）", "Primary pollutants (share of days)", "text"),
    *(_c(p, f"{NAMES[p]} 平均", f"{NAMES[p]} mean", "number", UG, d=0) for p in MEANS),
    _c("co_p95", "CO 24小时第95百分位", "CO 24-h 95th pct", "number", "mg/m³", d=1),
    _c("o3_p90", "O3 8小时第90百分位", "O3 8-h 90th pct", "number", UG, d=0),
    _c("index", "综合指数", "Composite index", "number", None, d=2),
    _c("over", "超二级标准", "Above Grade II", "text"),
    _c("last_year", "上年同期综合指数", "Index a year earlier", "number", None, d=2),
    _c("change", "变化", "Change", "percent", "%", d=1),
    _c("validity", "有效性", "Validity", "text"),
)
DAYS = (
    _c("date", "日期", "Date", "date"),
    _c("aqi", "AQI", "AQI", "int"),
    _c("category", "类别", "Category", "text"),
    _c("colour", "颜色", "Colour", "colour"),
    _c("primary", "首要污染物", "Primary pollutant", "text"),
)
PDF_KEYS = (
    "site", "assessed", "compliant", "rate", "level1", "level2", "level3", "level4", "level5",
    "level6", "primary", *MEANS, "co_p95", "o3_p90", "index", "over", "last_year", "change",
)  # fmt: skip


def build_monthly(
    conn: Conn, registry: Registry, period: Period, *, now: datetime | None = None
) -> Report:
    if period.kind != "month":
        raise ValueError(f"{MONTHLY} is a monthly report: give a month, not a {period.kind}")
    return _build(conn, registry, period, MONTHLY, now)


def build_annual(
    conn: Conn, registry: Registry, period: Period, *, now: datetime | None = None
) -> Report:
    if period.kind != "year":
        raise ValueError(f"{ANNUAL} is an annual report: give a year, not a {period.kind}")
    return _build(conn, registry, period, ANNUAL, now)


def _daily(conn: Conn, registry: Registry, period: Period) -> tuple[dict[str, Daily], Daily]:
    """Each station's and the district's daily concentrations over the period."""
    starts = _day_starts(period)
    stations = [s.id for s in registry.air]
    by_station: dict[str, Daily] = {
        s: {d: i.concentrations for d, i in days.items()}
        for s, days in daily_inputs_by_day(conn, starts, stations).items()
    }
    district: dict[datetime, Mapping[str, float | None]] = {}
    for day in starts:
        conc: dict[str, float | None] = {}
        for key in (*MEANS, "co", "o3_8h", "o3_1h"):
            values = [v for s in by_station.values() if (v := s.get(day, {}).get(key)) is not None]
            conc[key] = sum(values) / len(values) if values else None
        if any(v is not None for v in conc.values()):
            district[day] = conc
    return by_station, district


def _day_starts(period: Period) -> list[datetime]:
    return [period.start + timedelta(days=i) for i in range(len(period.days))]


def _indicators(day: datetime) -> tuple[str, ...]:
    o3 = ("o3_8h", "o3_1h") if edition_for(day) == "HJ 633-2012" else ("o3_8h",)
    return (*MEANS, "co", *o3)


def _limits(period: Period) -> dict[str, float]:
    """The Grade II limits in force on the period's last day: annual means, CO 24-h, O3 8-h."""
    last = period.days[-1]
    out = {p: gb3095.limit_on(p, "annual", last) for p in MEANS}  # type: ignore[arg-type]
    out["co"] = gb3095.limit_on("co", "24h", last)
    out["o3"] = gb3095.limit_on("o3", "8h", last)
    return out


def _needed(period: Period) -> int:
    if period.kind == "year":
        return 324
    return 25 if period.first.month == 2 else 27


def _assess(daily: Daily, period: Period) -> dict[str, Cell]:
    limits = _limits(period)
    levels: Counter[int] = Counter()
    primary: Counter[str] = Counter()
    assessed = compliant = with_primary = 0
    for day, conc in daily.items():
        if any(conc.get(k) is None for k in _indicators(day)):
            continue
        result = daily_aqi(dict(conc), day)
        if result.aqi is None or result.level is None:
            continue
        assessed += 1
        compliant += result.aqi <= 100
        levels[result.level] += 1
        if result.primary:
            with_primary += 1
            primary.update(result.primary)
    stats: dict[str, float | None] = {}
    counts: dict[str, int] = {}
    for p in MEANS:
        values = [v for c in daily.values() if (v := c.get(p)) is not None]
        counts[p] = len(values)
        stats[p] = sum(values) / len(values) if values else None
    co = [v for c in daily.values() if (v := c.get("co")) is not None]
    o3 = [v for c in daily.values() if (v := c.get("o3_8h")) is not None]
    counts["co"], counts["o3"] = len(co), len(o3)
    stats["co"], stats["o3"] = percentile(co, 0.95), percentile(o3, 0.90)
    parts = [v / limits[k] for k in (*MEANS, "co", "o3") if (v := stats[k]) is not None]
    index = sum(parts) if len(parts) == len(limits) else None
    short = [
        f"{NAMES[k]} {n} < {_needed(period)}" for k, n in counts.items() if n < _needed(period)
    ]
    over = [NAMES[k] for k in limits if (v := stats[k]) is not None and v > limits[k]]
    shares = ", ".join(
        f"{NAMES.get(p, p)} {100 * n / with_primary:.0f}%" for p, n in primary.most_common()
    )
    return {
        "assessed": f"{assessed}/{len(period.days)}",
        "compliant": compliant if assessed else None,
        "rate": 100 * compliant / assessed if assessed else None,
        **{f"level{i}": levels.get(i, 0) if assessed else None for i in range(1, 7)},
        "primary": shares or None,
        **{p: stats[p] for p in MEANS},
        "co_p95": stats["co"],
        "o3_p90": stats["o3"],
        "index": index,
        "over": "、".join(over) if over else ("无 none" if index is not None else None),
        "validity": "有效 valid" if not short else "数据不足 insufficient: " + ", ".join(short),
    }


def _with_year_before(
    assessed: dict[str, Cell], days_before: Daily, before: Period
) -> dict[str, Cell]:
    """``assessed`` with the composite index a year earlier and the change since, when the
    year before has data."""
    if not days_before:
        return assessed
    last = _assess(days_before, before)["index"]
    index = assessed["index"]
    change = None
    if isinstance(last, float) and isinstance(index, float) and last > 0:
        change = 100 * (index - last) / last
    return {**assessed, "last_year": last, "change": change}


def _build(
    conn: Conn, registry: Registry, period: Period, name: str, now: datetime | None
) -> Report:
    by_station, district = _daily(conn, registry, period)
    before = period.year_before()
    station_before, district_before = _daily(conn, registry, before)
    records: list[dict[str, Cell]] = [
        {
            "site_id": s.id,
            "site": f"{s.name_zh} {s.name_en}",
            **_with_year_before(
                _assess(by_station.get(s.id, {}), period), station_before.get(s.id, {}), before
            ),
        }
        for s in registry.air
    ]
    records.append({
        "site_id": "district",
        "site": "全区 District",
        **_with_year_before(_assess(district, period), district_before, before),
    })  # fmt: skip
    summary = Table(
        "assessment", TITLES[name], COLUMNS,
        tuple(tuple(r.get(c.key) for c in COLUMNS) for r in records), pdf_keys=PDF_KEYS,
    )  # fmt: skip
    day_rows = []
    for day, conc in sorted(district.items()):
        result = daily_aqi(dict(conc), day)
        day_rows.append((
            day.astimezone(LOCAL_TZ).date(), result.aqi,
            f"{result.category_zh} {result.category_en}" if result.aqi is not None else None,
            result.colour, "、".join(NAMES.get(p, p) for p in result.primary) or None,
        ))  # fmt: skip
    days = Table("days", Text("全区每日 AQI", "District AQI by day"), DAYS, tuple(day_rows))
    limits = _limits(period)
    notes = (
        Text(
            f"评价依据 HJ 663；限值为 {gb3095.edition_on(period.days[-1])} 二级"
            f"（PM2.5 年均 {limits['pm25']:g}、PM10 {limits['pm10']:g}、SO2 {limits['so2']:g}、"
            f"NO2 {limits['no2']:g} µg/m³，CO 24小时 {limits['co']:g} mg/m³，"
            f"O3 8小时 {limits['o3']:g} µg/m³）。",
            f"Assessed per HJ 663 against {gb3095.edition_on(period.days[-1])} Grade II (annual"
            f" PM2.5 {limits['pm25']:g}, PM10 {limits['pm10']:g}, SO2 {limits['so2']:g}, NO2"
            f" {limits['no2']:g} µg/m³; CO 24-h {limits['co']:g} mg/m³; O3 8-h"
            f" {limits['o3']:g} µg/m³).",
        ),
        Text(
            "百分位数按 HJ 663：k = 1 + (n − 1) × p，在第 ⌊k⌋ 与下一个有序值之间线性插值。",
            "Percentiles per HJ 663: k = 1 + (n − 1) × p, interpolated linearly between the"
            " ⌊k⌋-th ordered value and the next.",
        ),
        Text(
            "有效天数：日 AQI 各项指标均有效的天数；"
            "首要污染物占比以有首要污染物（AQI > 50）的天数为分母。",
            "Days assessed: days with every daily-AQI indicator valid; primary-pollutant shares"
            " are of the days that had one (AQI > 50).",
        ),
        Text(
            f"上年同期（{before.label}）：各站与全区的综合指数及变化；无数据时为空。",
            f"A year earlier ({before.label}): each station's and the district's composite"
            " index and the change since; empty without data.",
        ),
    )
    chart = Chart(
        Text("全区每日 AQI", "District AQI by day"), "days", "date", "aqi", "colour", 100.0,
        Text("100（达标上限）", "100 (compliant up to)"),
    )  # fmt: skip
    headline = figures(
        summary, "district", ("assessed", "rate", "index", "change"), Text("全区", "District")
    )
    return Report(
        name, TITLES[name], period.label, now or datetime.now(UTC), (summary, days), notes,
        (chart,), headline,
    )  # fmt: skip
