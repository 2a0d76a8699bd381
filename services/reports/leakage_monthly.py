"""供水管网漏损月报: each DMA's and the utility's water balance for a month (CJJ 92-2016).

Over the days whose balance is complete — every inlet meter with a day's valid readings
(``statistics.water.dma_days``) and the day's bill — the system input (the DMA's inlet
meters), the billed consumption, the non-revenue water and its rate (产销差率), and the
comprehensive leakage rate R_WL = (Q_s − Q_a) ÷ Q_s against the DMA's target and the
CJJ 92 grades (≤ 10 % first, ≤ 12 % second). Unbilled authorised use is not metered, so
Q_a is the billed consumption and R_WL equals the NRW rate here; the corrections R1–R4
(hence the assessed rate R_BL) need utility data the system does not hold. The minimum
night flow (the lower of the 02:00 and 03:00 hourly means) is given per night, with the
first and last week of the month compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from ingest.feeds import LOCAL_TZ
from ingest.registry import Registry
from ingest.registry.model import Dma
from services.reports.model import Cell, Chart, Column, Report, Table, Text, figures, rows_of
from services.reports.model import column as _c
from services.reports.period import Period
from services.standards.targets import LEAKAGE_DEFAULT_PCT
from services.statistics.hourly import Conn
from services.statistics.water import DmaDay, dma_days, leakage_rate_pct

NAME = "leakage-monthly"
TITLE = Text("供水管网漏损月报", "Water-supply leakage monthly report")
FIRST_GRADE_PCT, SECOND_GRADE_PCT = 10.0, 12.0
WEEK = 7
TARGET_LABEL = Text(f"目标 {LEAKAGE_DEFAULT_PCT:g} %", f"target {LEAKAGE_DEFAULT_PCT:g} %")


COLUMNS = (
    _c("dma_id", "编号", "Id", "text"),
    _c("dma", "计量分区", "DMA", "text"),
    _c("target", "漏损目标", "Target", "percent", "%", d=1),
    _c("days", "平衡天数", "Balanced days", "text"),
    _c("input", "供水总量", "System input", "number", "m³", d=0),
    _c("billed", "计费用水量", "Billed consumption", "number", "m³", d=0),
    _c("nrw", "产销差水量", "Non-revenue water", "number", "m³", d=0),
    _c("nrw_rate", "产销差率", "NRW rate", "percent", "%", d=2),
    _c("rwl", "综合漏损率 R_WL", "Comprehensive leakage R_WL", "percent", "%", d=2),
    _c("meets", "达到目标", "Meets target", "text"),
    _c("grade", "评定等级", "Grade", "text"),
    _c("mnf", "最小夜间流量均值", "Mean minimum night flow", "number", "m³/h", d=1),
    _c("mnf_first", "首周", "First week", "number", "m³/h", d=1),
    _c("mnf_last", "末周", "Last week", "number", "m³/h", d=1),
    _c("mnf_change", "变化", "Change", "percent", "%", d=1),
)


def build(conn: Conn, registry: Registry, period: Period, *, now: datetime | None = None) -> Report:
    if period.kind != "month":
        raise ValueError(f"{NAME} is a monthly report: give a month, not a {period.kind}")
    dmas = list(registry.dmas)
    inlets = {d.id: [m.id for m in d.inlet_meters] for d in dmas}
    days = dma_days(conn, inlets, period.start, period.end)
    n_days = len(period.days)
    records = [_dma(d, list(days[d.id].values()), n_days) for d in dmas]
    records.append(_utility(dmas, days, n_days))
    balance = Table("balance", TITLE, COLUMNS, rows_of(records, COLUMNS))
    night_cols = (
        Column("date", Text("日期", "Date"), "date"),
        *(Column(d.id, Text(d.name_zh, d.name_en), "number", "m³/h", 1) for d in dmas),
    )
    nights = tuple(
        (day.astimezone(LOCAL_TZ).date(), *(_mnf(days[d.id].get(day)) for d in dmas))
        for day in sorted({x for by_day in days.values() for x in by_day})
    )
    night = Table("mnf", Text("最小夜间流量", "Minimum night flow"), night_cols, nights)
    notes = (
        Text(
            "仅计平衡完整的日子：各进水表当日有效数据 ≥ 75 % 且有当日计费水量。",
            "Only days with a complete balance: every inlet meter with 75 % valid readings"
            " and the day's bill.",
        ),
        Text(
            "免费用水未计量，注册用户用水量按计费用水量计，故 R_WL 等于产销差率；"
            "修正值 R1–R4 需供水企业数据，未计算评定漏损率 R_BL，等级按 R_WL 评（偏严）。",
            "Unbilled authorised use is not metered: Q_a is the billed consumption, so R_WL"
            " equals the NRW rate; R1–R4 need utility data, so the assessed rate R_BL is not"
            " computed and the grade is judged on R_WL (the stricter).",
        ),
        Text(
            f"目标：各分区登记值；全市 {LEAKAGE_DEFAULT_PCT:g} %（建办城 [2022] 2 号）。"
            "最小夜间流量取 02:00 与 03:00 小时均值中的较小者。",
            f"Targets: each DMA's registered one; the utility {LEAKAGE_DEFAULT_PCT:g} %"
            " (建办城 [2022] 2 号). Minimum night flow: the lower of the 02:00 and 03:00"
            " hourly means.",
        ),
    )
    chart = Chart(
        Text("各分区综合漏损率", "Leakage rate by DMA"), "balance", "dma", "rwl", None,
        LEAKAGE_DEFAULT_PCT, TARGET_LABEL,
    )  # fmt: skip
    headline = figures(
        balance, "utility", ("days", "input", "nrw_rate", "rwl", "meets"), Text("全公司", "Utility")
    )
    return Report(
        NAME, TITLE, period.label, now or datetime.now(UTC), (balance, night), notes, (chart,),
        headline,
    )  # fmt: skip


def _mnf(day: DmaDay | None) -> float | None:
    return day.mnf_m3h if day is not None else None


def _mean(values: Sequence[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return sum(got) / len(got) if got else None


def _figures(days: Sequence[DmaDay], target: float, n_days: int, label: str) -> dict[str, Cell]:
    balanced = [d for d in days if d.supplied_m3 is not None and d.billed_m3 is not None]
    supplied = sum(d.supplied_m3 or 0.0 for d in balanced)
    billed = sum(d.billed_m3 or 0.0 for d in balanced)
    rate = leakage_rate_pct(supplied, billed) if balanced else None
    return {
        "target": target,
        "days": f"{len(balanced)}/{n_days}{label}",
        "input": supplied if balanced else None,
        "billed": billed if balanced else None,
        "nrw": supplied - billed if balanced else None,
        "nrw_rate": rate,
        "rwl": rate,
        "meets": None if rate is None else ("是 yes" if rate <= target else "否 no"),
        "grade": None if rate is None else _grade(rate),
    }


def _grade(rate: float) -> str:
    if rate <= FIRST_GRADE_PCT:
        return "一级 first"
    if rate <= SECOND_GRADE_PCT:
        return "二级 second"
    return "未达二级 below second"


def _trend(days: Sequence[DmaDay]) -> dict[str, Cell]:
    nights = [d.mnf_m3h for d in days]
    first, last = _mean(nights[:WEEK]), _mean(nights[-WEEK:])
    change = (
        100 * (last - first) / first if first and last is not None and len(days) > WEEK else None
    )
    return {"mnf": _mean(nights), "mnf_first": first, "mnf_last": last, "mnf_change": change}


def _dma(dma: Dma, days: list[DmaDay], n_days: int) -> dict[str, Cell]:
    return {
        "dma_id": dma.id,
        "dma": f"{dma.name_zh} {dma.name_en}",
        **_figures(days, dma.leakage_target_pct, n_days, ""),
        **_trend(days),
    }


def _utility(
    dmas: Sequence[Dma], days: dict[str, dict[datetime, DmaDay]], n_days: int
) -> dict[str, Cell]:
    every = [d for dma in dmas for d in days[dma.id].values()]
    reporting = sum(1 for dma in dmas if days[dma.id])
    figures = _figures(every, LEAKAGE_DEFAULT_PCT, n_days * len(dmas), " DMA-days")
    return {
        **figures,
        "dma_id": "utility",
        "dma": f"全部分区 All DMAs ({reporting}/{len(dmas)})",
    }
