"""The operator commands: record, replay, backfill, and their errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from envmon.runtime.embedded import MosquittoBroker, free_port
from ingest.mqtt import MqttPublisher
from ingest.settings import Settings
from simulators import read_recording
from tests.fixtures.collectors import CollectorFactory, settled, wait_until
from tests.fixtures.servers import Database

pytestmark = [pytest.mark.broker, pytest.mark.database, pytest.mark.slow]


def envmon(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envmon", *args],
        env=env if env is not None else clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVMON_")}
    return env | extra


def broker_env(settings: Settings, mosquitto: MosquittoBroker) -> dict[str, str]:
    return clean_env(
        ENVMON_MQTT_URL=mosquitto.url, ENVMON_MQTT__TOPIC_ROOT=settings.mqtt.topic_root
    )


def test_a_recording_replays_into_exactly_its_rows(
    tmp_path: Path,
    settings: Settings,
    mosquitto: MosquittoBroker,
    database: Database,
    start_collector: CollectorFactory,
) -> None:
    record = tmp_path / "run.jsonl"
    env = broker_env(settings, mosquitto)
    done = envmon(
        "simulate",
        "--no-publish",
        "--duration",
        "30",
        "--speed",
        "4",
        "--record",
        str(record),
        "--scenario",
        "rsu-outage",
        "--malformed-rate",
        "0.02",
        env=env,
    )
    assert done.returncode == 0, done.stderr
    messages = [m for _, m in read_recording(record)]
    valid = sum(m.valid for m in messages)
    assert valid > 3000
    assert len(messages) > valid

    collector = start_collector(settings)
    done = envmon("replay", str(record), "--speed", "0", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["published"] == valid
    assert wait_until(settled(collector, len(messages)))
    snap = collector.stop()
    assert snap.total("stored") == valid
    assert snap.total("dead_lettered") == len(messages) - valid


def test_backfill_writes_a_day_of_history(
    settings: Settings,
    mosquitto: MosquittoBroker,
    database: Database,
    start_collector: CollectorFactory,
) -> None:
    collector = start_collector(settings)
    done = envmon("backfill", "--days", "1", "--feed", "air", env=broker_env(settings, mosquitto))
    assert done.returncode == 0, done.stderr
    published = json.loads(done.stdout.splitlines()[-1])["published"]
    stations = int(database.scalar("SELECT count(*) FROM device WHERE feed = 'air'"))
    assert published == stations * 24 * 60  # one reading a minute
    assert wait_until(lambda: collector.snapshot().total("stored") == published, timeout=60)
    assert database.scalar("SELECT count(DISTINCT device_id) FROM air_reading") == stations


def test_collect_without_servers_says_what_to_set() -> None:
    done = envmon("collect")
    assert done.returncode == 2
    assert "ENVMON_DATABASE_URL" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unreachable_database_is_one_clear_message() -> None:
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    done = envmon("migrate", env=clean_env(ENVMON_DATABASE_URL=url))
    assert done.returncode == 1
    assert "cannot reach PostgreSQL" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bad_setting_names_the_variable() -> None:
    done = envmon("migrate", env=clean_env(ENVMON_INGEST__BATCH_SIZE="lots"))
    assert done.returncode == 2
    assert "ENVMON_INGEST__BATCH_SIZE" in done.stderr


@pytest.mark.parametrize("absent", ["database", "broker"])
def test_collect_waits_for_an_absent_server_and_stops_on_sigterm(
    absent: str, database: Database, mosquitto: MosquittoBroker
) -> None:
    closed = free_port()
    env = clean_env(
        ENVMON_DATABASE_URL=(
            f"postgresql://nobody@127.0.0.1:{closed}/none" if absent == "database" else database.url
        ),
        ENVMON_DATABASE__SCHEMA_NAME=database.schema,
        ENVMON_MQTT_URL=f"mqtt://127.0.0.1:{closed}" if absent == "broker" else mosquitto.url,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "envmon", "collect"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    waiting = []
    for line in proc.stderr:
        waiting.append(line)
        if "retrying in" in line:
            break
    proc.send_signal(signal.SIGTERM)
    _, rest = proc.communicate(timeout=30)
    log = "".join(waiting) + rest
    assert proc.returncode == 0, log
    assert "not reachable" in log
    assert "Traceback" not in log


def test_collect_exits_70_when_its_writer_fails_for_good(
    database: Database, mosquitto: MosquittoBroker, settings: Settings
) -> None:
    env = clean_env(
        ENVMON_DATABASE_URL=database.url,
        ENVMON_DATABASE__SCHEMA_NAME=database.schema,
        ENVMON_MQTT_URL=mosquitto.url,
        ENVMON_MQTT__TOPIC_ROOT=settings.mqtt.topic_root,
        ENVMON_MQTT__CLIENT_ID=f"collector-{settings.mqtt.topic_root}",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "envmon", "collect"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    started = []
    for line in proc.stderr:
        started.append(line)
        if "subscribed to" in line:
            break
    with database.connect() as conn:
        conn.execute("DROP TABLE air_reading CASCADE")
        conn.commit()
    publisher = MqttPublisher(settings.mqtt, f"pub-{settings.mqtt.topic_root}")
    publisher.start(attempts=5)
    payload = b'{"v": 1, "ts": "2026-06-01T10:00:00+08:00", "seq": 1, "pm25_ugm3": 12.0}'
    publisher.publish(f"{settings.mqtt.topic_root}/air/air-guantang/reading", payload)
    assert publisher.wait_confirmed(10)
    publisher.stop()
    _, rest = proc.communicate(timeout=60)
    log = "".join(started) + rest
    assert proc.returncode == 70, log
    assert "permanent" in log
    assert "UndefinedTable" in log
