"""The operator console in a real browser (Debian's Chromium) against real servers: the
overview shows the district, an alert fired through the pipeline appears live and is
acknowledged from the page, a viewer cannot act, and the link in a WeCom message
acknowledges its alert once — with no request ever leaving this machine."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from envmon.runtime.embedded import free_port
from ingest.mqtt import MqttPublisher
from ingest.registry import load_registry
from ingest.settings import Settings
from services.api import create_app, create_key
from services.api.people import set_user
from services.notify.routing import RoutingConfig
from services.rules import RuleService, load_rules
from tests.fixtures.browser import OfflinePage
from tests.fixtures.collectors import CollectorFactory, wait_until
from tests.fixtures.receivers import HttpServer
from tests.fixtures.rule_files import PM25_INSTANT
from tests.fixtures.servers import Database

pytestmark = [pytest.mark.broker, pytest.mark.database, pytest.mark.slow]
PASSWORD = "duty-officer-pass"  # noqa: S105 - the tests' own accounts
WECOM = "/cgi-bin/webhook/send?key=duty-robot"
LINK = re.compile(r"\((http://127\.0\.0\.1:\d+/console/ack/[^)\s]+)\)")


@dataclass
class Console:
    url: str
    settings: Settings
    database: Database

    def alerts(self) -> list[tuple[object, ...]]:
        with self.database.connect() as conn:
            return conn.execute(
                "SELECT id, state, acknowledged_by, ack_comment FROM alert ORDER BY id"
            ).fetchall()


@pytest.fixture
def console(settings: Settings, database: Database) -> Iterator[Console]:
    port = free_port()
    tuned = settings.model_copy(
        update={
            "api": settings.api.model_copy(update={"port": port}),
            "console": settings.console.model_copy(update={"link_secret": SecretStr("x" * 48)}),
            "rules": settings.rules.model_copy(update={"interval_s": 0.2}),
        }
    )
    with database.connect() as conn:
        set_user(conn, "wang.duty", "operator", PASSWORD)
        set_user(conn, "li.viewer", "viewer", PASSWORD)
    registry = load_registry()
    app = create_app(tuned, database.url, registry, load_rules([], registry))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_until(lambda: server.started, timeout=30)
    try:
        yield Console(f"http://127.0.0.1:{port}", tuned, database)
    finally:
        server.should_exit = True
        thread.join(15)


@dataclass
class Pipeline:
    """Collector, PM2.5 rule and the duty office's WeCom robot (a local HTTP server)."""

    console: Console
    publisher: MqttPublisher
    robot: HttpServer
    rules_file: Path

    @contextlib.contextmanager
    def rule_service(self) -> Iterator[RuleService]:
        routing = RoutingConfig.model_validate(
            {
                "receivers": {
                    "duty": {
                        "name": "生态环境分局值班室",
                        "channels": [{"type": "wecom", "url": self.robot.url(WECOM)}],
                    }
                },
                "routes": [{"match": {"feed": "air"}, "receivers": ["duty"]}],
                "group_wait_s": 0,
                "api_base": self.console.url,
            }
        )
        registry = load_registry()
        service = RuleService(
            self.console.settings, self.console.database.url, registry,
            rules=load_rules([self.rules_file], registry), routing=routing,
        )  # fmt: skip
        service.start()
        try:
            yield service
        finally:
            service.stop()

    def breach(self) -> None:
        """Two readings of the Guantang station, the second far above the rule's limit."""
        topic = f"{self.console.settings.mqtt.topic_root}/air/air-guantang/reading"
        t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
        for i, pm25 in enumerate([35.0, 620.0]):
            ts = (t0 + timedelta(minutes=i)).isoformat()
            body = {"v": 1, "ts": ts, "seq": i, "pm25_ugm3": pm25}
            self.publisher.publish(topic, json.dumps(body).encode())


@pytest.fixture
def pipeline(
    console: Console,
    start_collector: CollectorFactory,
    publisher: MqttPublisher,
    http_server: HttpServer,
    tmp_path: Path,
) -> Pipeline:
    start_collector(console.settings)
    path = tmp_path / "rules.yaml"
    path.write_text(PM25_INSTANT, "utf-8")
    return Pipeline(console, publisher, http_server, path)


def _sign_in(offline: OfflinePage, console: Console, user: str) -> None:
    page = offline.page
    page.goto(console.url + "/")  # the API's root is the console
    page.wait_for_url("**/console/login**")
    page.fill("input[name=user]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(console.url + "/console/")


def test_the_overview_shows_every_registry_device_and_the_kpi_tiles(
    console: Console, offline_page: OfflinePage, tmp_path: Path
) -> None:
    _sign_in(offline_page, console, "li.viewer")
    page = offline_page.page
    devices = console.database.scalar("SELECT count(*) FROM device WHERE retired_at IS NULL")
    assert page.locator("svg.map circle[data-device]").count() == devices
    assert devices == len(load_registry().devices())
    assert page.locator(".tile[data-kpi]").count() == 4
    assert page.locator("tr[data-station]").count() == len(load_registry().air)
    assert page.locator("svg.map text.area").count() == len(load_registry().areas)
    page.click("a.lang")
    assert page.locator(".tile[data-kpi=treatment_rate] .label").inner_text().startswith("Sewage")
    page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)
    page.click("svg.map a:has(circle[data-device=air-guantang])")
    page.wait_for_url("**/console/devices/air-guantang")
    page.goto(console.url + "/docs")  # the API's own documentation, offline too
    page.wait_for_selector(".swagger-ui .info")
    assert offline_page.external == []


