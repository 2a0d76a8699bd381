"""Wastewater: plant flows, the treatment rate against its target, effluent against GB 18918."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.models import dashboard as dash_m

from dashboards._panels import (
    above_target,
    alert_annotations,
    area_variable,
    below_target,
    flagged_values,
    new_dashboard,
    registry_variable,
    table,
    thresholds,
    timeseries,
)
from dashboards.sql import series_sql
from services.standards import gb18918
from services.standards.targets import TREATMENT_RATE_PCT

UID = "liudong-wastewater"
PLANTS = "d.device_id IN ($device)"
CLASS = gb18918.DISTRICT_CLASS
_NH3N = (
    f"{CLASS}: {gb18918.maximum('nh3n'):g},"
    f" ≤ {gb18918.COLD_WATER_C:g} °C: {gb18918.COLD_MAXIMA['nh3n', CLASS]:g}"
)
# Effluent measures against their GB 18918 daily maxima (mg/L) for the plants' class.
EFFLUENT = (
    ("effluent_cod_mgl", "出水 COD · Effluent COD", gb18918.maximum("cod")),
    ("effluent_nh3n_mgl", f"出水氨氮 · Effluent NH3-N ({_NH3N})", gb18918.maximum("nh3n")),
    ("effluent_tn_mgl", "出水总氮 · Effluent TN", gb18918.maximum("tn")),
    ("effluent_tp_mgl", "出水总磷 · Effluent TP", gb18918.maximum("tp")),
    ("effluent_ss_mgl", "出水悬浮物 · Effluent SS", gb18918.maximum("ss")),
)
PH_LOW, PH_HIGH = gb18918.PH_RANGE
TREATMENT_BY_DAY = f"""
SELECT $__timeGroupAlias(k.bucket, 1d), d.name_zh AS metric,
       100 * sum(k.treated_m3) / nullif(sum(k.treated_m3) + sum(k.bypass_m3), 0) AS value
  FROM kpi_treatment_daily k JOIN device d USING (device_id)
 WHERE {PLANTS} AND $__timeFilter(k.bucket)
 GROUP BY 1, 2
UNION ALL
SELECT $__timeGroupAlias(k.bucket, 1d), '全区 District' AS metric,
       100 * sum(k.treated_m3) / nullif(sum(k.treated_m3) + sum(k.bypass_m3), 0)
  FROM kpi_treatment_daily k
 WHERE $__timeFilter(k.bucket)
 GROUP BY 1, 2
 ORDER BY 1, 2
"""
TREATMENT_BY_MONTH = """
SELECT d.name_zh AS "厂 Plant",
       to_char(k.bucket AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') AS "月 Month",
       round((sum(k.treated_m3))::numeric, 0) AS "处理量 Treated m³",
       round((sum(k.bypass_m3))::numeric, 0) AS "溢流 Bypass m³",
       round((100 * sum(k.treated_m3)
              / nullif(sum(k.treated_m3) + sum(k.bypass_m3), 0))::numeric, 2) AS "处理率 Rate %"
  FROM kpi_treatment_daily k JOIN device d USING (device_id)
 WHERE d.device_id IN ($device) AND $__timeFilter(k.bucket)
 GROUP BY 1, 2 ORDER BY 2 DESC, 1
"""
BYPASS_EVENTS = """
SELECT h.bucket AS "时间 Hour", d.name_zh AS "站点 Site",
       round(h.bypass_flow_m3h_max::numeric, 1) AS "最大溢流 Max bypass m³/h",
       round((h.bypass_flow_m3h_avg * h.bypass_flow_m3h_n / 60)::numeric, 1) AS "溢流量 Volume m³"
  FROM wastewater_reading_hourly h JOIN device d USING (device_id)
 WHERE (d.device_id IN ($device) OR d.device_type = 'pumping_station' AND d.area IN ($area))
   AND h.bypass_flow_m3h_max > 0 AND $__timeFilter(h.bucket)
 ORDER BY 1 DESC LIMIT 200
"""


def build() -> dash_m.Dashboard:
    board = (
        new_dashboard(
            UID,
            "污水处理",
            "Wastewater",
            "Plant flows, the treatment rate (proxy: treated ÷ (treated + bypass)) against the"
            f" 2025 target of {TREATMENT_RATE_PCT:g} %, and effluent quality against"
            f" {gb18918.EDITION} class {gb18918.DISTRICT_CLASS}.",
        )
        .with_variable(area_variable())
        .with_variable(
            registry_variable(
                "污水厂/泵站 Plant", "feed = 'wastewater'", "device_type DESC, device_id"
            )
        )
        .annotation(alert_annotations("wastewater"))
        .with_row(dash_b.Row("流量 Flows"))
    )
    for measure, title in (
        ("influent_flow_m3h", "进水流量 · Influent flow"),
        ("effluent_flow_m3h", "出水流量 · Effluent flow"),
        ("bypass_flow_m3h", "溢流/旁路 · Bypass and overflow"),
    ):
        board = board.with_panel(
            timeseries(
                title,
                series_sql("wastewater_reading", measure, devices=PLANTS),
                "suffix: m³/h",
                span=8,
            )
        )
    board = (
        board.with_row(dash_b.Row(f"处理率 Treatment rate (target ≥ {TREATMENT_RATE_PCT:g} %)"))
        .with_panel(
            timeseries(
                "日处理率 · Daily treatment rate",
                TREATMENT_BY_DAY,
                "percent",
                description="Treated ÷ (treated + bypass/overflow) per local day; an"
                " engineering proxy of the official 污水处理率.",
                span=14,
                limit=below_target(TREATMENT_RATE_PCT),
            )
        )
        .with_panel(table("月处理率 · Monthly treatment rate", TREATMENT_BY_MONTH, span=10))
        .with_row(dash_b.Row(f"出水水质 Effluent quality ({gb18918.EDITION} {CLASS})"))
    )
    for measure, title, limit in EFFLUENT:
        board = board.with_panel(
            timeseries(
                title,
                series_sql("wastewater_reading", measure, devices=PLANTS),
                "suffix: mg/L",
                span=8,
                limit=above_target(limit),
            )
        )
    board = board.with_panel(
        timeseries(
            f"出水 pH · Effluent pH ({PH_LOW:g}–{PH_HIGH:g})",
            series_sql("wastewater_reading", "effluent_ph", devices=PLANTS),
            "none",
            span=8,
            limit=thresholds((None, "red"), (PH_LOW, "green"), (PH_HIGH, "red")),
        )
    )
    return (
        board.with_row(dash_b.Row("溢流事件 Bypass events"))
        .with_panel(table("溢流事件 · Hours with bypass or overflow", BYPASS_EVENTS))
        .with_row(dash_b.Row("数据标记 Data flags"))
        .with_panel(flagged_values("wastewater_reading", PLANTS))
        .build()
    )
