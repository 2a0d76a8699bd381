"""污水处理厂月报: each plant's and the district's operating figures for a month — what the
plants enter into the national urban-wastewater information system by the 8th.

Per plant, from its valid readings (data flag N or none) day by day
(``statistics.wastewater.plant_days``; a daily mean needs 75 % of the day's samples): the
volume treated (effluent meter), the mean daily flow and the load rate against the design
capacity (plants under 60 % are singled out nationally), influent and effluent means,
removal rates and reductions in tonnes where the influent is metered, the days compliant
with GB 18918-2002 class 1A among the days assessed, the bypass/overflow volume and
events, and the treatment-rate proxy treated ÷ (treated + bypass) against 95 %. The
district row sums the plants and weights concentrations by volume, naming the plants
that did not report.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from ingest.registry import Registry, WastewaterSite
from services.reports.model import Cell, Chart, Report, Table, Text, figures, rows_of
from services.reports.model import column as _c
from services.reports.period import Period
from services.standards import gb18918
from services.standards.targets import TREATMENT_RATE_PCT
from services.statistics.hourly import Conn
from services.statistics.wastewater import DAY_SAMPLES, PlantDay, plant_days, treatment_rate_pct

NAME = "wwtp-monthly"
TITLE = Text("污水处理厂运行月报", "WWTP monthly operation report")
LOW_LOAD_PCT = 60.0
M3, MGL, T, PCT = "m³", "mg/L", "t", "%"
# effluent item → column, GB 18918 item
EFFLUENT: dict[str, tuple[str, gb18918.Item]] = {
    "cod": ("effluent_cod_mgl", "cod"),
    "nh3n": ("effluent_nh3n_mgl", "nh3n"),
    "tn": ("effluent_tn_mgl", "tn"),
    "tp": ("effluent_tp_mgl", "tp"),
    "ss": ("effluent_ss_mgl", "ss"),
}
REMOVED = {"cod": "influent_cod_mgl", "nh3n": "influent_nh3n_mgl"}  # metered influent
LABELS = {"cod": "COD", "nh3n": "氨氮 NH3-N", "tn": "总氮 TN", "tp": "总磷 TP", "ss": "SS"}


COLUMNS = (
    _c("site_id", "编号", "Id", "text"),
    _c("plant", "污水处理厂", "Plant", "text"),
    _c("capacity", "设计规模", "Design capacity", "number", "m³/d", d=0),
    _c("days", "有数据天数", "Days with data", "text"),
    _c("treated", "处理水量", "Volume treated", "number", M3, d=0),
    _c("daily_flow", "日均处理量", "Mean daily flow", "number", "m³/d", d=0),
    _c("load", "负荷率", "Load rate", "percent", PCT, d=1),
    _c("low_load", "低负荷(<60%)", "Low load (<60 %)", "text"),
    _c("in_cod", "进水 COD", "Influent COD", "number", MGL, d=1),
    _c("cod", "出水 COD", "Effluent COD", "number", MGL, d=1),
    _c("cod_removal", "COD 去除率", "COD removal", "percent", PCT, d=1),
    _c("cod_t", "COD 削减量", "COD removed", "number", T, d=2),
    _c("in_nh3n", "进水氨氮", "Influent NH3-N", "number", MGL, d=2),
    _c("nh3n", "出水氨氮", "Effluent NH3-N", "number", MGL, d=2),
    _c("nh3n_removal", "氨氮去除率", "NH3-N removal", "percent", PCT, d=1),
    _c("nh3n_t", "氨氮削减量", "NH3-N removed", "number", T, d=3),
    _c("tn", "出水总氮", "Effluent TN", "number", MGL, d=2),
    _c("tp", "出水总磷", "Effluent TP", "number", MGL, d=3),
    _c("ss", "出水 SS", "Effluent SS", "number", MGL, d=1),
    _c("compliant", "达标天数/评价天数", "Compliant / assessed days", "text"),
    _c("compliance", "达标率", "Compliance rate", "percent", PCT, d=1),
    _c("bypass", "溢流/旁路水量", "Bypass volume", "number", M3, d=0),
    _c("bypass_events", "溢流次数", "Bypass events", "int"),
    _c("rate", "处理率(代理)", "Treatment rate (proxy)", "percent", PCT, d=2),
    _c("meets", "达到95%", "Meets 95 %", "text"),
)
TARGET_LABEL = Text(f"目标 {TREATMENT_RATE_PCT:g} %", f"target {TREATMENT_RATE_PCT:g} %")
PDF_KEYS = (
    "plant", "days", "treated", "daily_flow", "load", "low_load", "in_cod", "cod",
    "cod_removal", "cod_t", "nh3n", "nh3n_t", "tn", "tp", "compliant", "bypass",
    "bypass_events", "rate", "meets",
)  # fmt: skip


def build(conn: Conn, registry: Registry, period: Period, *, now: datetime | None = None) -> Report:
    if period.kind != "month":
        raise ValueError(f"{NAME} is a monthly report: give a month, not a {period.kind}")
    plants = [s for s in registry.wastewater if s.type == "wwtp"]
    days = plant_days(conn, [p.id for p in plants], period.start, period.end)
    n_days = len(period.days)
    records = [_plant(p, days[p.id], n_days) for p in plants]
    silent = [p for p in plants if not days[p.id]]
    records.append(_district(plants, days, n_days, silent))
    notes = [
        Text(
            f"达标按 {gb18918.EDITION} 一级A 日均值限值判定"
            f"（氨氮：水温 ≤ {gb18918.COLD_WATER_C:g} °C 时"
            f" {gb18918.cold_maximum('nh3n'):g} mg/L）；"
            f"日均值需当日 {DAY_SAMPLES} 个有效分钟数据。",
            f"Compliance: {gb18918.EDITION} class 1A daily-mean maxima (NH3-N"
            f" {gb18918.cold_maximum('nh3n'):g} mg/L at water ≤ {gb18918.COLD_WATER_C:g} °C); a"
            f" daily mean needs {DAY_SAMPLES} valid minute readings.",
        ),
        Text(
            "仅计有效数据（数据标记 N 或无标记）。处理量按出水流量日均值 × 24 h 计。",
            "Valid values only (data flag N or none). Volumes are daily mean flows × 24 h.",
        ),
        Text(
            "处理率为工程代理指标：处理量 ÷（处理量 + 溢流/旁路量），"
            f"目标 ≥ {TREATMENT_RATE_PCT:g} %；官方污水处理率以估算排放量为分母。",
            f"The treatment rate is a proxy, treated ÷ (treated + bypass), target ≥"
            f" {TREATMENT_RATE_PCT:g} %; the official rate divides by the estimated discharge.",
        ),
        Text(
            "进水仅计量 COD 与氨氮：总氮、总磷、SS 的去除率与削减量无法计算。",
            "Only influent COD and NH3-N are metered: TN, TP and SS removal cannot be computed.",
        ),
    ]
    if silent:
        names = "、".join(p.name_zh for p in silent)
        names_en = ", ".join(p.name_en for p in silent)
        notes.insert(0, Text(f"本月无数据：{names}。", f"No data this month: {names_en}."))
    table = Table("plants", TITLE, COLUMNS, rows_of(records, COLUMNS), pdf_keys=PDF_KEYS)
    chart = Chart(
        Text("各厂处理率（代理）", "Treatment rate by plant (proxy)"), "plants", "plant", "rate",
        None, TREATMENT_RATE_PCT, TARGET_LABEL,
    )  # fmt: skip
    headline = figures(
        table,
        "district",
        ("days", "treated", "rate", "meets", "compliant"),
        Text("全区", "District"),
    )
    return Report(
        NAME, TITLE, period.label, now or datetime.now(UTC), (table,), tuple(notes), (chart,),
        headline,
    )  # fmt: skip


def _mean(days: Sequence[PlantDay], measure: str) -> float | None:
    """Volume-weighted mean of the valid daily means (plain mean where no volume)."""
    pairs = [(d.means[measure], d.volume_m3("effluent_flow_m3h") or 0.0) for d in days]
    pairs = [(v, w) for v, w in pairs if v is not None]
    if not pairs:
        return None
    weight = sum(w for _, w in pairs)
    if weight > 0:
        return sum(v * w for v, w in pairs if v is not None) / weight
    return sum(v for v, _ in pairs if v is not None) / len(pairs)


def _removed_t(days: Sequence[PlantDay], influent: str, effluent: str) -> float | None:
    total, any_day = 0.0, False
    for d in days:
        vol, cin, cout = d.volume_m3("effluent_flow_m3h"), d.means[influent], d.means[effluent]
        if vol is not None and cin is not None and cout is not None:
            total += (cin - cout) * vol / 1e6
            any_day = True
    return total if any_day else None


def _compliant(day: PlantDay, measured: Sequence[str]) -> bool | None:
    """Whether the day's effluent met class 1A; None when a measured item has no mean."""
    for key in measured:
        column, item = EFFLUENT[key]
        mean = day.means[column]
        if mean is None:
            return None
        limit = gb18918.maximum(item)
        temp = day.means["water_temp_c"]
        if item == "nh3n" and temp is not None and temp <= gb18918.COLD_WATER_C:
            limit = gb18918.cold_maximum("nh3n") or limit
        if mean > limit:
            return False
    ph = day.means["effluent_ph"]
    low, high = gb18918.PH_RANGE
    return not (ph is not None and not low <= ph <= high)


