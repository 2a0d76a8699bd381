"""A broker that lets in only registered accounts, each doing only what it may: tried as an
attacker would, against a real Mosquitto started from deploy/'s configuration with the
files ``envmon broker config`` writes, and a collector storing what gets through."""

from __future__ import annotations

import json
import queue
import ssl
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from envmon.runtime.mosquitto import BrokerSecurity, MosquittoBroker, TlsFiles
from ingest.broker import (
    COLLECTOR_USER,
    SIMULATOR_USER,
    AccountPlan,
    FromDatabase,
    api_devices,
    issued_hashes,
    write_config,
)
from ingest.mqtt import BrokerUnavailableError, MqttPublisher, _new_client, connect_with_retry
from ingest.registry import load_registry
from ingest.settings import MqttSettings, Settings
from services.api import create_app, create_key
from tests.fixtures.collectors import CollectorFactory, wait_until
from tests.fixtures.security import Pki, SecuredBroker, read_secrets, secure_broker
from tests.fixtures.servers import Database, make_settings

pytestmark = [pytest.mark.broker, pytest.mark.database]
BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
DEVICE = "air-guantang"
OTHER = "air-hualing"


def reading(i: int) -> bytes:
    ts = (BASE + timedelta(seconds=i)).isoformat()
    return json.dumps({"v": 1, "ts": ts, "seq": i, "pm25_ugm3": 20, "o3_ugm3": 50.0}).encode()


def mqtt_settings(secured: SecuredBroker, user: str | None, **over: object) -> MqttSettings:
    return MqttSettings.model_validate({**secured.mqtt(user), **over})


def connect_outcome(settings: MqttSettings) -> str:
    """What the broker answers a connection: paho's reason text, or the exception's name."""
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    if (creds := settings.credentials()) is not None:
        client.username_pw_set(*creds)
    if (ctx := settings.tls_context()) is not None:
        client.tls_set_context(ctx)
    answers: queue.Queue[str] = queue.Queue()
    client.on_connect = lambda _c, _u, _f, rc, _p: answers.put(str(rc))
    try:
        client.connect(*settings.host_port())
    except OSError as exc:
        return type(exc).__name__
    client.loop_start()
    try:
        return answers.get(timeout=10)
    except queue.Empty:
        return "no answer"
    finally:
        client.disconnect()
        client.loop_stop()


class Eavesdropper:
    """A registered device that subscribes to what it must not read."""

    def __init__(self, settings: MqttSettings, filters: list[str]) -> None:
        self.granted: queue.Queue[list[bool]] = queue.Queue()
        self.messages: list[str] = []
        self._client = _new_client(settings, f"eve-{time.monotonic_ns()}", manual_ack=False)
        self._client.on_connect = lambda c, *_: c.subscribe([(f, 1) for f in filters])
        self._client.on_subscribe = lambda _c, _u, _m, rcs, _p: self.granted.put(
            [not rc.is_failure for rc in rcs]
        )
        self._client.on_message = lambda _c, _u, m: self.messages.append(m.topic)
        connect_with_retry(self._client, settings, attempts=3)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def test_anonymous_clients_and_wrong_secrets_are_refused_and_logged(
    secured_broker: SecuredBroker,
) -> None:
    s = secured_broker
    assert connect_outcome(mqtt_settings(s, None)) == "Not authorized"
    plain = MqttSettings(url=s.url(None, tls=False))
    assert connect_outcome(plain) == "Not authorized"
    guess = "guess"
    wrong = MqttSettings.model_validate({**s.mqtt(None), "url": s.url(DEVICE, secret=guess)})
    assert connect_outcome(wrong) == "Not authorized"
    assert connect_outcome(mqtt_settings(s, DEVICE)) == "Success"
    log = s.broker.log_text()
    assert log.count("disconnected, not authorised") >= 3  # every refusal is in the broker's log
    assert s.secrets[DEVICE] not in log


