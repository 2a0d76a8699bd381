"""A collector killed with SIGKILL mid-stream and restarted: no row lost, none doubled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest

from envmon.runtime.embedded import MosquittoBroker
from ingest.feeds import KINDS
from ingest.mqtt import MqttPublisher
from ingest.registry import load_registry
from simulators import LoadGenerator
from tests.fixtures.collectors import wait_until
from tests.fixtures.servers import Database, make_settings

pytestmark = [pytest.mark.broker, pytest.mark.database, pytest.mark.slow]
TOTAL = 30_000


def collector_process(env: dict[str, str], *, watch_log: bool) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "envmon", "collect"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if watch_log else subprocess.DEVNULL,
        text=True,
    )


@pytest.fixture
def collector_env(
    mosquitto: MosquittoBroker, database: Database, topic_root: str
) -> dict[str, str]:
    return {
        **os.environ,
        "ENVMON_DATABASE_URL": database.url,
        "ENVMON_MQTT_URL": mosquitto.url,
        "ENVMON_DATABASE__SCHEMA_NAME": database.schema,
        "ENVMON_DATABASE__TIMESCALEDB": "off",
        "ENVMON_MQTT__TOPIC_ROOT": topic_root,
        "ENVMON_MQTT__CLIENT_ID": f"killable-{topic_root}",
        "ENVMON_MQTT__SHARED_GROUP": f"g{topic_root}",
        "ENVMON_INGEST__BATCH_INTERVAL_MS": "100",
    }


def test_sigkill_mid_stream_loses_and_doubles_nothing(
    mosquitto: MosquittoBroker, database: Database, topic_root: str, collector_env: dict[str, str]
) -> None:
    def rows() -> int:
        union = " UNION ALL ".join(f"SELECT count(*) AS n FROM {k.table}" for k in KINDS)
        return int(database.scalar(f"SELECT sum(n) FROM ({union}) t"))

    first = collector_process(collector_env, watch_log=True)
    settings = make_settings(mosquitto.url, database.schema, topic_root)
    pub = MqttPublisher(settings.mqtt, f"pub-{topic_root}")
    pub.start(attempts=5)
    messages = LoadGenerator(load_registry(), seed=3, root=topic_root).take(
        TOTAL, datetime.now(UTC) - timedelta(hours=1)
    )

    def publish_all() -> None:
        for topic, payload in messages:
            pub.publish(topic, payload)

    sender = threading.Thread(target=publish_all)
    try:
        assert first.stderr is not None
        log = []
        for line in first.stderr:  # its persistent session must exist before we publish
            log.append(line)
            if "subscribed to" in line:
                break
        assert "subscribed to" in log[-1], "".join(log)
        sender.start()
        assert wait_until(lambda: rows() >= 3000, timeout=60), "the first collector stored nothing"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed_at = rows()
        assert killed_at < TOTAL, "killed too late to matter"
        sender.join(120)
        assert pub.wait_confirmed(60)
        second = collector_process(collector_env, watch_log=False)
        assert wait_until(lambda: rows() == TOTAL, timeout=120), rows()
        second.send_signal(signal.SIGTERM)
        out, _ = second.communicate(timeout=30)
    finally:
        pub.stop()
        if first.poll() is None:
            first.kill()
        first.communicate(timeout=10)
    summary = json.loads(out.strip().splitlines()[-1])
    assert rows() == TOTAL
    # What the first committed is not stored again (redelivered ones count as duplicates).
    assert summary["stored"] == TOTAL - killed_at
