"""The rule service live: broker → collector → database → rule engine → webhook."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.mqtt import MqttPublisher
from ingest.registry import load_registry
from ingest.settings import Settings
from services.notify.routing import RoutingConfig
from services.rules import RuleService, load_rules
from tests.fixtures.collectors import CollectorFactory, wait_until
from tests.fixtures.receivers import HttpServer
from tests.fixtures.rule_files import PM25_INSTANT
from tests.fixtures.servers import Database

pytestmark = [pytest.mark.broker, pytest.mark.database, pytest.mark.both_flavours]

RULES = PM25_INSTANT


def _reading(seq: int, ts: datetime, pm25: float) -> bytes:
    return json.dumps({"v": 1, "ts": ts.isoformat(), "seq": seq, "pm25_ugm3": pm25}).encode()


def _service(settings: Settings, database: Database, path: Path, url: str) -> RuleService:
    routing = RoutingConfig.model_validate(
        {
            "receivers": {
                "duty": {"name": "值班室", "channels": [{"type": "webhook", "url": url}]}
            },
            "routes": [{"match": {"feed": "air"}, "receivers": ["duty"]}],
            "group_wait_s": 0,
        }
    )
    rules = load_rules([path], load_registry())
    tuned = settings.model_copy(
        update={"rules": settings.rules.model_copy(update={"interval_s": 0.2})}
    )
    return RuleService(tuned, database.url, load_registry(), rules=rules, routing=routing)


def test_a_breach_is_notified_once_across_a_restart(  # noqa: PLR0917 - fixtures
    settings: Settings,
    database: Database,
    start_collector: CollectorFactory,
    publisher: MqttPublisher,
    http_server: HttpServer,
    tmp_path: Path,
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, "utf-8")
    start_collector(settings)
    service = _service(settings, database, path, http_server.url("/duty"))
    service.start()
    topic = f"{settings.mqtt.topic_root}/air/air-guantang/reading"
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    for i, pm25 in enumerate([35.0, 40.0, 620.0]):
        publisher.publish(topic, _reading(i, t0 + timedelta(minutes=i), pm25))
    sent = time.monotonic()
    try:
        assert wait_until(lambda: len(http_server.requests) == 1)
        latency = time.monotonic() - sent
        body = http_server.requests[0].json()
        assert (body["rule_id"], body["transition"]) == ("pm25-instant", "firing")
        assert body["subjects"][0]["value"] == 620.0
    finally:
        service.stop()
    print(f"reading published → webhook received: {latency:.2f} s")

    # A new service (a restart) neither repeats the notification nor forgets the alert:
    # the next reading below the clear level resolves it.
    service = _service(settings, database, path, http_server.url("/duty"))
    service.start()
    try:
        time.sleep(1.0)
        assert len(http_server.requests) == 1
        publisher.publish(topic, _reading(3, t0 + timedelta(minutes=3), 30.0))
        assert wait_until(lambda: len(http_server.requests) == 2)
        assert http_server.requests[1].json()["transition"] == "resolved"
    finally:
        service.stop()
    assert database.scalar("SELECT count(*) FROM alert") == 1
    assert database.scalar("SELECT state FROM alert") == "resolved"
