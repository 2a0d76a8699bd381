"""The console over HTTP against the real database: sign-in, sessions, CSRF, roles, and
the acknowledge links of messages — each refusal audited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from envmon.runtime.alert_feed import AlertFeed
from ingest.registry import load_registry
from ingest.settings import Settings
from services.api import create_app, create_key
from services.api.people import disable_user, set_user
from services.notify.ack_links import AckLinks
from services.rules import default_pack, load_rules
from tests.fixtures.alerts import fire_stale_alert
from tests.fixtures.servers import Database

pytestmark = [pytest.mark.database]
SECRET = "s" * 40
T1 = datetime.now(UTC).replace(second=0, microsecond=0)
T0 = T1 - timedelta(hours=1)
PASSWORD = "correct horse battery"  # noqa: S105 - the tests' own account


def _app(database: Database, **api: object) -> TestClient:
    registry = load_registry()
    settings = Settings(
        database={"schema_name": database.schema},
        console={"link_secret": SECRET},
        api={"auth_failures": 3, **api},
    )
    rules = load_rules(default_pack(), registry)
    return TestClient(create_app(settings, database.url, registry, rules), follow_redirects=False)


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    with database.connect() as conn:
        set_user(conn, "wang", "operator", PASSWORD)
        set_user(conn, "li", "viewer", PASSWORD)
    with _app(database) as c:
        yield c


def _fire(database: Database) -> int:
    return fire_stale_alert(database, T0, T1)


def _sign_in(client: TestClient, user: str, password: str = PASSWORD) -> str:
    r = client.post("/console/login", data={"user": user, "password": password})
    assert r.status_code == 303, r.text
    page = client.get("/console/alerts")
    assert page.status_code == 200
    marker = 'name="csrf-token" content="'
    return page.text.split(marker, 1)[1].split('"', 1)[0]


def _audit(database: Database) -> list[tuple[object, ...]]:
    with database.connect() as conn:
        return conn.execute(
            "SELECT who, status, after->>'reason', path FROM api_audit ORDER BY id"
        ).fetchall()


def test_pages_send_a_stranger_to_sign_in_and_a_wrong_password_is_audited(
    client: TestClient, database: Database
) -> None:
    r = client.get("/console/alerts?feed=air")
    assert r.status_code == 303
    assert r.headers["location"] == "/console/login?next=/console/alerts%3Ffeed%3Dair"
    bad = client.post("/console/login", data={"user": "wang", "password": "nope-nope-nope"})
    assert bad.status_code == 401
    assert "用户名、密码或密钥不正确" in bad.text
    assert (None, 401, "wrong user name or password", "/console/login") in _audit(database)
    assert "envmon_session" not in client.cookies


def test_failed_sign_ins_are_throttled_per_account_and_address(client: TestClient) -> None:
    for _ in range(3):
        wrong = client.post("/console/login", data={"user": "wang", "password": "x"})
        assert wrong.status_code == 401
    r = client.post("/console/login", data={"user": "wang", "password": PASSWORD})
    assert r.status_code == 429
    assert "try again in" in r.text


def test_a_session_acts_through_the_api_only_with_its_csrf_token(
    client: TestClient, database: Database
) -> None:
    alert = _fire(database)
    form = {"user": "wang", "password": PASSWORD, "next": "//evil.example/"}
    r = client.post("/console/login", data=form)
    assert r.headers["location"] == "/console/"  # never a redirect off the console
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    csrf = _sign_in(client, "wang")
    url = f"/api/v1/alerts/{alert}/acknowledge"
    refused = client.post(url, json={"comment": "no token"})
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    done = client.post(url, json={"comment": "crew on the way"}, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200
    assert (done.json()["state"], done.json()["acknowledged_by"]) == ("acknowledged", "wang")
    assert ("wang", 403, "csrf token missing or wrong", url) in _audit(database)


def test_a_viewer_sees_no_actions_and_is_refused_by_the_api(
    client: TestClient, database: Database
) -> None:
    alert = _fire(database)
    csrf = _sign_in(client, "li")
    page = client.get(f"/console/alerts/{alert}")
    assert 'id="viewer-note"' in page.text
    assert "ack-button" not in page.text
    r = client.post(
        f"/api/v1/alerts/{alert}/acknowledge", json={"comment": ""}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 403
    assert ("li", 403, None, f"/api/v1/alerts/{alert}/acknowledge") in _audit(database)


def test_an_expired_ended_or_disabled_session_signs_in_again(
    client: TestClient, database: Database
) -> None:
    _sign_in(client, "wang")
    with database.connect() as conn:
        conn.execute("UPDATE console_session SET expires_at = now() - interval '1 s'")
    assert client.get("/console/").status_code == 303
    _sign_in(client, "wang")
    with database.connect() as conn:
        disable_user(conn, "wang")
    assert client.get("/console/").status_code == 303
    r = client.post("/console/login", data={"user": "wang", "password": PASSWORD})
    assert r.status_code == 401
    _sign_in(client, "li")
    client.post("/console/logout")
    assert client.get("/console/").status_code == 303


def test_a_missing_alert_or_device_is_a_404_page(client: TestClient) -> None:
    _sign_in(client, "li")
    for path, text in (("/console/alerts/999999", "no alert 999999"),
                       ("/console/devices/nope", "no device &#39;nope&#39;")):  # fmt: skip
        r = client.get(path)
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("text/html")
        assert text in r.text


def test_an_api_key_signs_in_with_its_role(client: TestClient, database: Database) -> None:
    with database.connect() as conn:
        key = create_key(conn, "night-shift", "operator")
    r = client.post("/console/login", data={"key": key})
    assert r.status_code == 303
    assert "night-shift · operator" in client.get("/console/").text
    wrong = client.post("/console/login", data={"key": "envmon_wrong"})
    assert wrong.status_code == 401


def _notification(database: Database, alert: int, receiver: str = "duty") -> tuple[int, datetime]:
    with database.connect() as conn:
        event = conn.execute(
            "SELECT max(id) FROM alert_event WHERE alert_id = %s", (alert,)
        ).fetchone()
        row = conn.execute(
            "INSERT INTO notification (alert_id, event_id, rule_id, transition, receiver,"
            " channel, idempotency_key, notice) VALUES (%s, %s, 'air-stale', 'firing', %s, 0,"
            " %s, '{}') RETURNING id, created_at",
            (alert, event[0] if event else None, receiver, f"k-{alert}-{receiver}"),
        ).fetchone()
    assert row is not None
    return int(row[0]), row[1]


def test_a_message_link_acknowledges_its_alert_once(client: TestClient, database: Database) -> None:
    alert = _fire(database)
    nid, queued = _notification(database, alert)
    links = AckLinks("http://testserver", SECRET.encode(), timedelta(hours=72))
    path = links.url(nid, alert, "duty", queued).removeprefix("http://testserver")
    shown = client.get(path)  # a chat app's link preview: nothing happens
    assert shown.status_code == 200
    assert 'id="ack-button"' in shown.text
    assert database.scalar("SELECT state FROM alert WHERE id = %s", (alert,)) == "firing"
    done = client.post(path, data={"comment": "收到，已派人"})
    assert done.status_code == 200
    assert 'id="ack-done"' in done.text
    with database.connect() as conn:
        row = conn.execute(
            "SELECT state, acknowledged_by, ack_comment FROM alert WHERE id = %s", (alert,)
        ).fetchone()
        detail = conn.execute(
            "SELECT detail FROM alert_event WHERE alert_id = %s AND transition = 'acknowledged'",
            (alert,),
        ).fetchone()
    assert row == ("acknowledged", "duty (message link)", "收到，已派人")
    assert detail is not None
    assert detail[0]["via"] == "message link"
    assert detail[0]["notification_id"] == nid
    again = client.post(path, data={"comment": "again"})
    assert again.status_code == 410
    assert 'data-reason="link_used"' in again.text
    assert (None, 410, "link_used", path) in _audit(database)


def test_forged_expired_and_foreign_links_are_refused_and_audited(
    client: TestClient, database: Database
) -> None:
    alert = _fire(database)
    nid, queued = _notification(database, alert)
    links = AckLinks("", SECRET.encode(), timedelta(hours=72))
    good = links.url(nid, alert, "duty", queued)
    forged = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    other_alert = good.replace(f"/{nid}.{alert}.", f"/{nid}.{alert + 1}.")
    stranger = AckLinks("", b"t" * 40, timedelta(hours=72)).url(nid, alert, "duty", queued)
    expired = links.url(nid, alert, "duty", queued - timedelta(hours=73))
    for path, status, reason in (
        (forged, 403, "link_forged"), (other_alert, 403, "link_forged"),
        (stranger, 403, "link_forged"), ("/console/ack/garbage", 403, "link_forged"),
        (expired, 410, "link_expired"),
    ):  # fmt: skip
        r = client.post(path, data={"comment": "x"})
        assert r.status_code == status, path
        assert f'data-reason="{reason}"' in r.text
    assert database.scalar("SELECT state FROM alert WHERE id = %s", (alert,)) == "firing"
    refused = [r for r in _audit(database) if str(r[3]).startswith("/console/ack/")]
    assert [r[2] for r in refused] == [
        "link_forged",
        "link_forged",
        "link_forged",
        "link_forged",
        "link_expired",
    ]


def test_without_a_link_secret_links_are_off(database: Database) -> None:
    registry = load_registry()
    settings = Settings(database={"schema_name": database.schema})
    app = create_app(settings, database.url, registry, load_rules(default_pack(), registry))
    with TestClient(app) as c:
        r = c.get("/console/ack/1.2.3.abcdefghijklmnopqrstuv")
    assert r.status_code == 404
    assert "ENVMON_CONSOLE__LINK_SECRET" in r.text


def test_the_overview_draws_every_device_and_the_tiles(
    client: TestClient, database: Database
) -> None:
    _sign_in(client, "li")
    page = client.get("/console/?lang=en")
    devices = database.scalar("SELECT count(*) FROM device WHERE retired_at IS NULL")
    assert page.text.count("data-device=") == devices > 1900
    assert page.text.count("data-kpi=") == 4
    assert page.text.count("data-station=") == len(load_registry().air)
    assert "Sewage treatment rate" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text)  # nothing from elsewhere


def test_envmon_up_prints_a_working_link_under_each_alert(
    client: TestClient, database: Database
) -> None:
    feed = AlertFeed(
        database.url, database.schema, AckLinks("http://testserver", SECRET.encode(), timedelta(1))
    )
    alert = _fire(database)
    lines = feed.new()
    feed.close()
    assert lines[0].startswith("alert  ")
    found = re.search(r"acknowledge as (\S+): http://testserver(/console/ack/\S+)", lines[1])
    assert found is not None, lines
    done = client.post(found[2], data={"comment": "from the terminal"})
    assert done.status_code == 200
    assert database.scalar("SELECT acknowledged_by FROM alert WHERE id = %s", (alert,)) == (
        f"{found[1]} (message link)"
    )


def test_a_leak_logger_is_silent_only_after_missing_its_night(
    client: TestClient, database: Database
) -> None:
    registry = load_registry()
    logger = registry.leak_loggers[0].id
    meter = registry.dmas[0].inlet_meters[0].id
    with database.connect() as conn:
        for table, device in (("water_leak", logger), ("water_flow", meter)):
            conn.execute(
                "INSERT INTO device_latest (table_name, device_id, ts, received_at)"
                " VALUES (%s, %s, now() - interval '3 hours', now())",
                (table, device),
            )
    _sign_in(client, "li")
    page = client.get("/console/").text
    assert f'data-device="{logger}" data-status="reporting"' in page
    assert f'data-device="{meter}" data-status="silent"' in page