def test_a_device_publishes_only_as_itself(
    secured_broker: SecuredBroker,
    database: Database,
    topic_root: str,
    start_collector: CollectorFactory,
) -> None:
    s = secured_broker
    collector = start_collector(
        make_settings("", database.schema, topic_root, mqtt=s.mqtt(COLLECTOR_USER))
    )
    device = MqttPublisher(mqtt_settings(s, DEVICE), f"dev-{topic_root}")
    device.start(attempts=3)
    try:
        for i in range(10):
            device.publish(f"{topic_root}/air/{DEVICE}/reading", reading(i))
        for i in range(10, 15):  # its neighbour's next timestamps, to shadow its real ones
            device.publish(f"{topic_root}/air/{OTHER}/reading", reading(i))
        assert device.wait_confirmed(30)
    finally:
        device.stop()
    assert device.refused == 5
    assert wait_until(lambda: collector.snapshot().total("stored") == 10)
    time.sleep(0.5)  # anything that slipped through would arrive by now
    snap = collector.stop()
    assert snap.total("received") == 10
    assert database.scalar("SELECT count(*) FROM air_reading WHERE device_id = %s", (OTHER,)) == 0
    assert database.scalar("SELECT count(*) FROM dead_letter") == 0


def test_a_device_subscribing_to_the_feed_gets_nothing_and_takes_nothing(
    secured_broker: SecuredBroker,
    database: Database,
    topic_root: str,
    start_collector: CollectorFactory,
) -> None:
    s = secured_broker
    collector = start_collector(
        make_settings("", database.schema, topic_root, mqtt=s.mqtt(COLLECTOR_USER))
    )
    eve = Eavesdropper(
        mqtt_settings(s, DEVICE),
        ["#", f"$share/g{topic_root}/{topic_root}/#", f"{topic_root}/#", "$SYS/#"],
    )
    try:
        assert eve.granted.get(timeout=10) == [False, False, False, False]
        sim = MqttPublisher(mqtt_settings(s, SIMULATOR_USER), f"sim-{topic_root}")
        sim.start(attempts=3)
        for i in range(300):
            sim.publish(f"{topic_root}/air/{DEVICE}/reading", reading(i))
        assert sim.wait_confirmed(30)
        sim.stop()
        assert wait_until(lambda: collector.snapshot().total("stored") == 300)
    finally:
        eve.stop()
    assert eve.messages == []
    assert collector.stop().total("stored") == 300  # the collectors' group kept every message


def test_a_rotated_secret_replaces_the_old_one(tmp_path: Path, pki: Pki, topic_root: str) -> None:
    s = secure_broker(tmp_path, pki, topic_root)
    try:
        old = s.secrets[DEVICE]
        s.broker.stop()
        written = write_config(
            s.out_dir,
            load_registry(),
            AccountPlan(root=topic_root, shared_group=f"g{topic_root}", simulator=True),
            now=datetime.now(UTC),
            rotate={DEVICE},
        )
        assert written.outcome.rotated == [DEVICE]
        new = read_secrets(written.credentials)
        assert set(new) == {DEVICE}
        s.broker.start()
        settings = mqtt_settings(s, DEVICE)
        assert connect_outcome(settings) == "Not authorized"  # the CSV's old secret
        s.secrets[DEVICE] = new[DEVICE]
        assert new[DEVICE] != old
        assert connect_outcome(mqtt_settings(s, DEVICE)) == "Success"
        assert connect_outcome(mqtt_settings(s, OTHER)) == "Success"  # the others keep theirs
    finally:
        s.broker.stop()


# paho leaves the socket of a failed TLS handshake for the garbage collector to close
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_tls_with_another_ca_is_refused_with_the_setting_to_fix(
    secured_broker: SecuredBroker,
) -> None:
    s = secured_broker
    wrong = mqtt_settings(s, COLLECTOR_USER, ca_file=s.pki.other_ca)
    assert connect_outcome(wrong) == "SSLCertVerificationError"
    client = _new_client(wrong, "wrong-ca", manual_ack=False)
    with pytest.raises(BrokerUnavailableError, match="ENVMON_MQTT__CA_FILE"):
        connect_with_retry(client, wrong, attempts=1)
    system_trust = MqttSettings(url=s.url(COLLECTOR_USER))  # no CA given: the system's
    assert connect_outcome(system_trust) == "SSLCertVerificationError"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # as above
