"""District overview: the 2025 targets at a glance, every device on a map, open alerts."""

from __future__ import annotations

from grafana_foundation_sdk.models import dashboard as dash_m

from dashboards._panels import (
    AQI_LEVELS,
    above_target,
    area_variable,
    bars,
    below_target,
    device_map,
    new_dashboard,
    stat,
    table,
    thresholds,
)
from services.standards.targets import (
    INTERSECTIONS_PLANNED,
    LEAKAGE_DEFAULT_PCT,
    RSU_ONLINE_PCT,
    TREATMENT_RATE_PCT,
)

UID = "liudong-overview"
MONTH_START = "date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai'"
TREATMENT_MONTH = f"""
SELECT 100 * sum(treated_m3) / nullif(sum(treated_m3) + sum(bypass_m3), 0) AS "district"
  FROM kpi_treatment_daily WHERE bucket >= {MONTH_START}
"""
AQI_NOW = """
SELECT d.name_zh AS "station", a.aqi::double precision AS "AQI"
  FROM (SELECT DISTINCT ON (device_id) device_id, aqi FROM air_aqi_hourly
         WHERE hour > now() - interval '3 hours' ORDER BY device_id, hour DESC) a
  JOIN device d USING (device_id)
 WHERE d.area IN ($area)
 ORDER BY 1
"""
LEAKAGE_MONTH = f"""
SELECT d.name_zh AS "DMA",
       100 * (sum(k.supplied_m3) - sum(k.billed_m3)) / nullif(sum(k.supplied_m3), 0) AS "%"
  FROM kpi_leakage_daily k JOIN device d ON d.device_id = k.dma_id
 WHERE k.bucket >= {MONTH_START} AND k.bills > 0 AND d.area IN ($area)
 GROUP BY 1 ORDER BY 1
"""
# RSUs whose newest heartbeat is under 60 s old and says online (the v2x-rsu-offline rule).
ONLINE_RSUS = """
SELECT d.device_id, d.parent_id
  FROM device d
  JOIN device_latest l ON l.device_id = d.device_id AND l.table_name = 'rsu_heartbeat'
  JOIN rsu_heartbeat h ON h.device_id = l.device_id AND h.ts = l.ts
 WHERE d.device_type = 'rsu' AND d.retired_at IS NULL AND h.online
   AND l.ts > now() - interval '60 seconds'
"""
RSU_RATE = f"""
SELECT 100.0 * (SELECT count(*) FROM ({ONLINE_RSUS}) o)
       / nullif((SELECT count(*) FROM device WHERE device_type = 'rsu' AND retired_at IS NULL), 0)
       AS "online %"
"""
INTERSECTIONS = f"""
SELECT count(DISTINCT o.parent_id) AS "covered", {INTERSECTIONS_PLANNED} AS "planned"
  FROM ({ONLINE_RSUS}) o
"""
# How long a device may be silent before the map shows it as stale: its reporting rhythm.
STALE_AFTER = (
    "CASE d.device_type WHEN 'rsu' THEN interval '60 seconds'"
    " WHEN 'leak_logger' THEN interval '2 days' ELSE interval '1 hour' END"
)
DEVICE_STATUS = f"""
SELECT d.device_id, d.name_zh, d.feed, d.lat AS latitude, d.lon AS longitude,
       CASE WHEN EXISTS (SELECT 1 FROM alert a WHERE a.subject = d.device_id
                          AND a.state IN ('firing', 'acknowledged')) THEN 2
            WHEN l.ts IS NULL OR l.ts < now() - {STALE_AFTER} THEN 1
            ELSE 0 END AS status
  FROM device d
  LEFT JOIN (SELECT device_id, max(ts) AS ts FROM device_latest GROUP BY 1) l USING (device_id)
 WHERE d.retired_at IS NULL AND d.device_type <> 'dma' AND d.area IN ($area)
"""
OPEN_ALERTS = """
SELECT a.fired_at AS "触发 Fired", a.feed AS "类别 Feed", a.subject_name_zh AS "对象 Subject",
       a.rule_id AS "规则 Rule", a.severity AS "级别 Severity", a.state AS "状态 State",
       a.value AS "值 Value"
  FROM alert a
 WHERE a.state IN ('firing', 'acknowledged') AND (a.area IS NULL OR a.area IN ($area))
 ORDER BY a.fired_at DESC NULLS LAST LIMIT 200
"""


def build() -> dash_m.Dashboard:
    return (
        new_dashboard(
            UID,
            "柳东新区智慧环保总览",
            "Liudong smart-environment overview",
            f"The district's 2025 targets (treatment rate ≥ {TREATMENT_RATE_PCT:g} %, leakage"
            f" ≤ its target, RSUs online ≥ {RSU_ONLINE_PCT:g} % over {INTERSECTIONS_PLANNED}"
            " intersections), the stations' AQI now in the"
            " HJ 633 colours, every device on the map and the open alerts.",
        )
        .with_variable(area_variable())
        .with_panel(
            stat(
                "污水处理率（本月）· Treatment rate, month",
                TREATMENT_MONTH,
                "percent",
                colours=below_target(TREATMENT_RATE_PCT),
                span=6,
            )
        )
        .with_panel(
            stat(
                "RSU 在线率 · RSUs online",
                RSU_RATE,
                "percent",
                colours=below_target(RSU_ONLINE_PCT),
                span=6,
            )
        )
        .with_panel(
            stat(
                f"路口覆盖 · Intersections covered (of {INTERSECTIONS_PLANNED})",
                INTERSECTIONS,
                "short",
                colours=thresholds((None, "blue")),
                span=12,
            )
        )
        .with_panel(
            bars(
                "AQI（当前小时）· AQI now",
                AQI_NOW,
                "none",
                colours=thresholds(*AQI_LEVELS),
                span=12,
            )
        )
        .with_panel(
            bars(
                "分区漏损率（本月）· DMA leakage, month",
                LEAKAGE_MONTH,
                "percent",
                colours=above_target(LEAKAGE_DEFAULT_PCT),
                span=12,
            )
        )
        .with_panel(
            device_map(
                "设备状态 · Devices (green reporting, orange silent, red alert)",
                DEVICE_STATUS,
                span=12,
            )
        )
        .with_panel(table("当前告警 · Open alerts", OPEN_ALERTS, span=12))
        .build()
    )
