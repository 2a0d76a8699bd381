"""Every panel's SQL, expanded as Grafana expands it, against a database the simulators filled."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from dashboards.build import OUT_DIR
from dashboards.macros import expand
from envmon.replay import StoredReplay, subset
from ingest.registry import load_registry
from services.notify.routing import default_routing
from services.rules import alerting, default_pack, load_rules
from services.rules.types import Observation, Subject, Verdict
from services.standards.hj633 import hourly_aqi
from services.statistics.air import hourly_means, store_aqi
from simulators import DistrictSimulator
from tests.fixtures.servers import FLAVOURS, Database, flavour_url, fresh_database

pytestmark = [pytest.mark.database]
END = datetime.now(UTC).replace(second=0, microsecond=0)
START = END - timedelta(hours=30)
DEVICES = ["air-guantang", "air-hualing", "wwtp-guantang", "wwtp-pangu", "dma-01", "ix-001"]
NUMERIC = {"int2", "int4", "int8", "float4", "float8", "numeric"}
TIMES = {"timestamptz", "timestamp"}
TEXT = {"text", "varchar", "bpchar"}
# Grafana's interval for the range at a typical panel width, for each source branch.
INTERVALS = ("1m", "2h", "1d")


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    title: str
    panel_type: str
    fmt: str
    raw_sql: str


def _queries() -> list[PanelQuery]:
    out: list[PanelQuery] = []
    for path in sorted(OUT_DIR.glob("*.json")):
        board = json.loads(path.read_text(encoding="utf-8"))
        out.extend(
            PanelQuery(board["uid"], p["title"], p["type"], t["format"], t["rawSql"])
            for p in board["panels"]
            for t in p.get("targets", [])
        )
        for annotation in board["annotations"].get("list", []):
            target = annotation["target"]
            out.append(
                PanelQuery(
                    board["uid"], annotation["name"], "annotation", "table", target["rawSql"]
                )
            )
    return out


QUERIES = _queries()


def _variables(board_uid: str) -> list[dict[str, Any]]:
    board = json.loads((OUT_DIR / f"{board_uid}.json").read_text(encoding="utf-8"))
    return list(board["templating"]["list"])


@pytest.fixture(scope="module", params=FLAVOURS)
def filled(request: pytest.FixtureRequest) -> Iterator[Database]:
    """30 hours of two stations, two plants, a DMA and an intersection, with the hourly
    AQI stored and one alert firing."""
    registry = load_registry()
    with fresh_database(flavour_url(request, request.param), request.param) as db:
        sim = DistrictSimulator(subset(registry, DEVICES), 3, ("bypass",), 0.0)
        replay = StoredReplay(db.url, db.schema, registry, sim)
        replay.store(START, END)
        replay.close()
        db.refresh_rollups()
        with db.connect() as conn:
            hour = START.replace(minute=0)
            while hour < END:
                for device, conc in hourly_means(
                    conn, ["air-guantang", "air-hualing"], hour, 45
                ).items():
                    result = hourly_aqi(conc, hour)
                    if result is not None and result.aqi is not None:
                        store_aqi(conn, device, hour, result, conc)
                hour += timedelta(hours=1)
            rule = next(
                r for r in load_rules(default_pack(), registry) if r.id == "air-aqi-over-100"
            )
            subject = Subject("air-guantang", "官塘站", "Guantang", "guantang", ("air-guantang",))
            obs = Observation(
                "air-guantang", Verdict(END - timedelta(hours=3), END, True, False, 120.0), {}
            )
            alerting.open_alert(
                conn, alerting.Context(rule, subject, default_routing()), obs, END, "firing"
            )
            conn.commit()
        yield db


def _run(conn: psycopg.Connection[Any], query: str) -> tuple[list[tuple[str, str]], list[Any]]:
    cur = conn.execute(query.encode())
    assert cur.description is not None
    columns = []
    for col in cur.description:
        info = conn.adapters.types.get(col.type_code)
        columns.append((col.name, info.name if info else str(col.type_code)))
    return columns, cur.fetchall()


def _values_of(conn: psycopg.Connection[Any], board_uid: str, picked: dict[str, Any]) -> None:
    """Each variable's options, from its own query (as Grafana loads them), all selected."""
    for var in _variables(board_uid):
        if var["type"] == "custom":
            picked[var["name"]] = [v.strip() for v in var["query"].split(",")]
            continue
        sql = expand(var["query"], start=START, end=END, interval="1m", variables=picked)
        _, rows = _run(conn, sql)
        assert rows, f"{board_uid}: variable {var['name']} has no options"
        picked[var["name"]] = [str(r[0]) for r in rows]


def _check_columns(q: PanelQuery, columns: Sequence[tuple[str, str]]) -> None:
    names = [n for n, _ in columns]
    types = dict(columns)
    label = f"{q.dashboard} / {q.title}"
    if q.panel_type == "annotation":
        assert {"time", "timeend", "text", "tags"} <= set(names), label
        return
    if q.fmt == "time_series":
        assert "time" in names, label
        assert types["time"] in TIMES | NUMERIC, label
        values = [t for n, t in columns if n not in ("time", "metric")]
        assert values, label
        assert all(t in NUMERIC for t in values), f"{label}: {columns}"
        if "metric" in names:
            assert types["metric"] in TEXT, label
        return
    if q.panel_type == "geomap":
        assert types.get("latitude") in NUMERIC, label
        assert types.get("longitude") in NUMERIC, label
        assert types.get("status") in NUMERIC, label
        return
    if q.panel_type in ("stat", "bargauge"):
        assert any(t in NUMERIC for _, t in columns), f"{label}: {columns}"
        return
    assert columns, label


