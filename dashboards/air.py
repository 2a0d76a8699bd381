"""Air quality: hourly pollutants per station, the AQI calendar, PM2.5 against GB 3095."""

from __future__ import annotations

from itertools import pairwise

from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.builders import heatmap as heatmap_b
from grafana_foundation_sdk.models import dashboard as dash_m
from grafana_foundation_sdk.models import heatmap as heatmap_m

from dashboards._panels import (
    AQI_LEVELS,
    DS,
    alert_annotations,
    area_variable,
    flagged_values,
    new_dashboard,
    registry_variable,
    table,
    thresholds,
    timeseries,
)
from dashboards.sql import Sql, series_sql
from services.standards import gb3095

UID = "liudong-air"
STATIONS = "d.device_id IN ($device)"
GRADE = gb3095.DISTRICT_GRADE
POLLUTANTS = (
    ("pm25_ugm3", "PM2.5", "suffix: µg/m³"),
    ("pm10_ugm3", "PM10", "suffix: µg/m³"),
    ("o3_ugm3", "O3", "suffix: µg/m³"),
    ("no2_ugm3", "NO2", "suffix: µg/m³"),
    ("so2_ugm3", "SO2", "suffix: µg/m³"),
    ("co_mgm3", "CO", "suffix: mg/m³"),
)


def limit_sql(pollutant: gb3095.Pollutant, averaging: gb3095.Averaging) -> str:
    """A SQL expression of the district's GB 3095 limit in force on ``{day}`` (a local date)."""
    limits = gb3095.limits_by_date(pollutant, averaging)[::-1]  # oldest first
    cases = [
        f"WHEN {{day}} < '{new.valid_from}' THEN {old.threshold:g}" for old, new in pairwise(limits)
    ]
    return f"CASE {' '.join(cases)} ELSE {limits[-1].threshold:g} END"


# The PM2.5 24-h limit in force on each day, by edition and phase.
PM25_LIMIT = limit_sql("pm25", "24h")
DAILY_PM25 = f"""
SELECT $__timeGroupAlias(r.bucket, 1d), d.name_zh AS metric,
       sum(r.pm25_ugm3_avg * r.pm25_ugm3_n) / nullif(sum(r.pm25_ugm3_n), 0) AS value
  FROM air_reading_daily r JOIN device d USING (device_id)
 WHERE {STATIONS} AND $__timeFilter(r.bucket)
 GROUP BY 1, 2
UNION ALL
SELECT $__timeGroupAlias(r.bucket, 1d), '限值 Limit (GB 3095 Grade {GRADE})' AS metric,
       min({PM25_LIMIT.format(day="(r.bucket AT TIME ZONE 'Asia/Shanghai')::date")})
  FROM air_reading_daily r
 WHERE $__timeFilter(r.bucket)
 GROUP BY 1, 2
 ORDER BY 1, 2
"""
AQI_HOURLY = f"""
SELECT a.hour AS time, d.name_zh AS metric, a.aqi::double precision AS value
  FROM air_aqi_hourly a JOIN device d USING (device_id)
 WHERE {STATIONS} AND $__timeFilter(a.hour)
 ORDER BY 1, 2
"""
# Days of a station's PM2.5 24-h mean above the limit of its date, per local month
# (a day counts when it has 20 valid hours, GB 3095 Table 4).
EXCEEDANCE_DAYS = f"""
WITH hours AS (
    SELECT device_id, date_trunc('day', bucket AT TIME ZONE 'Asia/Shanghai')::date AS day,
           pm25_ugm3_avg AS mean
      FROM air_reading_hourly
     WHERE pm25_ugm3_n >= 45 AND $__timeFilter(bucket) AND device_id IN ($device)
), days AS (
    SELECT device_id, day, avg(mean) AS mean FROM hours GROUP BY 1, 2 HAVING count(*) >= 20
)
SELECT d.name_zh AS "站点 Station", to_char(x.day, 'YYYY-MM') AS "月 Month",
       count(*) FILTER (WHERE x.mean > {PM25_LIMIT.format(day="x.day")}) AS "超标天数 Days over",
       count(*) AS "有效天数 Valid days"
  FROM days x JOIN device d USING (device_id)
 GROUP BY 1, 2 ORDER BY 2 DESC, 1
"""
AQI_CALENDAR = f"""
SELECT date_trunc('day', a.hour AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai' AS time,
       max(a.aqi)::double precision AS "AQI"
  FROM air_aqi_hourly a JOIN device d USING (device_id)
 WHERE {STATIONS} AND $__timeFilter(a.hour)
 GROUP BY 1 ORDER BY 1
"""


def _aqi_calendar() -> heatmap_b.Panel:
    """Each local day's highest hourly AQI across the chosen stations, in HJ 633 colours."""
    return (
        heatmap_b.Panel()
        .title("AQI 日历 · AQI calendar (daily max of hourly AQI)")
        .datasource(DS)
        .with_target(Sql(AQI_CALENDAR, "time_series"))
        .span(24)
        .height(7)
        .calculate(False)
        .thresholds(thresholds(*AQI_LEVELS))
        .color(
            heatmap_b.HeatmapColorOptions()
            .mode(heatmap_m.HeatmapColorMode.SCHEME)
            .scheme("RdYlGn")
            .reverse(True)
        )
    )


def build() -> dash_m.Dashboard:
    board = (
        new_dashboard(
            UID,
            "空气质量",
            "Air quality",
            "Hourly pollutants per station, the hourly AQI (HJ 633, edition by date) in its"
            " level colours, PM2.5 24-h means against the GB 3095 Grade"
            f" {GRADE} limit in force, and exceedance days per month.",
        )
        .with_variable(area_variable())
        .with_variable(registry_variable("监测站 Station", "feed = 'air'"))
        .annotation(alert_annotations("air"))
        .with_row(dash_b.Row("AQI"))
        .with_panel(
            timeseries(
                "小时 AQI · Hourly AQI",
                AQI_HOURLY,
                "none",
                span=24,
                limit=thresholds(*AQI_LEVELS),
            )
        )
        .with_panel(_aqi_calendar())
        .with_row(dash_b.Row("污染物 Pollutants (hourly means)"))
    )
    for measure, name, unit in POLLUTANTS:
        board = board.with_panel(
            timeseries(name, series_sql("air_reading", measure, devices=STATIONS), unit, span=8)
        )
    return (
        board.with_row(dash_b.Row(f"达标 Compliance (GB 3095 Grade {GRADE})"))
        .with_panel(
            timeseries(
                "PM2.5 日均值与限值 · PM2.5 24-h mean vs the limit in force",
                DAILY_PM25,
                "suffix: µg/m³",
                span=14,
            )
        )
        .with_panel(table("超标天数 · PM2.5 exceedance days per month", EXCEEDANCE_DAYS, span=10))
        .with_row(dash_b.Row("数据标记 Data flags"))
        .with_panel(flagged_values("air_reading", STATIONS))
        .build()
    )