def _volumes(days: Sequence[PlantDay]) -> tuple[float, float, int]:
    treated = sum(d.volume_m3("effluent_flow_m3h") or 0.0 for d in days)
    bypass = sum(d.volume_m3("bypass_flow_m3h") or 0.0 for d in days)
    flow_days = sum(1 for d in days if d.means["effluent_flow_m3h"] is not None)
    return treated, bypass, flow_days


def _figures(days: Sequence[PlantDay], capacity: float, n_days: int) -> dict[str, Cell]:
    treated, bypass, flow_days = _volumes(days)
    daily = treated / flow_days if flow_days else None
    load = 100 * daily / capacity if daily is not None and capacity > 0 else None
    measured = [
        k for k, (col, _) in EFFLUENT.items() if any(d.means[col] is not None for d in days)
    ]
    verdicts = [_compliant(d, measured) for d in days] if measured else []
    assessed = [v for v in verdicts if v is not None]
    rate = treatment_rate_pct(treated, bypass) if flow_days else None
    out: dict[str, Cell] = {
        "days": f"{flow_days}/{n_days}",
        "treated": treated if flow_days else None,
        "daily_flow": daily,
        "load": load,
        "low_load": None if load is None else ("是 yes" if load < LOW_LOAD_PCT else "否 no"),
        "compliant": f"{sum(assessed)}/{len(assessed)}" if assessed else "—",
        "compliance": 100 * sum(assessed) / len(assessed) if assessed else None,
        "bypass": bypass if flow_days else None,
        "bypass_events": sum(d.bypass_events for d in days) if days else None,
        "rate": rate,
        "meets": None if rate is None else ("是 yes" if rate >= TREATMENT_RATE_PCT else "否 no"),
    }
    for key, (column, _) in EFFLUENT.items():
        out[key] = _mean(days, column)
    for key, influent in REMOVED.items():
        cin, cout = _mean(days, influent), out[key]
        out[f"in_{key}"] = cin
        removal = 100 * (cin - cout) / cin if cin and isinstance(cout, float) else None
        out[f"{key}_removal"] = removal
        out[f"{key}_t"] = _removed_t(days, influent, EFFLUENT[key][0])
    return out


