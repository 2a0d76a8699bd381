"""空气质量日报: the daily air-quality report, per station and for the district (HJ 633 §5).

One row per station in the HJ 633 field order — each indicator's concentration and IAQI,
then the AQI, primary pollutant, level, category, colour, health effects and advice — and
a district row. The indicators are the valid values only (data flag N or none; GB 3095
validity: a 24-h mean needs 20 valid hours, an hour 45 valid minutes), the same
``daily_aqi_inputs`` the API's daily AQI reads. A station day that misses a validity
minimum is marked as such: its AQI is computed from the indicators that are valid and,
following HJ 633-2026 §5.3, published only when above 100 (otherwise "NA"). The district's
concentrations are the means of the stations' valid values (HJ 663: a city's value is the
mean over its stations), each with the stations it is drawn from.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ingest.registry import Registry
from services.reports.model import Cell, Chart, Column, Report, Table, Text, figures, rows_of
from services.reports.period import Period
from services.standards import gb3095
from services.standards.hj633 import HEALTH, daily_aqi, edition_for, published_aqi
from services.statistics.air import (
    DAILY_MEANS,
    DAY_HOURS,
    DailyInputs,
    daily_aqi_inputs,
    missing_indicators,
)
from services.statistics.hourly import Conn

NAME = "air-daily"
TITLE = Text("空气质量日报", "Daily air-quality report")
UG, MG = "µg/m³", "mg/m³"
# indicator → label, unit, decimals, the key of its IAQI in an AQI result
INDICATORS: dict[str, tuple[Text, str, int, str]] = {
    "so2": (Text("二氧化硫 SO2 24小时平均", "SO2 24-h mean"), UG, 0, "so2_24h"),
    "no2": (Text("二氧化氮 NO2 24小时平均", "NO2 24-h mean"), UG, 0, "no2_24h"),
    "pm10": (Text("颗粒物 PM10 24小时平均", "PM10 24-h mean"), UG, 0, "pm10_24h"),
    "co": (Text("一氧化碳 CO 24小时平均", "CO 24-h mean"), MG, 1, "co_24h"),
    "o3_1h": (Text("臭氧 O3 最大1小时平均", "O3 daily max 1-h"), UG, 0, "o3_1h"),
    "o3_8h": (Text("臭氧 O3 最大8小时滑动平均", "O3 daily max 8-h"), UG, 0, "o3_8h"),
    "pm25": (Text("细颗粒物 PM2.5 24小时平均", "PM2.5 24-h mean"), UG, 0, "pm25_24h"),
}
NAMES = {"so2": "SO2", "no2": "NO2", "pm10": "PM10", "co": "CO", "o3": "O3", "pm25": "PM2.5"}
LEVELS = {1: "一级 I", 2: "二级 II", 3: "三级 III", 4: "四级 IV", 5: "五级 V", 6: "六级 VI"}
DISTRICT = Text("全区", "District")


def _columns() -> tuple[Column, ...]:
    cols = [
        Column("site_id", Text("站点编号", "Site id"), "text"),
        Column("site", Text("监测点位", "Site"), "text"),
    ]
    for key, (label, unit, decimals, _) in INDICATORS.items():
        cols.append(Column(key, label, "number", unit, decimals))
        cols.append(Column(f"{key}_iaqi", Text(f"{label.zh} 分指数", f"{label.en} IAQI"), "int"))
    cols += [
        Column("aqi", Text("空气质量指数 AQI", "AQI"), "int"),
        Column("primary", Text("首要污染物", "Primary pollutant"), "text"),
        Column("level", Text("级别", "Level"), "text"),
        Column("category", Text("类别", "Category"), "text"),
        Column("colour", Text("颜色", "Colour"), "colour"),
        Column("effects", Text("对健康影响情况", "Health effects"), "text"),
        Column("advice", Text("建议采取的措施", "Advice"), "text"),
        Column("coverage", Text("数据覆盖", "Coverage"), "text"),
        Column("validity", Text("有效性", "Validity"), "text"),
    ]
    return tuple(cols)


COLUMNS = _columns()
PDF_KEYS = (
    "site",
    *INDICATORS,
    "aqi",
    "primary",
    "level",
    "category",
    "colour",
    "coverage",
    "validity",
)


def build(conn: Conn, registry: Registry, period: Period, *, now: datetime | None = None) -> Report:
    if period.kind != "day":
        raise ValueError(f"{NAME} is a daily report: give a date, not a {period.kind}")
    stations = list(registry.air)
    inputs = daily_aqi_inputs(conn, period.start, period.end, [s.id for s in stations])
    edition = edition_for(period.start)
    records = []
    for s in stations:
        got = inputs.get(s.id)
        records.append(_station(s.id, f"{s.name_zh} {s.name_en}", got, period))
    records.append(_district(inputs, len(stations), period))
    table = Table("daily", TITLE, COLUMNS, rows_of(records, COLUMNS), pdf_keys=PDF_KEYS)
    notes = (
        Text(
            f"AQI 按 {edition} 计算；浓度限值按 {gb3095.edition_on(period.first)}（二级）。",
            f"AQI by {edition}; limits of {gb3095.edition_on(period.first)} (Grade II).",
        ),
        Text(
            f"仅计有效数据（数据标记 N 或无标记）：24小时平均需 {DAY_HOURS} 个有效小时值，"
            "小时值需 45 分钟有效数据。",
            f"Valid values only (data flag N or none): a 24-h mean needs {DAY_HOURS} valid"
            " hourly means, an hourly mean 45 valid minutes.",
        ),
        Text(
            "指标不全时按其余指标计算 AQI，仅当 AQI 大于 100 时发布，"
            "否则记为 NA（HJ 633-2026 §5.3）。",
            "Where an indicator is invalid the AQI comes from the others and is published only"
            " above 100, else NA (HJ 633-2026 §5.3).",
        ),
        Text(
            "全区浓度为各站有效日值的算术平均（HJ 663）。"
            + ("O3 最大1小时平均自 HJ 633-2026 起不参与 AQI。" if edition != "HJ 633-2012" else ""),
            "District concentrations are the means of the stations' valid daily values (HJ 663)."
            + (
                " The O3 1-h maximum is no AQI indicator under HJ 633-2026."
                if edition != "HJ 633-2012"
                else ""
            ),
        ),
    )
    chart = Chart(
        Text("各站 AQI", "AQI by site"),
        "daily",
        "site",
        "aqi",
        "colour",
        100.0,
        Text("100（良/轻度污染）", "100 (good / lightly polluted)"),
    )
    headline = figures(
        table, "district", ("aqi", "primary", "category", "pm25", "coverage"), DISTRICT
    )
    return Report(
        NAME, TITLE, period.label, now or datetime.now(UTC), (table,), notes, (chart,), headline
    )


def _judged(conc: dict[str, float | None], period: Period, missing: list[str]) -> dict[str, Cell]:
    """The AQI columns of concentrations, with the HJ 633-2026 §5.3 rule for missing ones."""
    result = daily_aqi(conc, period.start)
    out: dict[str, Cell] = {}
    for key, (*_, iaqi_key) in INDICATORS.items():
        out[key] = conc.get(key)
        out[f"{key}_iaqi"] = result.iaqi.get(iaqi_key)
    aqi = published_aqi(result, bool(missing))
    if aqi is None:
        return {**out, "aqi": None}
    level = result.level or 1
    health = HEALTH[level]
    return {
        **out,
        "aqi": aqi,
        "primary": "、".join(NAMES[p] for p in result.primary) or None,
        "level": LEVELS[level],
        "category": f"{result.category_zh} {result.category_en}",
        "colour": result.colour,
        "effects": f"{health.effects_zh} {health.effects_en}",
        "advice": f"{health.advice_zh} {health.advice_en}",
    }


def _station(site_id: str, name: str, got: DailyInputs | None, period: Period) -> dict[str, Cell]:
    base: dict[str, Cell] = {"site_id": site_id, "site": name}
    if got is None:
        return {**base, "coverage": "0 h", "validity": "无数据 no data"}
    conc = got.concentrations
    missing = missing_indicators(conc, period.start)
    hours = " ".join(f"{NAMES[p]} {got.valid_hours[p]}/24" for p in DAILY_MEANS)
    validity = (
        "有效 valid"
        if not missing
        else "无效 invalid: " + ", ".join(_what(k, got) for k in missing)
    )
    return {**base, **_judged(conc, period, missing), "coverage": hours, "validity": validity}


def _what(key: str, got: DailyInputs) -> str:
    if key in got.valid_hours:
        return f"{NAMES[key]} {got.valid_hours[key]} h < {DAY_HOURS} h"
    return f"{INDICATORS[key][0].en} n/a"


def _district(inputs: dict[str, DailyInputs], expected: int, period: Period) -> dict[str, Cell]:
    conc: dict[str, float | None] = {}
    counts: dict[str, int] = {}
    for key in INDICATORS:
        values = [v for i in inputs.values() if (v := i.concentrations.get(key)) is not None]
        counts[key] = len(values)
        conc[key] = round(sum(values) / len(values), 3) if values else None
    missing = missing_indicators(conc, period.start)
    coverage = " ".join(f"{NAMES.get(k, k)} {counts[k]}/{expected}" for k in DAILY_MEANS)
    validity = (
        "有效 valid"
        if not missing
        else "无效 invalid: " + ", ".join(INDICATORS[k][0].en for k in missing)
    )
    return {
        "site_id": "district",
        "site": f"{DISTRICT.zh} {DISTRICT.en}",
        **_judged(conc, period, missing),
        "coverage": f"{coverage} stations",
        "validity": validity,
    }
