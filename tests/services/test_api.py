"""The HTTP API against the real database: every endpoint, each role's allowed and denied paths."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from envmon.replay import StoredReplay, subset
from ingest.broker import issued_hashes
from ingest.feeds import LOCAL_TZ
from ingest.registry import load_registry, sync_registry
from ingest.settings import Settings
from ingest.storage.errors import ErrorKind
from ingest.storage.health import LoopHealth
from services.api import create_app, create_key
from services.rules import default_pack, load_rules
from services.rules.evaluators import evaluator_for
from services.rules.windows import Span
from services.standards.hj633 import hourly_aqi
from services.statistics.air import store_aqi
from simulators import DistrictSimulator
from tests.fixtures.alerts import fire_stale_alert
from tests.fixtures.servers import Database

pytestmark = [pytest.mark.database, pytest.mark.both_flavours]
T1 = datetime.now(UTC).replace(second=0, microsecond=0)
T0 = T1 - timedelta(hours=1)
KEYS: dict[str, str] = {}


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    registry = load_registry()
    sim = DistrictSimulator(subset(registry, ["air-guantang", "wwtp-pangu"]), 0, (), 0.0)
    replay = StoredReplay(database.url, database.schema, registry, sim)
    replay.store(T0, T1)
    replay.close()
    database.refresh_rollups()
    with database.connect() as conn:
        for role in ("viewer", "operator", "admin"):
            KEYS[role] = create_key(conn, f"{role}-1", role)
    settings = Settings(database={"schema_name": database.schema})
    rules = load_rules(default_pack(), registry)
    with TestClient(create_app(settings, database.url, registry, rules)) as c:
        yield c


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[role]}"}


def _fire(database: Database) -> int:
    return fire_stale_alert(database, T0, T1)


def test_health_needs_no_key(client: TestClient) -> None:
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    body = r.json()
    assert body["database"] is True
    assert body["broker"] is None
    assert body["last_stored"] is not None


def test_reads_need_a_key_unless_anonymous_reads_are_on(client: TestClient) -> None:
    r = client.get("/api/v1/devices")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["title"] == "Not authenticated"
    bad = client.get("/api/v1/devices", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    client.app.state.settings.api.anonymous_read = True  # type: ignore[attr-defined]
    try:
        assert client.get("/api/v1/devices?limit=1").status_code == 200
        denied = client.post("/api/v1/alerts/1/acknowledge", json={"comment": "x"})
        assert denied.status_code == 401  # writes never anonymous
    finally:
        client.app.state.settings.api.anonymous_read = False  # type: ignore[attr-defined]


def test_devices_list_filters_and_pages(client: TestClient) -> None:
    r = client.get("/api/v1/devices?feed=air&limit=3", headers=auth("viewer"))
    assert r.status_code == 200
    page = r.json()
    assert page["total"] == 10
    assert len(page["items"]) == 3
    assert {d["feed"] for d in page["items"]} == {"air"}
    reporting = client.get("/api/v1/devices?status=reporting", headers=auth("viewer")).json()
    assert {d["device_id"] for d in reporting["items"]} == {"air-guantang", "wwtp-pangu"}
    too_big = client.get("/api/v1/devices?limit=5000", headers=auth("viewer"))
    assert too_big.status_code == 422
    assert too_big.json()["errors"][0]["field"] == "limit"


def test_device_detail_has_the_latest_readings(client: TestClient) -> None:
    r = client.get("/api/v1/devices/air-guantang", headers=auth("viewer"))
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "reporting"
    [latest] = body["latest"]
    assert latest["kind"] == "reading"
    assert "pm25_ugm3" in latest["values"]
    missing = client.get("/api/v1/devices/air-atlantis", headers=auth("viewer"))
    assert missing.status_code == 404
    assert "air-atlantis" in missing.json()["detail"]


def test_readings_show_their_data_flags(client: TestClient, database: Database) -> None:
    with database.connect() as conn:
        conn.execute(
            'UPDATE air_reading SET flags = \'{"pm25_ugm3": "C"}\''
            " WHERE device_id = 'air-guantang' AND ts = (SELECT max(ts) FROM air_reading)"
        )
    body = client.get("/api/v1/devices/air-guantang", headers=auth("viewer")).json()
    [latest] = body["latest"]
    assert latest["flags"] == {"pm25_ugm3": "C"}
    url, params = "/api/v1/devices/air-guantang/series", {"from": T0.isoformat()}
    params |= {"to": (T1 + timedelta(minutes=1)).isoformat(), "measure": "pm25_ugm3"}
    points = client.get(url, params=params, headers=auth("viewer")).json()["points"]
    assert [p["flag"] for p in points].count("C") == 1
    assert points[-1]["flag"] == "C"
    assert {p["flag"] for p in points[:-1]} == {None}
    as_csv = client.get(url, params={**params, "format": "csv"}, headers=auth("viewer")).text
    assert as_csv.splitlines()[-1].endswith(",C")
    other = client.get("/api/v1/devices/wwtp-pangu", headers=auth("viewer")).json()
    assert other["latest"][0]["flags"] == {}


def test_series_raw_csv_and_span_limits(client: TestClient) -> None:
    params = {"measure": "pm25_ugm3", "from": T0.isoformat(), "to": T1.isoformat()}
    r = client.get("/api/v1/devices/air-guantang/series", params=params, headers=auth("viewer"))
    assert r.status_code == 200
    points = r.json()["points"]
    assert 55 <= len(points) <= 60
    assert all(p["value"] is not None for p in points)
    as_csv = client.get(
        "/api/v1/devices/air-guantang/series",
        params={**params, "format": "csv"},
        headers=auth("viewer"),
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text.splitlines()[0] == "t,pm25_ugm3,flag"
    long = {**params, "from": (T1 - timedelta(days=30)).isoformat()}
    refused = client.get("/api/v1/devices/air-guantang/series", params=long, headers=auth("viewer"))
    assert refused.status_code == 422
    assert "bucket=hour" in refused.json()["detail"]
    hourly = client.get(
        "/api/v1/devices/air-guantang/series",
        params={**long, "bucket": "hour"},
        headers=auth("viewer"),
    )
    assert hourly.status_code == 200
    unknown = client.get(
        "/api/v1/devices/air-guantang/series",
        params={**params, "measure": "nox_ugm3"},
        headers=auth("viewer"),
    )
    assert unknown.status_code == 422
    assert "pm25_ugm3" in unknown.json()["detail"]


def test_series_json_built_by_the_database_matches_the_csv(client: TestClient) -> None:
    from services.api.routes.series import Series  # noqa: PLC0415

    for bucket, span in (("raw", timedelta(hours=1)), ("hour", timedelta(days=2))):
        params = {
            "measure": "pm25_ugm3", "from": (T1 - span).isoformat(), "to": T1.isoformat(),
            "bucket": bucket,
        }  # fmt: skip
        url = "/api/v1/devices/air-guantang/series"
        body = client.get(url, params=params, headers=auth("viewer")).json()
        series = Series.model_validate(body)
        assert series.bucket == bucket
        assert series.start == T1 - span
        assert series.points
        assert [p.t for p in series.points] == sorted(p.t for p in series.points)
        rows = client.get(url, params={**params, "format": "csv"}, headers=auth("viewer"))
        table = list(csv.reader(io.StringIO(rows.text)))[1:]
        assert len(table) == len(series.points)
        for p, row in zip(series.points, table, strict=True):
            assert p.t == datetime.fromisoformat(row[0])
            got = p.value if bucket == "raw" else p.avg
            assert got == pytest.approx(float(row[1]))
            assert (p.n is None) == (bucket == "raw")


def test_alerts_roles_and_audit(client: TestClient, database: Database) -> None:
    alert_id = _fire(database)
    listed = client.get("/api/v1/alerts?state=firing", headers=auth("viewer")).json()
    assert [a["id"] for a in listed["items"]] == [alert_id]
    detail = client.get(f"/api/v1/alerts/{alert_id}", headers=auth("viewer")).json()
    assert detail["evidence"]["limit"] == "> 10 min"
    assert [e["transition"] for e in detail["history"]] == ["firing"]

    path = f"/api/v1/alerts/{alert_id}/acknowledge"
    denied = client.post(path, json={"comment": "on it"}, headers=auth("viewer"))
    assert denied.status_code == 403
    ok = client.post(path, json={"comment": "on it"}, headers=auth("operator"))
    assert ok.status_code == 200
    assert (ok.json()["state"], ok.json()["acknowledged_by"]) == ("acknowledged", "operator-1")
    again = client.post(path, json={"comment": "again"}, headers=auth("operator"))
    assert again.status_code == 409
    resolved = client.post(
        f"/api/v1/alerts/{alert_id}/resolve", json={"comment": "fixed"}, headers=auth("admin")
    )
    assert resolved.json()["state"] == "resolved"
    assert client.get("/api/v1/alerts/999999", headers=auth("viewer")).status_code == 404

    with database.connect() as conn:
        trail = conn.execute(
            "SELECT who, status, before->>'state', after->>'state' FROM api_audit ORDER BY id"
        ).fetchall()
    assert trail == [
        ("viewer-1", 403, None, None),
        ("operator-1", 200, "firing", "acknowledged"),
        ("operator-1", 409, "acknowledged", None),
        ("admin-1", 200, "acknowledged", "resolved"),
    ]


def test_rules_list_and_validate(client: TestClient) -> None:
    rules = client.get("/api/v1/rules", headers=auth("viewer")).json()
    assert len(rules) == 41
    good = "rules:\n  - id: x-stale\n    title: {zh: 静默, en: silent}\n    kind: stale\n"
    good += "    feed: air\n    period: 60s\n    severity: minor\n"
    assert (
        client.post(
            "/api/v1/rules/validate", json={"yaml": good}, headers=auth("operator")
        ).status_code
        == 403
    )
    ok = client.post("/api/v1/rules/validate", json={"yaml": good}, headers=auth("admin"))
    assert ok.json() == {"valid": True, "rules": ["x-stale"], "problem": None}
    bad = client.post(
        "/api/v1/rules/validate",
        json={"yaml": good.replace("feed: air", "feed: sewage")},
        headers=auth("admin"),
    ).json()
    assert bad["valid"] is False
    assert "x-stale" in bad["problem"]


def test_kpis(client: TestClient, database: Database) -> None:
    today = T1.astimezone(LOCAL_TZ).date().isoformat()
    rate = client.get(f"/api/v1/kpi/treatment-rate?date={today}", headers=auth("viewer")).json()
    pangu = next(p for p in rate["plants"] if p["device_id"] == "wwtp-pangu")
    assert pangu["treated_m3"] > 0
    assert pangu["bypass_m3"] == 0
    assert pangu["rate_pct"] == pytest.approx(100.0)
    assert rate["target_pct"] == 95.0
    assert next(p for p in rate["plants"] if p["device_id"] == "wwtp-guantang")["rate_pct"] is None
    # one plant of five has data: a figure, but no district verdict, and who is missing
    assert rate["district_rate_pct"] == pytest.approx(100.0)
    assert rate["meets_target"] is None
    assert (rate["plants_reporting"], rate["plants_expected"]) == (1, len(rate["plants"]))
    assert "wwtp-guantang" in rate["missing"]
    assert rate["note"].startswith(f"1 of {len(rate['plants'])} plants reporting")

    conc = {"pm25": 80.0, "pm10": 100.0, "o3": 60.0}
    hour = T0.replace(minute=0)
    with database.connect() as conn:
        store_aqi(conn, "air-guantang", hour, hourly_aqi(conc, hour), dict(conc))
    [station] = client.get("/api/v1/kpi/aqi", headers=auth("viewer")).json()
    assert (station["device_id"], station["primary_pollutants"]) == ("air-guantang", ["pm25"])
    assert station["edition"] == "HJ 633-2026"

    leak = client.get("/api/v1/kpi/leakage?period=month", headers=auth("viewer")).json()
    assert len(leak["dmas"]) == 14
    assert all(d["rate_pct"] is None for d in leak["dmas"])  # no water data stored here
    assert (leak["dmas_reporting"], leak["dmas_expected"], len(leak["missing"])) == (0, 14, 14)
    assert (leak["utility_rate_pct"], leak["meets_target"]) == (None, None)
    online = client.get("/api/v1/kpi/rsu-online", headers=auth("viewer")).json()
    assert (online["registered"], online["online"], online["intersections_planned"]) == (
        1600,
        0,
        535,
    )
    bad = client.get("/api/v1/kpi/treatment-rate?period=week", headers=auth("viewer"))
    assert bad.status_code == 422


def test_prometheus_metrics(client: TestClient, database: Database) -> None:
    _fire(database)
    assert client.get("/metrics").status_code == 401
    r = client.get("/metrics", headers=auth("viewer"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    lines = r.text.splitlines()
    assert 'envmon_alerts_open{severity="minor"} 1' in lines
    stored = {
        line.split("{")[1].split("}")[0]: float(line.rsplit(" ", 1)[1])
        for line in lines
        if line.startswith("envmon_rows_inserted_total{")
    }
    assert stored['table="air_reading"'] >= 55
    assert any(line.startswith("envmon_collector_lag_seconds ") for line in lines)
    with database.connect() as conn:
        conn.execute(
            "INSERT INTO rule_engine (id, started_at, last_pass_s) VALUES (1, now(), 0.25)"
        )
    again = client.get("/metrics", headers=auth("viewer")).text.splitlines()
    assert "envmon_rule_pass_seconds 0.25" in again


def test_prometheus_metrics_count_each_loops_failures(
    client: TestClient, database: Database
) -> None:
    """The loops run in other processes; what they record in loop_health is shown here."""
    success = datetime(2026, 11, 2, 3, 4, 5, 250000, tzinfo=UTC)
    health = LoopHealth(database.url, database.schema, clock=lambda: success)
    for _ in range(3):
        health.failure("collector-writer", "c-1", ErrorKind.TRANSIENT, "OperationalError")
    health.success("collector-writer", "c-1")
    health.failure("rules-engine", 'host "a"', ErrorKind.PERMANENT, "UndefinedTable (42P01)")
    health.close()
    lines = client.get("/metrics", headers=auth("viewer")).text.splitlines()
    writer = 'loop="collector-writer",instance="c-1"'
    engine = 'loop="rules-engine",instance="host \\"a\\""'
    assert "# TYPE envmon_loop_failures_total counter" in lines
    assert f'envmon_loop_failures_total{{{writer},kind="transient"}} 3' in lines
    assert f'envmon_loop_failures_total{{{writer},kind="permanent"}} 0' in lines
    assert f'envmon_loop_failures_total{{{engine},kind="permanent"}} 1' in lines
    assert (
        f"envmon_loop_last_success_timestamp_seconds{{{writer}}} {success.timestamp()!r}" in lines
    )
    assert not any(
        line.startswith(f"envmon_loop_last_success_timestamp_seconds{{{engine}") for line in lines
    )


def test_dead_letters_listed_and_reingested_after_the_registry_is_fixed(
    client: TestClient, database: Database
) -> None:
    """A station missing from the registry: its messages are dead letters (unknown device);
    once it is registered, re-ingestion stores them and removes them from the dead letters."""
    payload = b'{"v": 1, "ts": "2026-11-30T10:00:00+08:00", "seq": 1, "pm25_ugm3": 30.0}'
    with database.connect() as conn:
        conn.execute(
            "INSERT INTO dead_letter (received_at, topic, payload, reason, detail, device_id,"
            " feed) VALUES (now(), %s, %s, 'unknown_device', 'not in the registry', %s, 'air')",
            ("liudong/air/air-new/reading", payload, "air-new"),
        )
        conn.execute(
            "INSERT INTO dead_letter (received_at, topic, payload, reason, detail)"
            " VALUES (now(), 'liudong/noise', 'x', 'bad_topic', 'no feed')"
        )
    page = client.get("/api/v1/dead-letters?reason=unknown_device", headers=auth("viewer")).json()
    [item] = page["items"]
    assert (item["device_id"], item["payload"]) == ("air-new", payload.decode())
    ids = [item["id"], item["id"] + 1, 999_999]
    assert (
        client.post(
            "/api/v1/dead-letters/reingest", json={"ids": ids}, headers=auth("operator")
        ).status_code
        == 403
    )

    still = client.post("/api/v1/dead-letters/reingest", json={"ids": ids}, headers=auth("admin"))
    assert still.json()["stored"] == []
    assert still.json()["still_refused"][str(item["id"])].startswith("unknown_device")

    with database.connect() as conn:  # the station is registered (as the registry sync would)
        conn.execute(
            "INSERT INTO device (device_id, feed, device_type, name_zh, name_en, area, lat, lon)"
            " VALUES ('air-new', 'air', 'air_station', '新站', 'New station', 'guantang',"
            " 24.35, 109.5)"
        )
    done = client.post(
        "/api/v1/dead-letters/reingest", json={"ids": ids}, headers=auth("admin")
    ).json()
    assert done == {
        "stored": [item["id"]],
        "still_refused": {str(item["id"] + 1): "bad_topic: topic 'liudong/noise' is not"
                          " liudong/<feed>/<device>/<kind>"},
        "not_found": [999_999],
    }  # fmt: skip
    assert database.scalar("SELECT pm25_ugm3 FROM air_reading WHERE device_id = 'air-new'") == 30.0
    assert database.scalar("SELECT count(*) FROM dead_letter") == 1


def test_a_silenced_device_keeps_its_alerts_and_holds_its_notifications(
    client: TestClient, database: Database
) -> None:
    body = {"device_id": "air-guantang", "starts_at": T0.isoformat(),
            "ends_at": (T1 + timedelta(hours=2)).isoformat(), "comment": "校准"}  # fmt: skip
    assert client.post("/api/v1/silences", json=body, headers=auth("viewer")).status_code == 403
    both = {**body, "area": "guantang"}
    assert client.post("/api/v1/silences", json=both, headers=auth("operator")).status_code == 422
    created = client.post("/api/v1/silences", json=body, headers=auth("operator"))
    assert created.status_code == 201
    silence = created.json()
    assert silence["created_by"] == "operator-1"
    _fire(database)  # air-stale for air-guantang at T1, inside the window
    with database.connect() as conn:
        states = {s for (s,) in conn.execute("SELECT state FROM notification")}
    assert states == {"silenced"}
    listed = client.get("/api/v1/silences", headers=auth("viewer")).json()
    assert [s["id"] for s in listed] == [silence["id"]]
    ended = client.delete(f"/api/v1/silences/{silence['id']}", headers=auth("operator"))
    assert ended.status_code == 200
    assert client.get("/api/v1/silences", headers=auth("viewer")).json() == []
    assert client.delete("/api/v1/silences/999999", headers=auth("operator")).status_code == 404


def test_alert_transitions_stream_as_server_sent_events(
    client: TestClient, database: Database
) -> None:
    alert_id = _fire(database)
    with client.stream(
        "GET",
        "/api/v1/stream/alerts?max_events=1&seconds=10",
        headers={**auth("viewer"), "Last-Event-ID": "0"},
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())
    lines = text.strip().splitlines()
    assert lines[1] == "event: alert"
    data = json.loads(lines[2].removeprefix("data: "))
    assert (data["alert_id"], data["transition"], data["rule_id"]) == (
        alert_id,
        "firing",
        "air-stale",
    )


def test_readings_stream_carries_what_changes(client: TestClient, database: Database) -> None:
    registry = load_registry()
    sim = DistrictSimulator(subset(registry, ["air-guantang"]), 0, (), 0.0)
    with client.stream(
        "GET",
        "/api/v1/stream/readings?feed=air&max_events=1&seconds=20",
        headers=auth("viewer"),
    ) as r:
        replay = StoredReplay(database.url, database.schema, registry, sim)
        replay.store(T1, T1 + timedelta(minutes=2))  # newer data arrives while streaming
        replay.close()
        text = "".join(r.iter_text())
    event = json.loads(text.strip().splitlines()[-1].removeprefix("data: "))
    assert (event["device_id"], event["kind"]) == ("air-guantang", "reading")
    assert event["values"]["pm25_ugm3"] is not None


def test_dry_run_says_what_would_have_fired_and_records_nothing(
    client: TestClient, database: Database
) -> None:
    rule = (
        "rules:\n  - id: pm25-any\n    title: {zh: 有PM2.5, en: any PM2.5}\n    kind: threshold\n"
        "    feed: air\n    devices: {ids: [air-guantang]}\n    measure: pm25_ugm3\n"
        "    condition: {op: '>', threshold: 0}\n    severity: minor\n"
    )
    r = client.post("/api/v1/rules/dry-run", json={"yaml": rule, "days": 1}, headers=auth("admin"))
    assert r.status_code == 200
    [would] = r.json()
    assert (would["rule_id"], would["subject"], would["transition"]) == (
        "pm25-any",
        "air-guantang",
        "firing",
    )
    aqi = client.post(
        "/api/v1/rules/dry-run", json={"rule_id": "air-aqi-over-100"}, headers=auth("admin")
    )
    assert aqi.status_code == 200
    assert database.scalar("SELECT count(*) FROM air_aqi_hourly") == 0  # rolled back
    assert database.scalar("SELECT count(*) FROM alert") == 0
    clock = client.post(
        "/api/v1/rules/dry-run", json={"rule_id": "air-stale"}, headers=auth("admin")
    )
    assert clock.status_code == 422
    assert "live clock" in clock.json()["detail"]
    denied = client.post(
        "/api/v1/rules/dry-run", json={"rule_id": "air-stale"}, headers=auth("operator")
    )
    assert denied.status_code == 403


def test_registry_administration(client: TestClient, database: Database) -> None:
    new = {
        "device_id": "air-new-1", "feed": "air", "device_type": "air_station",
        "name_zh": "新站", "name_en": "New station", "area": "guantang",
        "lat": 24.35, "lon": 109.5,
    }  # fmt: skip
    assert client.post("/api/v1/devices", json=new, headers=auth("operator")).status_code == 403
    wrong = client.post(
        "/api/v1/devices", json={**new, "device_type": "rsu"}, headers=auth("admin")
    )
    assert wrong.status_code == 422
    outside = client.post("/api/v1/devices", json={**new, "lat": 30.0}, headers=auth("admin"))
    assert outside.status_code == 422
    created = client.post("/api/v1/devices", json=new, headers=auth("admin"))
    assert created.status_code == 201
    assert created.json()["status"] == "never"
    account = created.json()["mqtt"]  # its broker account, the secret shown only here
    assert account["username"] == "air-new-1"
    assert account["publishes"] == "liudong/air/air-new-1/<kind>"
    with database.connect() as conn:
        issued = issued_hashes(conn)["air-new-1"]
        audited = conn.execute("SELECT coalesce(after::text, '') FROM api_audit").fetchall()
    assert issued.matches(account["secret"])
    assert not any(account["secret"] in a for (a,) in audited)
    assert "mqtt" not in client.get("/api/v1/devices/air-new-1", headers=auth("viewer")).json()
    rotated = client.post("/api/v1/devices/air-new-1/mqtt-secret", headers=auth("admin"))
    assert rotated.status_code == 200
    with database.connect() as conn:
        assert issued_hashes(conn)["air-new-1"].matches(rotated.json()["secret"])
    registry_device = client.post("/api/v1/devices/air-guantang/mqtt-secret", headers=auth("admin"))
    assert registry_device.status_code == 409
    again = client.post("/api/v1/devices", json=new, headers=auth("admin"))
    assert again.status_code == 409
    moved = client.patch(
        "/api/v1/devices/air-guantang", json={"name_en": "Guantang (moved)"}, headers=auth("admin")
    )
    assert moved.json()["name_en"] == "Guantang (moved)"
    retired = client.delete("/api/v1/devices/air-new-1", headers=auth("admin"))
    assert retired.json()["status"] == "retired"

    # the registry file does not undo what was managed through the API
    with database.connect() as conn:
        sync_registry(conn, load_registry())
    assert (
        client.get("/api/v1/devices/air-guantang", headers=auth("viewer")).json()["name_en"]
        == "Guantang (moved)"
    )
    assert (
        client.get("/api/v1/devices/air-new-1", headers=auth("viewer")).json()["status"]
        == "retired"
    )
    assert database.scalar("SELECT count(*) FROM api_audit WHERE status IN (200, 201)") == 4


def test_daily_aqi_needs_twenty_valid_hours(client: TestClient, database: Database) -> None:
    day = (T1.astimezone(LOCAL_TZ) - timedelta(days=2)).date()
    start = datetime.combine(day, datetime.min.time(), LOCAL_TZ).astimezone(UTC)
    sim = DistrictSimulator(subset(load_registry(), ["air-hualing"]), 0, (), 0.0)
    replay = StoredReplay(database.url, database.schema, load_registry(), sim)
    replay.store(start - timedelta(hours=8), start + timedelta(days=1))
    replay.close()
    database.refresh_rollups()
    rows = client.get(f"/api/v1/kpi/aqi-daily?date={day}", headers=auth("viewer")).json()
    hualing = next(r for r in rows if r["device_id"] == "air-hualing")
    assert hualing["valid_hours"]["pm25"] == 24
    assert hualing["aqi"] is not None
    assert hualing["edition"] == "HJ 633-2026"
    assert hualing["valid"] is True
    [guantang] = [r for r in rows if r["device_id"] == "air-guantang"]
    assert (guantang["aqi"], guantang["valid"]) == (None, False)  # no data that day
    assert guantang["missing"] == ["so2", "no2", "co", "pm10", "pm25", "o3_8h"]


def test_daily_aqi_figures_are_the_rule_evaluators_figures(
    client: TestClient, database: Database
) -> None:
    """The KPI reads the hourly rollups, the rules raw rows: one definition, one figure."""
    day = (T1.astimezone(LOCAL_TZ) - timedelta(days=2)).date()
    start = datetime.combine(day, datetime.min.time(), LOCAL_TZ).astimezone(UTC)
    end = start + timedelta(days=1)
    registry = load_registry()
    sim = DistrictSimulator(subset(registry, ["air-hualing"]), 0, (), 0.0)
    replay = StoredReplay(database.url, database.schema, registry, sim)
    replay.store(start - timedelta(hours=8), end)
    replay.close()
    with database.connect() as conn:
        # 40 samples an hour around the afternoon O3 peak: three invalid hours, so the
        # 8-hour means holding all three lack their sixth valid hour
        conn.execute(
            "UPDATE air_reading SET o3_ugm3 = NULL WHERE device_id = 'air-hualing'"
            " AND ts >= %s AND ts < %s AND extract(minute FROM ts) >= 40",
            (start + timedelta(hours=14), start + timedelta(hours=17)),
        )
    database.refresh_rollups()
    rows = client.get(f"/api/v1/kpi/aqi-daily?date={day}", headers=auth("viewer")).json()
    kpi = next(r for r in rows if r["device_id"] == "air-hualing")["concentrations"]
    rules = {r.id: r for r in load_rules(default_pack(), registry)}
    judged = {}
    with database.connect() as conn:
        for rule_id in ("air-o3-8h", "air-pm25-24h"):
            ev = evaluator_for(rules[rule_id], registry)
            [obs] = ev.evaluate(conn, Span(start, end), [ev.by_id["air-hualing"]], end)
            judged[rule_id] = obs.verdict.value
    assert judged["air-o3-8h"] is not None
    assert kpi["o3_8h"] == pytest.approx(judged["air-o3-8h"], rel=1e-12)
    assert kpi["pm25"] == pytest.approx(judged["air-pm25-24h"], rel=1e-12)
