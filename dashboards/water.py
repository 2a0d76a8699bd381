"""Water network: DMA inflow with its night minimum, leakage against target, loggers, pressure."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.models import dashboard as dash_m

from dashboards._panels import (
    above_target,
    alert_annotations,
    area_variable,
    bars,
    device_map,
    new_dashboard,
    registry_variable,
    timeseries,
)
from dashboards.sql import series_sql
from services.standards.targets import LEAKAGE_DEFAULT_PCT

UID = "liudong-water"
# Inlet meters and pressure points belong to the chosen DMAs.
MEMBERS = "d.parent_id IN ($device)"
# A DMA's inflow is the sum of its inlet meters: each meter's mean per time group, summed.
DMA_INFLOW = """
SELECT f.g AS time, p.name_zh AS metric, sum(f.flow) AS value
  FROM (SELECT $__timeGroup(t.ts, $__interval) AS g, d.parent_id, t.device_id,
               avg(t.flow_m3h) AS flow
          FROM water_inlet_flow t JOIN device d USING (device_id)
         WHERE $__interval_ms < 3600000 AND d.parent_id IN ($device) AND $__timeFilter(t.ts)
         GROUP BY 1, 2, 3
        UNION ALL
        SELECT $__timeGroup(h.bucket, $__interval) AS g, d.parent_id, h.device_id,
               sum(h.flow_m3h_avg * h.flow_m3h_n) / nullif(sum(h.flow_m3h_n), 0)
          FROM water_inlet_flow_hourly h JOIN device d USING (device_id)
         WHERE $__interval_ms >= 3600000 AND d.parent_id IN ($device)
           AND $__timeFilter(h.bucket)
         GROUP BY 1, 2, 3) f
  JOIN device p ON p.device_id = f.parent_id
 GROUP BY 1, 2 ORDER BY 1, 2
"""
# The minimum night flow (02:00–04:00 local) of each DMA per night: the leak indicator
# the night-flow rule compares with its 7-night baseline.
NIGHT_MINIMUM = """
WITH minutes AS (
    SELECT date_trunc('minute', t.ts) AS minute, d.parent_id, sum(t.flow_m3h) AS flow
      FROM water_inlet_flow t JOIN device d USING (device_id)
     WHERE d.parent_id IN ($device) AND $__timeFilter(t.ts)
       AND extract(hour FROM t.ts AT TIME ZONE 'Asia/Shanghai') >= 2
       AND extract(hour FROM t.ts AT TIME ZONE 'Asia/Shanghai') < 4
     GROUP BY 1, 2
)
SELECT date_trunc('day', m.minute AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai'
         + interval '3 hours' AS time,
       p.name_zh || ' 夜间最小流量 MNF' AS metric, min(m.flow) AS value
  FROM minutes m JOIN device p ON p.device_id = m.parent_id
 GROUP BY 1, 2 ORDER BY 1, 2
"""
LEAKAGE_BY_DMA = """
SELECT d.name_zh AS "分区 DMA",
       100 * (sum(k.supplied_m3) - sum(k.billed_m3)) / nullif(sum(k.supplied_m3), 0) AS "漏损率 %"
  FROM kpi_leakage_daily k JOIN device d ON d.device_id = k.dma_id
 WHERE k.dma_id IN ($device) AND k.bills > 0 AND $__timeFilter(k.bucket)
 GROUP BY 1 ORDER BY 1
"""
LEAKAGE_BY_DAY = """
SELECT $__timeGroupAlias(k.bucket, 1d), d.name_zh AS metric,
       100 * (sum(k.supplied_m3) - sum(k.billed_m3)) / nullif(sum(k.supplied_m3), 0) AS value
  FROM kpi_leakage_daily k JOIN device d ON d.device_id = k.dma_id
 WHERE k.dma_id IN ($device) AND k.bills > 0 AND $__timeFilter(k.bucket)
 GROUP BY 1, 2 ORDER BY 1, 2
"""
# Each logger at its place; status 2 when it flagged a leak in the range, 1 when it has
# been silent for a day, else 0.
LOGGER_MAP = """
SELECT d.device_id, d.name_zh, d.lat AS latitude, d.lon AS longitude,
       CASE WHEN bool_or(r.leak_flag) THEN 2
            WHEN max(r.ts) IS NULL OR max(r.ts) < now() - interval '1 day' THEN 1
            ELSE 0 END AS status,
       max(r.noise_db) AS "noise dB"
  FROM device d
  LEFT JOIN leak_logger_reading r ON r.device_id = d.device_id AND $__timeFilter(r.ts)
 WHERE d.device_type = 'leak_logger' AND d.parent_id IN ($device) AND d.retired_at IS NULL
 GROUP BY d.device_id, d.name_zh, d.lat, d.lon
"""


def build() -> dash_m.Dashboard:
    return (
        new_dashboard(
            UID,
            "供水管网",
            "Water network",
            "DMA inflow with its minimum night flow, the CJJ 92-2016 comprehensive leakage"
            f" rate per DMA against its target (default {LEAKAGE_DEFAULT_PCT:g} %), acoustic"
            " loggers and pressure.",
        )
        .with_variable(area_variable())
        .with_variable(registry_variable("计量分区 DMA", "device_type = 'dma'"))
        .annotation(alert_annotations("water"))
        .with_row(dash_b.Row("流量 Inflow"))
        .with_panel(timeseries("分区进水流量 · DMA inflow", DMA_INFLOW, "suffix: m³/h", span=14))
        .with_panel(
            timeseries(
                "夜间最小流量 · Minimum night flow (02:00–04:00)",
                NIGHT_MINIMUM,
                "suffix: m³/h",
                span=10,
            )
        )
        .with_row(dash_b.Row("漏损 Leakage (CJJ 92-2016)"))
        .with_panel(
            bars(
                "分区漏损率 · Leakage rate by DMA (range)",
                LEAKAGE_BY_DMA,
                "percent",
                span=10,
                colours=above_target(LEAKAGE_DEFAULT_PCT),
            )
        )
        .with_panel(
            timeseries(
                "日漏损率 · Daily leakage rate",
                LEAKAGE_BY_DAY,
                "percent",
                span=14,
                limit=above_target(LEAKAGE_DEFAULT_PCT),
            )
        )
        .with_row(dash_b.Row("听漏仪与压力 Loggers and pressure"))
        .with_panel(device_map("听漏仪 · Acoustic loggers", LOGGER_MAP, span=10))
        .with_panel(
            timeseries(
                "管网压力 · Network pressure",
                series_sql("water_pressure", "pressure_kpa", devices=MEMBERS),
                "pressurekpa",
                span=14,
            )
        )
        .build()
    )
