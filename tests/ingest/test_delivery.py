"""Through a real Mosquitto (configured as in deploy/): nothing lost, nothing twice."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from envmon.runtime.embedded import AmqttBroker, MosquittoBroker, free_port
from ingest.broker import COLLECTOR_USER, SIMULATOR_USER
from ingest.mqtt import MqttPublisher
from ingest.settings import Settings
from tests.fixtures.collectors import CollectorFactory, settled, wait_until
from tests.fixtures.proxy import TcpProxy, via_proxy
from tests.fixtures.security import SecuredBroker
from tests.fixtures.servers import Database, make_settings

pytestmark = [pytest.mark.broker, pytest.mark.database]
BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
STATIONS = ("air-guantang", "air-hualing", "air-longhu", "air-luorong")


def reading(i: int) -> tuple[str, bytes]:
    """A distinct valid air reading for each i (station and timestamp)."""
    station = STATIONS[i % len(STATIONS)]
    ts = (BASE + timedelta(seconds=i)).isoformat()
    body = {"v": 1, "ts": ts, "seq": i, "pm25_ugm3": 10 + i % 90, "o3_ugm3": 50.0}
    return station, json.dumps(body).encode()


@pytest.fixture
def secured(request: pytest.FixtureRequest) -> bool:
    """Whether the test runs against a broker with accounts and TLS (see SECURED_TOO)."""
    return bool(getattr(request, "param", False))


@pytest.fixture
def settings(
    secured: bool, request: pytest.FixtureRequest, database: Database, topic_root: str
) -> Settings:
    if not secured:
        broker: MosquittoBroker = request.getfixturevalue("mosquitto")
        return make_settings(broker.url, database.schema, topic_root, flavour=database.flavour)
    sb: SecuredBroker = request.getfixturevalue("secured_broker")
    return make_settings(
        "", database.schema, topic_root, flavour=database.flavour, mqtt=sb.mqtt(COLLECTOR_USER)
    )


@pytest.fixture
def publisher(
    secured: bool, request: pytest.FixtureRequest, settings: Settings
) -> Iterator[MqttPublisher]:
    mqtt = settings.mqtt
    if secured:  # the collectors' account may not publish: the simulators' may
        sb: SecuredBroker = request.getfixturevalue("secured_broker")
        mqtt = mqtt.model_copy(update=sb.mqtt(SIMULATOR_USER))
    pub = MqttPublisher(mqtt, f"pub-{settings.mqtt.topic_root}")
    pub.start(attempts=5)
    yield pub
    pub.stop()


# The delivery guarantees hold with every account authenticated over TLS as in deploy/.
SECURED_TOO = pytest.mark.parametrize(
    "secured", [False, True], ids=["plain", "auth-tls"], indirect=True
)


def publish_range(pub: MqttPublisher, root: str, start: int, stop: int) -> None:
    for i in range(start, stop):
        station, payload = reading(i)
        pub.publish(f"{root}/air/{station}/reading", payload)
    assert pub.wait_confirmed(60)


@SECURED_TOO
def test_valid_rows_stored_and_bad_ones_dead_lettered(
    settings: Settings,
    database: Database,
    start_collector: CollectorFactory,
    publisher: MqttPublisher,
) -> None:
    root = settings.mqtt.topic_root
    collector = start_collector(settings)
    publish_range(publisher, root, 0, 500)
    publisher.publish(f"{root}/air/air-guantang/reading", b"{oops")
    publisher.publish(f"{root}/air/air-nowhere/reading", reading(1)[1])
    publisher.publish(f"{root}/air/air-guantang/reading/extra", reading(2)[1])
    publisher.publish(f"{root}/air/air-guantang/reading", reading(3)[1].replace(b"50.0", b"NaN"))
    assert publisher.wait_confirmed(30)
    assert wait_until(settled(collector, 504))
    snap = collector.stop()
    assert snap.stored == {"air": 500}
    assert snap.dead_letter_reasons == {
        "invalid_json": 1,
        "unknown_device": 1,
        "bad_topic": 1,
        "non_finite": 1,
    }
    assert database.scalar("SELECT count(*) FROM air_reading") == 500
    assert database.scalar("SELECT count(*) FROM dead_letter") == 4


@SECURED_TOO
def test_the_same_message_twice_makes_one_row(
    settings: Settings,
    database: Database,
    start_collector: CollectorFactory,
    publisher: MqttPublisher,
) -> None:
    root = settings.mqtt.topic_root
    collector = start_collector(settings)
    publish_range(publisher, root, 0, 100)
    publish_range(publisher, root, 0, 100)  # a device that resends after a lost PUBACK
    assert wait_until(settled(collector, 200))
    snap = collector.stop()
    assert (snap.total("stored"), snap.total("duplicates")) == (100, 100)
    assert database.scalar("SELECT count(*) FROM air_reading") == 100


@SECURED_TOO
def test_a_collector_away_gets_everything_queued_on_return(
    settings: Settings,
    database: Database,
    start_collector: CollectorFactory,
    publisher: MqttPublisher,
) -> None:
    """More than Mosquitto's default max_queued_messages (1000) wait for it."""
    root = settings.mqtt.topic_root
    first = start_collector(settings)
    publish_range(publisher, root, 0, 200)
    assert wait_until(lambda: first.snapshot().total("stored") == 200)
    first.stop()
    publish_range(publisher, root, 200, 5200)  # 5,000 while nobody listens
    back = start_collector(settings)
    assert wait_until(lambda: back.snapshot().total("stored") == 5000, timeout=60)
    back.stop()
    assert database.scalar("SELECT count(*) FROM air_reading") == 5200


