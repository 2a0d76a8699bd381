"""The PostgreSQL datasource's query, which the Grafana Foundation SDK has no model for.

``SqlQuery`` is a dataquery variant registered with the SDK's runtime, so dashboards
read back with ``Dashboard.from_json`` get their targets as ``SqlQuery`` again.
``series_sql`` writes the interval-aware query every long-range time series uses: raw
rows while Grafana's interval is under an hour (or a lower bound given), the hourly rollup
up to a day, the daily rollup beyond — the branches not taken are constant-false and
PostgreSQL never scans them, so a 90-day panel (an interval of about two hours) reads
the hourly rollup, never raw rows. ``flagged_sql`` lists the values instruments flagged
(HJ 212-2017 Table 8) in the range: stored and drawn, but left out of compliance figures.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants

from ingest.feeds import DATA_FLAGS, VALID_FLAG

DATASOURCE_TYPE = "grafana-postgresql-datasource"
DATASOURCE_UID = "envmon-postgres"
Format = Literal["time_series", "table"]
HOUR_MS = 3_600_000
DAY_MS = 86_400_000


class SqlQuery(cogvariants.Dataquery):
    """One raw-SQL target of the PostgreSQL datasource (code mode)."""

    def __init__(self, ref_id: str = "A", raw_sql: str = "", fmt: Format = "table") -> None:
        self.ref_id = ref_id
        self.raw_sql = raw_sql
        self.format = fmt

    def to_json(self) -> dict[str, object]:
        return {
            "refId": self.ref_id,
            "datasource": {"type": DATASOURCE_TYPE, "uid": DATASOURCE_UID},
            "editorMode": "code",
            "format": self.format,
            "rawQuery": True,
            "rawSql": self.raw_sql,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(str(data.get("refId", "A")), str(data["rawSql"]), data.get("format", "table"))


cogruntime.Runtime().register_dataquery_variant(
    cogruntime.DataqueryConfig(identifier=DATASOURCE_TYPE, from_json_hook=SqlQuery.from_json)
)


class Sql(cogbuilder.Builder[SqlQuery]):
    def __init__(self, raw_sql: str, fmt: Format = "table", ref_id: str = "A") -> None:
        self._query = SqlQuery(ref_id, " ".join(raw_sql.split()), fmt)

    def build(self) -> SqlQuery:
        return self._query


def series_sql(
    table: str, measure: str, *, devices: str, label: str = "d.name_zh", raw_below_ms: int = HOUR_MS
) -> str:
    """Per-device time series of ``measure``, from the raw table or its rollups by interval.

    ``devices`` is a condition on ``d`` (the device row), e.g. ``d.device_id IN ($device)``.
    Raw rows are read while the interval is under ``raw_below_ms`` (lower it for feeds
    with many devices or frequent rows).
    """
    branches = [
        (f"{table}", "ts", f"avg(t.{measure})", f"$__interval_ms < {raw_below_ms}"),
        (
            f"{table}_hourly",
            "bucket",
            f"sum(t.{measure}_avg * t.{measure}_n) / nullif(sum(t.{measure}_n), 0)",
            f"$__interval_ms >= {raw_below_ms} AND $__interval_ms < {DAY_MS}",
        ),
        (
            f"{table}_daily",
            "bucket",
            f"sum(t.{measure}_avg * t.{measure}_n) / nullif(sum(t.{measure}_n), 0)",
            f"$__interval_ms >= {DAY_MS}",
        ),
    ]
    parts = [
        f"SELECT $__timeGroupAlias(t.{col}, $__interval), {label} AS metric,"
        f" {value} AS value"
        f" FROM {source} t JOIN device d USING (device_id)"
        f" WHERE {guard} AND {devices} AND $__timeFilter(t.{col}) GROUP BY 1, 2"
        for source, col, value, guard in branches
    ]
    return " UNION ALL ".join(parts) + " ORDER BY 1, 2"


FLAGGED_TITLE = "标记数据 · Flagged values (not N)"
FLAGGED_HELP = (
    "Values an instrument flagged (calibration, maintenance, fault, …; HJ 212-2017 Table 8)."
    " They are stored and drawn, but the compliance figures — daily means, AQI, treatment"
    " rate, data validity — leave them out."
)
FLAG_NAMES_ZH = {
    "F": "停运",
    "M": "维护",
    "S": "手工输入",
    "D": "故障",
    "C": "校准",
    "T": "超量程",
    "B": "通讯异常",
}


def flagged_sql(table: str, *, devices: str) -> str:
    """Per device, field and flag other than N: how many values, first and last, in the range."""
    meaning = " ".join(
        f"WHEN '{flag}' THEN '{FLAG_NAMES_ZH[flag]} {text}'"
        for flag, text in DATA_FLAGS.items()
        if flag != VALID_FLAG
    )
    return f"""
SELECT d.name_zh AS "站点 Site", f.key AS "指标 Field", f.value AS "标记 Flag",
       CASE f.value {meaning} ELSE f.value END AS "含义 Meaning",
       count(*) AS "读数 Values", min(t.ts) AS "首次 First", max(t.ts) AS "最近 Last"
  FROM {table} t JOIN device d USING (device_id), jsonb_each_text(t.flags) f
 WHERE {devices} AND $__timeFilter(t.ts) AND t.flags IS NOT NULL AND f.value <> '{VALID_FLAG}'
 GROUP BY 1, 2, 3, 4 ORDER BY 7 DESC LIMIT 200
"""
