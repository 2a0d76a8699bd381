"""C-V2X: RSU online state per intersection, heartbeat gaps, message counters, road events."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.models import dashboard as dash_m

from dashboards._panels import (
    alert_annotations,
    area_variable,
    below_target,
    device_variable,
    new_dashboard,
    state_timeline,
    table,
    timeseries,
)
from services.standards.targets import RSU_ONLINE_PCT

UID = "liudong-v2x"
# The variable holds intersections; an alert link may carry one RSU instead. From the
# rollups, an RSU's online share counts its missing heartbeats as offline.
RSUS = "(d.parent_id IN ($device) OR d.device_id IN ($device))"
# 1,600 RSUs send a heartbeat every 10 s: raw rows only for ranges of about an hour.
RAW_BELOW_MS = 10_000
HEARTBEATS_PER_HOUR = 360
ONLINE_BY_INTERSECTION = f"""
SELECT s.time, i.name_zh AS metric, avg(s.online) AS value
  FROM (SELECT $__timeGroup(t.ts, $__interval) AS time, d.parent_id, avg(t.online::int) AS online
          FROM rsu_heartbeat t JOIN device d USING (device_id)
         WHERE $__interval_ms < {RAW_BELOW_MS} AND {RSUS} AND $__timeFilter(t.ts)
         GROUP BY 1, 2
        UNION ALL
        SELECT $__timeGroup(h.bucket, $__interval) AS time, d.parent_id,
               least(1, sum(h.online_ratio * h.n)
                 / ({HEARTBEATS_PER_HOUR} * greatest($__interval_ms / 3600000.0, 1)))
          FROM rsu_heartbeat_hourly h JOIN device d USING (device_id)
         WHERE $__interval_ms >= {RAW_BELOW_MS} AND {RSUS} AND $__timeFilter(h.bucket)
         GROUP BY 1, 2, h.device_id) s
  JOIN intersection i ON i.intersection_id = s.parent_id
 GROUP BY 1, 2 ORDER BY 1, 2
"""
# Hourly: the share of the district's expected heartbeats that said "online" (a silent
# RSU counts as offline).
DISTRICT_ONLINE = f"""
SELECT $__timeGroupAlias(h.bucket, 1h), '全区 District' AS metric,
       100 * sum(h.online_ratio * h.n) / ({HEARTBEATS_PER_HOUR} * (SELECT count(*) FROM device
         WHERE device_type = 'rsu' AND retired_at IS NULL)) AS value
  FROM rsu_heartbeat_hourly h
 WHERE $__timeFilter(h.bucket)
 GROUP BY 1, 2 ORDER BY 1
"""
MISSING_HEARTBEATS = f"""
SELECT $__timeGroupAlias(h.bucket, 1h), i.name_zh AS metric,
       sum(greatest({HEARTBEATS_PER_HOUR} - h.n, 0)) AS value
  FROM rsu_heartbeat_hourly h JOIN device d USING (device_id)
  JOIN intersection i ON i.intersection_id = d.parent_id
 WHERE {RSUS} AND $__timeFilter(h.bucket)
 GROUP BY 1, 2 HAVING sum(greatest({HEARTBEATS_PER_HOUR} - h.n, 0)) > 0 ORDER BY 1, 2
"""
SILENT_NOW = f"""
SELECT d.device_id AS "RSU", i.name_zh AS "路口 Intersection", l.ts AS "最后心跳 Last heartbeat",
       round(extract(epoch FROM now() - l.ts)) AS "静默秒 Silent s"
  FROM device d JOIN intersection i ON i.intersection_id = d.parent_id
  LEFT JOIN device_latest l ON l.device_id = d.device_id AND l.table_name = 'rsu_heartbeat'
 WHERE d.device_type = 'rsu' AND d.retired_at IS NULL AND {RSUS}
   AND (l.ts IS NULL OR l.ts < now() - interval '60 seconds')
 ORDER BY l.ts NULLS FIRST LIMIT 200
"""
COUNTERS = f"""
SELECT $__timeGroupAlias(c.bucket, 1h), m.kind AS metric, sum(m.n) AS value
  FROM rsu_counters_hourly c JOIN device d USING (device_id)
  CROSS JOIN LATERAL (VALUES ('BSM rx', c.bsm_rx_sum), ('MAP tx', c.map_tx_sum),
                             ('SPAT tx', c.spat_tx_sum), ('RSI tx', c.rsi_tx_sum),
                             ('RSM tx', c.rsm_tx_sum)) AS m(kind, n)
 WHERE {RSUS} AND $__timeFilter(c.bucket)
 GROUP BY 1, 2 ORDER BY 1, 2
"""
ROAD_EVENTS = f"""
SELECT e.start_ts AS "开始 Start", e.end_ts AS "结束 End", i.name_zh AS "路口 Intersection",
       e.msg_type AS "消息 Message", e.event_type AS "事件 Event", e.device_id AS "RSU"
  FROM road_event e JOIN device d USING (device_id)
  JOIN intersection i ON i.intersection_id = d.parent_id
 WHERE {RSUS} AND $__timeFilter(e.ts)
 ORDER BY e.start_ts DESC LIMIT 500
"""


def build() -> dash_m.Dashboard:
    return (
        new_dashboard(
            UID,
            "车联网路侧单元",
            "C-V2X roadside units",
            f"RSU online state per intersection, the district online rate against"
            f" {RSU_ONLINE_PCT:g} %,"
            " heartbeat gaps, PC5 message counters and the road events the RSUs broadcast.",
        )
        .with_variable(area_variable())
        .with_variable(
            device_variable(
                "路口 Intersection",
                "SELECT intersection_id AS __value, name_zh AS __text FROM intersection"
                " WHERE area IN ($area) ORDER BY intersection_id",
            )
        )
        .annotation(alert_annotations("v2x"))
        .with_row(dash_b.Row("在线 Online"))
        .with_panel(
            state_timeline("路口 RSU 在线 · RSUs online per intersection", ONLINE_BY_INTERSECTION)
        )
        .with_panel(
            timeseries(
                "全区在线率 · District online rate",
                DISTRICT_ONLINE,
                "percent",
                span=12,
                limit=below_target(RSU_ONLINE_PCT),
            )
        )
        .with_panel(
            timeseries("心跳缺失 · Missing heartbeats per hour", MISSING_HEARTBEATS, "short")
        )
        .with_panel(table("当前离线 · RSUs silent for more than 60 s", SILENT_NOW))
        .with_row(dash_b.Row("消息 Messages"))
        .with_panel(timeseries("PC5 消息计数 · PC5 message counts per hour", COUNTERS, "short"))
        .with_panel(table("道路事件 · Road events (RSI/RSM)", ROAD_EVENTS))
        .build()
    )