@SECURED_TOO
def test_shared_subscription_splits_the_feed_between_collectors(
    settings: Settings,
    database: Database,
    start_collector: CollectorFactory,
    publisher: MqttPublisher,
) -> None:
    root = settings.mqtt.topic_root
    a = start_collector(settings, client_id=f"a-{root}")
    b = start_collector(settings, client_id=f"b-{root}")
    publish_range(publisher, root, 0, 4000)
    assert wait_until(
        lambda: a.snapshot().total("stored") + b.snapshot().total("stored") == 4000, timeout=60
    )
    sa, sb = a.stop(), b.stop()
    assert sa.total("stored") > 500
    assert sb.total("stored") > 500
    assert sa.total("duplicates") + sb.total("duplicates") == 0
    assert database.scalar("SELECT count(*) FROM air_reading") == 4000


def test_a_database_outage_loses_nothing(
    mosquitto: MosquittoBroker,
    database: Database,
    topic_root: str,
    pg_proxy: TcpProxy,
    publisher: MqttPublisher,
) -> None:
    """Acks wait for the commit: while the database is away the broker keeps the messages."""
    from ingest.collector.service import Collector  # noqa: PLC0415

    settings = make_settings(mosquitto.url, database.schema, topic_root)
    collector = Collector(settings, via_proxy(database.url, pg_proxy))
    collector.start()
    assert collector.wait_connected(10)
    try:
        publish_range(publisher, topic_root, 0, 1000)
        assert wait_until(lambda: collector.snapshot().total("stored") == 1000)
        pg_proxy.cut()
        publish_range(publisher, topic_root, 1000, 3000)
        time.sleep(2)
        assert collector.snapshot().total("stored") == 1000
        pg_proxy.restore()
        assert wait_until(lambda: database.scalar("SELECT count(*) FROM air_reading") == 3000, 60)
        assert collector.snapshot().db_retries > 0
    finally:
        collector.stop()
    assert database.scalar("SELECT count(DISTINCT (device_id, ts)) FROM air_reading") == 3000


def test_a_broker_restart_loses_nothing(
    own_mosquitto: MosquittoBroker,
    database: Database,
    topic_root: str,
    start_collector: CollectorFactory,
) -> None:
    settings = make_settings(own_mosquitto.url, database.schema, topic_root)
    collector = start_collector(settings)
    pub = MqttPublisher(settings.mqtt, f"pub-{topic_root}")
    pub.start(attempts=5)
    try:
        publish_range(pub, topic_root, 0, 1000)
        assert wait_until(lambda: collector.snapshot().total("stored") == 1000)
        collector.stop()  # away: its session holds what follows
        publish_range(pub, topic_root, 1000, 3000)
        own_mosquitto.stop()  # persistence keeps the queued session across the restart
        own_mosquitto.start()
        collector = start_collector(settings)
        assert wait_until(
            lambda: database.scalar("SELECT count(*) FROM air_reading") == 3000, timeout=60
        ), (own_mosquitto.data_dir / "mosquitto.log").read_text()[-2000:]
    finally:
        pub.stop()


@pytest.fixture
def amqtt_broker() -> Iterator[AmqttBroker]:
    # Requested before start_collector, so the collectors stop while it still runs:
    # a paho client stopped during its reconnect attempts can leak its socket.
    broker = AmqttBroker()
    broker.start()
    yield broker
    broker.stop()