def _plant(plant: WastewaterSite, days: Sequence[PlantDay], n_days: int) -> dict[str, Cell]:
    return {
        "site_id": plant.id,
        "plant": f"{plant.name_zh} {plant.name_en}",
        "capacity": plant.design_capacity_m3d,
        **_figures(days, plant.design_capacity_m3d, n_days),
    }


def _district(
    plants: Sequence[WastewaterSite],
    days: dict[str, list[PlantDay]],
    n_days: int,
    silent: Sequence[WastewaterSite],
) -> dict[str, Cell]:
    every = [d for p in plants for d in days[p.id]]
    reporting = [p for p in plants if days[p.id]]
    capacity = sum(p.design_capacity_m3d for p in reporting)
    figures = _figures(every, capacity, n_days)
    treated, _, _ = _volumes(every)
    # the district's mean daily flow: all plants' volume over the month's days with data
    day_count = len({d.day for d in every if d.means["effluent_flow_m3h"] is not None})
    daily = treated / day_count if day_count else None
    load = 100 * daily / capacity if daily is not None and capacity > 0 else None
    return {
        **figures,
        "site_id": "district",
        "plant": "全区 District",
        "capacity": capacity,
        "days": f"{len(reporting)}/{len(plants)} plants",
        "daily_flow": daily,
        "load": load,
        "low_load": None if load is None else ("是 yes" if load < LOW_LOAD_PCT else "否 no"),
        "meets": figures["meets"]
        if not silent
        else f"{figures['meets'] or '—'}（缺 {len(silent)} 厂 missing）",
    }
