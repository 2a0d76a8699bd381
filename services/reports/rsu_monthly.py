"""路侧单元可用性月报: how available the C-V2X roadside units were over a month.

Availability is counted by the hour, from the heartbeats' hourly rollup: an RSU-hour is
available when at least half of its heartbeats in the hour said the radio was up (an
hour without a heartbeat is not). Per day: the district's online rate (available
RSU-hours ÷ registered RSUs × 24) and how many intersections were covered all day or not
at all; per intersection (covered in an hour when one of its RSUs was available): its
availability, the outages (runs of uncovered hours) and the longest; and the
intersections never covered in the month.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from ingest.registry import Registry
from services.reports.model import Cell, Chart, Figure, Report, Table, Text
from services.reports.model import column as _c
from services.reports.period import Period, local_midnight
from services.standards.targets import RSU_ONLINE_PCT
from services.statistics.hourly import Conn
from services.statistics.v2x import ONLINE_SHARE, covered_hours, rsu_hours_by_day

NAME = "rsu-monthly"
TITLE = Text("路侧单元可用性月报", "RSU availability monthly report")
HOUR = timedelta(hours=1)
NEVER = Text("本月从未覆盖的路口", "Intersections never covered")


DAILY = (
    _c("date", "日期", "Date", "date"),
    _c("rate", "在线率", "Online rate", "percent", "%", d=2),
    _c("rsu_hours", "可用设备小时", "RSU-hours available", "int"),
    _c("full", "全天覆盖路口", "Intersections covered all day", "int"),
    _c("dark", "全天未覆盖路口", "Intersections dark all day", "int"),
    _c("meets", f"达到 {RSU_ONLINE_PCT:g}%", f"Meets {RSU_ONLINE_PCT:g} %", "text"),
)
INTERSECTIONS = (
    _c("ix_id", "编号", "Id", "text"),
    _c("intersection", "路口", "Intersection", "text"),
    _c("rsus", "RSU 数", "RSUs", "int"),
    _c("availability", "可用率", "Availability", "percent", "%", d=2),
    _c("outage_hours", "中断小时", "Hours uncovered", "int"),
    _c("outages", "中断次数", "Outages", "int"),
    _c("longest", "最长中断", "Longest outage", "int", "h"),
)


def build(conn: Conn, registry: Registry, period: Period, *, now: datetime | None = None) -> Report:
    if period.kind != "month":
        raise ValueError(f"{NAME} is a monthly report: give a month, not a {period.kind}")
    rsus = {r.id: r.intersection for r in registry.rsus}
    by_day = rsu_hours_by_day(conn, list(rsus), period.start, period.end)
    covered = covered_hours(conn, rsus, period.start, period.end)
    hours = _hours(period.start, period.end)
    counts: dict[str, int] = {}
    for ix_id in rsus.values():
        counts[ix_id] = counts.get(ix_id, 0) + 1
    daily_rows: list[tuple[Cell, ...]] = []
    for day in period.days:
        start, end = local_midnight(day), local_midnight(day + timedelta(days=1))
        available = by_day.get(start, 0)
        rate = 100 * available / (len(rsus) * 24) if rsus else None
        in_day = [h for h in hours if start <= h < end]
        full = sum(1 for ix in registry.intersections if covered.get(ix.id, set()) >= set(in_day))
        dark = sum(
            1 for ix in registry.intersections if not covered.get(ix.id, set()) & set(in_day)
        )
        meets = None if rate is None else ("是 yes" if rate >= RSU_ONLINE_PCT else "否 no")
        daily_rows.append((day, rate, available, full, dark, meets))
    ix_rows: list[tuple[Cell, ...]] = []
    never: list[tuple[Cell, ...]] = []
    for ix in registry.intersections:
        got = covered.get(ix.id, set())
        runs = _outages(hours, got)
        name = f"{ix.name_zh} {ix.name_en}"
        ix_rows.append((
            ix.id, name, counts.get(ix.id, 0), 100 * len(got) / len(hours) if hours else None,
            len(hours) - len(got), len(runs), max(runs, default=0),
        ))  # fmt: skip
        if not got:
            never.append((ix.id, name, counts.get(ix.id, 0)))
    total = sum(by_day.values())
    month_rate = 100 * total / (len(rsus) * len(hours)) if rsus and hours else None
    dark_cols = INTERSECTIONS[:3]
    tables = (
        Table("daily", Text("每日在线率", "Online rate by day"), DAILY, tuple(daily_rows)),
        Table(
            "intersections", Text("各路口可用率", "Availability by intersection"),
            INTERSECTIONS, tuple(sorted(ix_rows, key=lambda r: (r[3] or 0.0, str(r[0])))),
        ),
        Table("never", NEVER, dark_cols, tuple(never)),
    )  # fmt: skip
    notes = (
        Text(
            f"本月在线率 {_pct(month_rate)}"
            f"（{len(rsus)} 台 RSU，{len(registry.intersections)} 个路口）；"
            f"目标 ≥ {RSU_ONLINE_PCT:g} %。",
            f"Month online rate {_pct(month_rate)} ({len(rsus)} RSUs, {len(registry.intersections)}"
            f" intersections); target ≥ {RSU_ONLINE_PCT:g} %.",
        ),
        Text(
            f"按小时计：一小时内至少 {ONLINE_SHARE:.0%} 的心跳报告在线即为可用；无心跳为不可用。"
            "路口在任一 RSU 可用的小时内为覆盖。",
            f"Counted by the hour: an RSU-hour is available when at least {ONLINE_SHARE:.0%} of"
            " its heartbeats said online, not without a heartbeat; an intersection is covered in"
            " an hour when one of its RSUs is available.",
        ),
        Text("各路口按可用率由低到高排列。", "Intersections listed from the least available."),
    )
    chart = Chart(
        Text("每日在线率", "Online rate by day"), "daily", "date", "rate", None, RSU_ONLINE_PCT,
        Text(f"目标 {RSU_ONLINE_PCT:g} %", f"target {RSU_ONLINE_PCT:g} %"),
    )  # fmt: skip
    headline = (
        Figure(Text("本月在线率", "Month online rate"), month_rate, DAILY[1]),
        Figure(NEVER, len(never), INTERSECTIONS[2]),
    )
    return Report(
        NAME, TITLE, period.label, now or datetime.now(UTC), tables, notes, (chart,), headline
    )


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} %"


def _hours(start: datetime, end: datetime) -> list[datetime]:
    out, t = [], start
    while t < end:
        out.append(t)
        t += HOUR
    return out


def _outages(hours: Iterable[datetime], covered: set[datetime]) -> list[int]:
    """Lengths (h) of the runs of uncovered hours."""
    runs, current = [], 0
    for h in hours:
        if h in covered:
            if current:
                runs.append(current)
            current = 0
        else:
            current += 1
    if current:
        runs.append(current)
    return runs