# amqtt 0.12 gives up on a QoS 1 message whose PUBACK has not come within 5 s
# (Yakifo/amqtt#391), so on a starved CPU a large backlog released at once can lose
# its tail. The backlog here is one the collector acknowledges well inside that.
AMQTT_BACKLOG = 300


def test_mqtt_311_persistent_session_on_the_embedded_amqtt_broker(
    amqtt_broker: AmqttBroker,
    database: Database,
    topic_root: str,
    start_collector: CollectorFactory,
) -> None:
    settings = make_settings(amqtt_broker.url, database.schema, topic_root)
    settings.mqtt.protocol = 4
    settings.mqtt.shared_group = None
    first = start_collector(settings)
    pub = MqttPublisher(settings.mqtt, f"pub-{topic_root}")
    pub.start(attempts=5)
    publish_range(pub, topic_root, 0, 300)
    assert wait_until(lambda: first.snapshot().total("stored") == 300)
    first.stop()
    publish_range(pub, topic_root, 300, 300 + AMQTT_BACKLOG)
    pub.stop()
    second = start_collector(settings)
    expected = 300 + AMQTT_BACKLOG
    assert wait_until(
        lambda: database.scalar("SELECT count(*) FROM air_reading") == expected, timeout=60
    )
    assert second.snapshot().total("stored") == AMQTT_BACKLOG


def test_mosquitto_config_of_the_project_is_what_the_fixtures_run(tmp_path: Path) -> None:
    from envmon.runtime.mosquitto import mosquitto_config  # noqa: PLC0415

    text = mosquitto_config(1234, tmp_path)
    assert "listener 1234 127.0.0.1" in text
    assert f"persistence_location {tmp_path}/" in text
    match = re.search(r"(?m)^max_queued_messages\s+(\d+)", text)
    assert match is not None
    queued = int(match.group(1))
    assert queued >= 1_000_000  # the default of 1000 silently drops QoS 1 messages


def test_a_collector_started_before_its_broker_waits_for_it(
    tmp_path: Path, database: Database, topic_root: str, caplog: pytest.LogCaptureFixture
) -> None:
    from ingest.collector.service import Collector  # noqa: PLC0415

    broker = MosquittoBroker(tmp_path / "late", port=free_port())
    settings = make_settings(broker.url, database.schema, topic_root)
    collector = Collector(settings, database.url)
    starting = threading.Thread(target=collector.start)
    with caplog.at_level(logging.WARNING, logger="ingest.mqtt"):
        starting.start()
        time.sleep(1.5)
        assert "not reachable" in caplog.text
        assert "Traceback" not in caplog.text
    broker.start()
    try:
        starting.join(30)
        assert collector.wait_connected(10)
        pub = MqttPublisher(settings.mqtt, f"pub-{topic_root}")
        pub.start(attempts=5)
        publish_range(pub, topic_root, 0, 50)
        pub.stop()
        assert wait_until(lambda: collector.snapshot().total("stored") == 50)
    finally:
        collector.stop()
        broker.stop()


def test_a_collector_started_before_its_database_waits_for_it(
    mosquitto: MosquittoBroker, database: Database, topic_root: str, pg_proxy: TcpProxy
) -> None:
    from ingest.collector.service import Collector  # noqa: PLC0415

    settings = make_settings(mosquitto.url, database.schema, topic_root)
    pg_proxy.cut()
    collector = Collector(settings, via_proxy(database.url, pg_proxy))
    starting = threading.Thread(target=collector.start)
    starting.start()
    assert wait_until(lambda: collector.snapshot().db_retries >= 2, timeout=15)
    pg_proxy.restore()
    starting.join(30)
    try:
        assert collector.wait_connected(10)
    finally:
        collector.stop()


def test_counters_per_feed_are_logged_periodically(
    mosquitto: MosquittoBroker,
    database: Database,
    topic_root: str,
    start_collector: CollectorFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(mosquitto.url, database.schema, topic_root, stats_interval_s=0.5)
    with caplog.at_level(logging.INFO, logger="ingest.collector.service"):
        collector = start_collector(settings)
        pub = MqttPublisher(settings.mqtt, f"pub-{topic_root}")
        pub.start(attempts=5)
        publish_range(pub, topic_root, 0, 30)
        pub.publish(f"{topic_root}/air/air-guantang/reading", b"nope")
        pub.stop()
        assert wait_until(settled(collector, 31))
        assert wait_until(lambda: "dead-lettered 1" in caplog.text, timeout=5)
    assert "air: received 31, stored 30, duplicates 0, dead-lettered 1" in caplog.text
