"""Wastewater: plant flows, the treatment rate against 95 %, effluent against GB 18918 1A."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.models import dashboard as dash_m

from dashboards._panels import (
    above_target,
    alert_annotations,
    area_variable,
    below_target,
    new_dashboard,
    registry_variable,
    table,
    thresholds,
    timeseries,
)
from dashboards.sql import series_sql
from services.targets import TREATMENT_RATE_PCT

UID = "liudong-wastewater"
PLANTS = "d.device_id IN ($device)"
# GB 18918-2002 class 1A daily maxima (mg/L); NH3-N is 8 when the water is at or below 12 °C.
EFFLUENT_1A = (
    ("effluent_cod_mgl", "出水 COD · Effluent COD", 50.0),
    ("effluent_nh3n_mgl", "出水氨氮 · Effluent NH3-N (1A: 5, ≤ 12 °C: 8)", 5.0),
    ("effluent_tn_mgl", "出水总氮 · Effluent TN", 15.0),
    ("effluent_tp_mgl", "出水总磷 · Effluent TP", 0.5),
    ("effluent_ss_mgl", "出水悬浮物 · Effluent SS", 10.0),
)
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
            " 2025 target of 95 %, and effluent quality against GB 18918-2002 class 1A.",
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
        board.with_row(dash_b.Row("处理率 Treatment rate (target ≥ 95 %)"))
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
        .with_row(dash_b.Row("出水水质 Effluent quality (GB 18918-2002 1A)"))
    )
    for measure, title, limit in EFFLUENT_1A:
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
            "出水 pH · Effluent pH (6–9)",
            series_sql("wastewater_reading", "effluent_ph", devices=PLANTS),
            "none",
            span=8,
            limit=thresholds((None, "red"), (6, "green"), (9, "red")),
        )
    )
    return (
        board.with_row(dash_b.Row("溢流事件 Bypass events"))
        .with_panel(table("溢流事件 · Hours with bypass or overflow", BYPASS_EVENTS))
        .build()
    )