# Series drawn for reference whatever the devices chosen.
REFERENCE_SERIES = {"全区 District", "限值 Limit (GB 3095 Grade II)"}
# Panels over events the 30 simulated hours need not contain.
MAY_BE_EMPTY = {
    "当前离线 · RSUs silent for more than 60 s",
    "道路事件 · Road events (RSI/RSM)",
    "心跳缺失 · Missing heartbeats per hour",
    "确认用时中位数 · Median time to acknowledge",
    "确认用时 · Time to acknowledge (daily mean)",
    "按接收方 · Notifications by receiver",
    "日漏损率 · Daily leakage rate",
    "分区漏损率 · Leakage rate by DMA (range)",
    "分区漏损率（本月）· DMA leakage, month",
    "超标天数 · PM2.5 exceedance days per month",
    "标记数据 · Flagged values (not N)",  # the simulated MQTT devices flag nothing
}


@pytest.mark.parametrize("q", QUERIES, ids=[f"{q.dashboard}:{q.title}" for q in QUERIES])
def test_panel_query_runs_and_returns_the_columns_the_panel_expects(
    filled: Database, q: PanelQuery
) -> None:
    with filled.connect() as conn:
        picked: dict[str, Any] = {}
        _values_of(conn, q.dashboard, picked)
        got_rows = False
        for interval in INTERVALS:
            sql = expand(q.raw_sql, start=START, end=END, interval=interval, variables=picked)
            columns, rows = _run(conn, sql)
            _check_columns(q, columns)
            got_rows = got_rows or bool(rows)
        # The one alert fired is an air alert: other feeds' annotations may be empty.
        may_be_empty = q.title in MAY_BE_EMPTY or (
            q.panel_type == "annotation" and q.dashboard != "liudong-air"
        )
        assert got_rows or may_be_empty, f"{q.dashboard} / {q.title}: no rows"


@pytest.mark.parametrize("value", ["no-such-device", "x') OR ('1'='1", "x' OR '1'='1"])
def test_a_variable_value_that_matches_nothing_gives_an_empty_panel(
    filled: Database, value: str
) -> None:
    """Unknown values, and values that try to break out of Grafana's quoting, select
    nothing and raise no SQL error."""
    with filled.connect() as conn:
        for q in QUERIES:
            if "$device" not in q.raw_sql or q.panel_type == "geomap":
                continue
            picked: dict[str, Any] = {}
            _values_of(conn, q.dashboard, picked)
            picked["device"] = [value]
            sql = expand(q.raw_sql, start=START, end=END, interval="1m", variables=picked)
            _, rows = _run(conn, sql)
            series = [r for r in rows if not (len(r) > 1 and r[1] in REFERENCE_SERIES)]
            if q.fmt == "time_series":
                assert series == [] or all(v is None for r in series for v in r[2:]), q.title


def test_a_long_range_reads_the_rollups_and_never_a_raw_table(filled: Database) -> None:
    q = next(q for q in QUERIES if q.dashboard == "liudong-air" and q.title == "PM2.5")
    with filled.connect() as conn:
        picked: dict[str, Any] = {}
        _values_of(conn, q.dashboard, picked)
        sql = expand(
            q.raw_sql, start=END - timedelta(days=90), end=END, interval="2h", variables=picked
        )
        plan = "\n".join(str(r[0]) for r in conn.execute(b"EXPLAIN ANALYZE " + sql.encode()))
    # The raw branch's condition is constant-false: the planner drops its scan entirely.
    assert " on air_reading " not in plan, plan
    if filled.flavour == "timescaledb":
        # The continuous aggregate: its materialized buckets, and raw chunks only past
        # its watermark (real-time aggregation of the buckets not materialized yet).
        assert "_materialized_hypertable_" in plan, plan
    else:
        assert " on air_reading_hourly " in plan, plan


FLAGGED_PANELS = [("liudong-air", "air_reading"), ("liudong-wastewater", "wastewater_reading")]


@pytest.mark.parametrize(("board", "table"), FLAGGED_PANELS)
def test_the_flagged_values_panel_lists_what_an_instrument_flagged(
    filled: Database, board: str, table: str
) -> None:
    q = next(q for q in QUERIES if q.dashboard == board and q.title.startswith("标记数据"))
    with filled.connect() as conn:
        picked: dict[str, Any] = {}
        _values_of(conn, board, picked)
        air = table == "air_reading"
        device = "air-guantang" if air else "wwtp-guantang"
        field = "pm25_ugm3" if air else "effluent_cod_mgl"
        conn.execute(
            f"UPDATE {table} SET flags = jsonb_build_object(%s::text, 'C', 'x', 'N')"
            f" WHERE device_id = %s AND ts > %s",
            (field, device, END - timedelta(hours=2)),
        )
        sql = expand(q.raw_sql, start=START, end=END, interval="1m", variables=picked)
        _, rows = _run(conn, sql)
        conn.rollback()
    assert [(r[1], r[2], r[3]) for r in rows] == [(field, "C", "校准 calibration")]
    assert rows[0][4] >= 60
