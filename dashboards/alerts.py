"""Alerts: history, time to acknowledge, counts by rule and by receiver."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.models import dashboard as dash_m

from dashboards._panels import bars, new_dashboard, stat, table, thresholds, timeseries
from ingest.feeds import FEED_NAMES

UID = "liudong-alerts"
FILTER = (
    "a.feed IN ($feed) AND a.severity IN ($severity)"
    " AND coalesce(a.fired_at, a.started_at) <= $__timeTo()"
    " AND coalesce(a.resolved_at, now()) >= $__timeFrom()"
)
HISTORY = f"""
SELECT a.id AS "#", a.fired_at AS "触发 Fired", a.feed AS "类别 Feed", a.rule_id AS "规则 Rule",
       a.subject_name_zh AS "对象 Subject", a.severity AS "级别 Severity", a.state AS "状态 State",
       a.value AS "值 Value", a.acknowledged_by AS "确认人 Acknowledged by",
       a.acknowledged_at AS "确认 Acknowledged", a.resolved_at AS "解除 Resolved"
  FROM alert a
 WHERE {FILTER}
 ORDER BY coalesce(a.fired_at, a.started_at) DESC LIMIT 500
"""
ACK_MEDIAN = f"""
SELECT percentile_cont(0.5) WITHIN GROUP
         (ORDER BY extract(epoch FROM a.acknowledged_at - a.fired_at)) AS "median s"
  FROM alert a
 WHERE {FILTER} AND a.acknowledged_at IS NOT NULL AND a.fired_at IS NOT NULL
"""
ACK_BY_DAY = f"""
SELECT $__timeGroupAlias(a.fired_at, 1d), a.feed AS metric,
       avg(extract(epoch FROM a.acknowledged_at - a.fired_at)) AS value
  FROM alert a
 WHERE {FILTER} AND a.acknowledged_at IS NOT NULL AND a.fired_at IS NOT NULL
 GROUP BY 1, 2 ORDER BY 1, 2
"""
OPEN_NOW = """
SELECT count(*) AS "open"
  FROM alert a
 WHERE a.feed IN ($feed) AND a.severity IN ($severity) AND a.state IN ('firing', 'acknowledged')
"""
BY_RULE = f"""
SELECT a.rule_id AS "rule", count(*) AS "alerts"
  FROM alert a WHERE {FILTER} AND a.fired_at IS NOT NULL
 GROUP BY 1 ORDER BY 2 DESC LIMIT 40
"""
BY_RECEIVER = f"""
SELECT n.receiver AS "receiver", count(*) FILTER (WHERE n.state = 'sent') AS "sent",
       count(*) FILTER (WHERE n.state = 'pending') AS "waiting",
       count(*) FILTER (WHERE n.state = 'no_channel') AS "no channel",
       count(*) FILTER (WHERE n.state = 'failed') AS "failed",
       count(*) FILTER (WHERE n.state = 'silenced') AS "silenced"
  FROM notification n JOIN alert a ON a.id = n.alert_id
 WHERE {FILTER}
 GROUP BY 1 ORDER BY 2 DESC
"""
FIRED_BY_DAY = f"""
SELECT $__timeGroupAlias(a.fired_at, 1d), a.severity AS metric, count(*)::double precision AS value
  FROM alert a WHERE {FILTER} AND a.fired_at IS NOT NULL
 GROUP BY 1, 2 ORDER BY 1, 2
"""


def _custom(name: str, label: str, values: tuple[str, ...]) -> dash_b.CustomVariable:
    return (
        dash_b.CustomVariable(name)
        .label(label)
        .values(",".join(values))
        .multi(True)
        .include_all(True)
        .current(dash_m.VariableOption(selected=True, text="All", value="$__all"))
    )


def build() -> dash_m.Dashboard:
    return (
        new_dashboard(
            UID,
            "告警",
            "Alerts",
            "Every alert of the rule service: history, time to acknowledge, counts by rule,"
            " and what each receiver was sent.",
        )
        .time("now-7d", "now")
        .with_variable(_custom("feed", "类别 Feed", FEED_NAMES))
        .with_variable(
            _custom("severity", "级别 Severity", ("critical", "major", "minor", "warning"))
        )
        .with_panel(
            stat(
                "当前告警 · Open alerts",
                OPEN_NOW,
                "short",
                colours=thresholds((None, "green"), (1, "orange")),
            )
        )
        .with_panel(stat("确认用时中位数 · Median time to acknowledge", ACK_MEDIAN, "s"))
        .with_panel(timeseries("每日告警 · Alerts fired per day", FIRED_BY_DAY, "short", span=12))
        .with_panel(table("告警记录 · Alert history", HISTORY))
        .with_panel(
            timeseries("确认用时 · Time to acknowledge (daily mean)", ACK_BY_DAY, "s", span=12)
        )
        .with_panel(bars("按规则 · Alerts by rule", BY_RULE, "short", span=12))
        .with_panel(table("按接收方 · Notifications by receiver", BY_RECEIVER))
        .build()
    )