def test_client_certificates_when_the_broker_requires_them(
    tmp_path: Path, pki: Pki, topic_root: str
) -> None:
    s = secure_broker(tmp_path, pki, topic_root, require_certificate=True)
    try:
        without = mqtt_settings(s, DEVICE)
        assert connect_outcome(without) in {"SSLError", "ConnectionResetError", "no answer"}
        with_cert = mqtt_settings(s, DEVICE, cert_file=pki.client_cert, key_file=pki.client_key)
        assert connect_outcome(with_cert) == "Success"
    finally:
        s.broker.stop()


def test_tls_settings_need_an_mqtts_url(pki: Pki) -> None:
    with pytest.raises(ValueError, match="mqtts://"):
        MqttSettings(url="mqtt://broker:1883", ca_file=pki.ca)
    with pytest.raises(ValueError, match="ENVMON_MQTT__CA_FILE: no file"):
        MqttSettings(url="mqtts://broker", ca_file=Path("/nonexistent/ca.crt"))
    assert MqttSettings(url="mqtts://broker").host_port() == ("broker", 8883)
    assert isinstance(
        MqttSettings(url="mqtts://broker", ca_file=pki.ca).tls_context(), ssl.SSLContext
    )


def test_broker_config_command_writes_the_file_and_a_private_csv(tmp_path: Path) -> None:
    out = tmp_path / "auth"
    run = subprocess.run(
        [sys.executable, "-m", "envmon", "broker", "config", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    (csv_path,) = out.glob("credentials-*.csv")
    assert csv_path.stat().st_mode & 0o077 == 0
    assert (out / "dynamic-security.json").stat().st_mode & 0o077 == 0
    secrets = read_secrets(csv_path)
    assert DEVICE in secrets
    assert COLLECTOR_USER in secrets
    assert SIMULATOR_USER not in secrets  # only when asked for
    assert not any(v in run.stderr + run.stdout for v in secrets.values())
    again = subprocess.run(
        [sys.executable, "-m", "envmon", "broker", "config", "--out", str(out), "--rotate", "nope"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 2
    assert "--rotate names no account: nope" in again.stderr


def test_a_device_registered_through_the_api_gets_in_with_its_secret(
    tmp_path: Path, pki: Pki, database: Database
) -> None:
    """POST /devices issues the secret; broker config with the database admits the device;
    once retired, the next config leaves it out."""
    with database.connect() as conn:
        admin = create_key(conn, "admin-1", "admin")
    registry = load_registry()
    app = create_app(
        Settings(database={"schema_name": database.schema}), database.url, registry, []
    )
    new = {
        "device_id": "air-new-2", "feed": "air", "device_type": "air_station",
        "name_zh": "新站", "name_en": "New station", "area": "guantang", "lat": 24.35, "lon": 109.5,
    }  # fmt: skip
    with TestClient(app) as api:
        created = api.post("/api/v1/devices", json=new, headers={"X-API-Key": admin})
        secret = created.json()["mqtt"]["secret"]

        def configure() -> Path:
            with database.connect() as conn:
                added, retired = api_devices(conn)
                from_db = FromDatabase(added, retired, issued_hashes(conn))
            plan = AccountPlan(root="liudong")
            out = tmp_path / "auth"
            return write_config(out, registry, plan, now=datetime.now(UTC), database=from_db).config

        config = configure()
        tls = TlsFiles(pki.ca, pki.server_cert, pki.server_key)
        broker = MosquittoBroker(tmp_path / "mosquitto", security=BrokerSecurity(config, tls))
        broker.start()
        url = f"mqtts://air-new-2:{secret}@localhost:{broker.tls_port}"
        device = MqttSettings(url=url, ca_file=pki.ca)
        try:
            assert connect_outcome(device) == "Success"
            api.delete("/api/v1/devices/air-new-2", headers={"X-API-Key": admin})
            broker.stop()
            configure()
            broker.start()
            assert connect_outcome(device) == "Not authorized"  # retired: no account
        finally:
            broker.stop()