def test_an_alert_appears_live_and_is_acknowledged_from_the_page(
    console: Console, offline_page: OfflinePage, pipeline: Pipeline
) -> None:
    page = offline_page.page
    _sign_in(offline_page, console, "wang.duty")
    page.goto(console.url + "/console/alerts")
    page.wait_for_selector("#live:not([hidden])")  # the event stream is open
    page.evaluate("window.stayedOnThePage = true")
    with pipeline.rule_service():
        pipeline.breach()
        page.wait_for_selector("tr[data-alert][data-state=firing]", timeout=30_000)
        assert page.evaluate("window.stayedOnThePage") is True  # no reload: live
        page.click("tr[data-alert] td a")
        page.fill("#ack-comment", "已通知站点运维核查")
        page.click("#ack-button")
        page.wait_for_selector("#alert-state[data-state=acknowledged]")
        page.fill("form[data-silence] input[name=hours]", "6")
        page.fill("form[data-silence] input[name=comment]", "抢修")
        with page.expect_navigation():  # the page reloads once the API has answered
            page.click("form[data-silence] button")
    silence = console.database.scalar(
        "SELECT device_id || ' ' || created_by || ' ' || round(extract(epoch FROM ends_at"
        " - starts_at) / 3600) FROM silence"
    )
    assert silence == "air-guantang wang.duty 6"
    (alert_id, state, by, comment), *_ = console.alerts()
    assert (state, by, comment) == ("acknowledged", "wang.duty", "已通知站点运维核查")
    with console.database.connect() as conn:
        key = create_key(conn, "checker", "viewer")
    api = httpx.get(
        f"{console.url}/api/v1/alerts/{alert_id}", headers={"Authorization": f"Bearer {key}"}
    ).json()
    assert api["state"] == "acknowledged"
    assert api["history"][-1]["actor"] == "wang.duty"
    audited = console.database.scalar(
        "SELECT count(*) FROM api_audit WHERE who = 'wang.duty' AND status = 200 AND path = %s",
        (f"/api/v1/alerts/{alert_id}/acknowledge",),
    )
    assert audited == 1
    assert offline_page.external == []


def test_a_viewer_sees_no_acknowledge_button_and_a_forged_request_is_refused(
    console: Console, offline_page: OfflinePage, pipeline: Pipeline
) -> None:
    with pipeline.rule_service():
        pipeline.breach()
        assert wait_until(lambda: [a[1] for a in console.alerts()] == ["firing"])
    alert_id = console.alerts()[0][0]
    _sign_in(offline_page, console, "li.viewer")
    page = offline_page.page
    page.goto(f"{console.url}/console/alerts/{alert_id}")
    assert page.locator("#viewer-note").is_visible()
    assert page.locator("#ack-button").count() == 0
    # The same request the operator's page sends, forged from the viewer's session:
    status = page.evaluate(
        """async (id) => (await fetch(`/api/v1/alerts/${id}/acknowledge`, {method: "POST",
             headers: {"Content-Type": "application/json", "X-CSRF-Token":
               document.querySelector('meta[name="csrf-token"]').content},
             body: JSON.stringify({comment: "forged"})})).status""",
        alert_id,
    )
    assert status == 403
    no_token = page.evaluate(
        """async (id) => (await fetch(`/api/v1/alerts/${id}/resolve`, {method: "POST",
             headers: {"Content-Type": "application/json"}, body: "{}"})).status""",
        alert_id,
    )
    assert no_token == 403
    assert console.alerts()[0][1] == "firing"
    with console.database.connect() as conn:
        refusals = conn.execute(
            "SELECT status, coalesce(after->>'reason', '') FROM api_audit"
            " WHERE who = 'li.viewer' AND status = 403 ORDER BY id"
        ).fetchall()
    assert refusals == [(403, ""), (403, "csrf token missing or wrong")]
    assert offline_page.external == []


def test_the_link_in_a_wecom_message_acknowledges_its_alert_once(
    console: Console, offline_page: OfflinePage, pipeline: Pipeline, tmp_path: Path
) -> None:
    with pipeline.rule_service():
        pipeline.breach()
        assert wait_until(lambda: len(pipeline.robot.requests) == 1)
    markdown = pipeline.robot.requests[0].json()["markdown"]["content"]
    assert "【告警】" in markdown
    found = LINK.search(markdown)
    assert found is not None, markdown
    link = found[1]
    page = offline_page.page  # no session: the link alone opens the alert
    page.goto(link)
    assert console.alerts()[0][1] == "firing"  # opening (a preview) acknowledges nothing
    page.fill("#ack-comment", "收到，马上处理")
    page.click("#ack-button")
    page.wait_for_selector("#ack-done")
    page.screenshot(path=str(tmp_path / "ack.png"), full_page=True)
    (_, state, by, comment), *_ = console.alerts()
    assert (state, by, comment) == ("acknowledged", "duty (message link)", "收到，马上处理")
    page.goto(link)  # a second use
    assert page.locator("#link-refused").get_attribute("data-reason") == "link_used"
    forged = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
    page.goto(forged)
    assert page.locator("#link-refused").get_attribute("data-reason") == "link_forged"
    with console.database.connect() as conn:
        reasons = conn.execute(
            "SELECT status, after->>'reason' FROM api_audit WHERE path LIKE '/console/ack/%'"
            " AND status >= 400 ORDER BY id"
        ).fetchall()
    assert reasons == [(410, "link_used"), (403, "link_forged")]
    assert offline_page.external == []
