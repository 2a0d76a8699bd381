"""Simulated HJ 212 loggers → the gateway → Mosquitto → a collector → rows, with real
servers: the values and flags arrive; a gateway killed mid-stream (SIGKILL) and
restarted loses and doubles nothing; while the broker is down no logger gets a 9014,
and once it is back nothing is missing; a six-hour outage of every logger's link is
recovered by history requests, row for row."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from envmon.runtime.embedded import MosquittoBroker, free_port, wait_for_port
from ingest.settings import Settings
from tests.fixtures.collectors import CollectorFactory, wait_until
from tests.fixtures.hj212 import FleetThread, GatewayFactory
from tests.fixtures.servers import Database, make_settings

pytestmark = [pytest.mark.broker, pytest.mark.database, pytest.mark.slow]


def stored(database: Database) -> dict[tuple[str, datetime], tuple[Any, ...]]:
    """(device, ts) → (seq, flags, the row's values by field) of the HJ 212 sites' rows."""
    out: dict[tuple[str, datetime], tuple[Any, ...]] = {}
    with database.connect() as conn:
        for table in ("wastewater_reading", "air_reading"):
            cur = conn.execute(
                f"SELECT * FROM {table} WHERE device_id IN"
                " ('wwtp-guantang', 'wwtp-luorong-south', 'wwtp-xiajintian',"
                "  'air-luorong', 'air-luobu', 'air-jiuziling')"
            )
            names = [c.name for c in cur.description or ()]
            for row in cur.fetchall():
                r = dict(zip(names, row, strict=True))
                out[(r["device_id"], r["ts"])] = (r["seq"], r["flags"], r)
    return out


def count(database: Database) -> int:
    return len(stored(database))


class GatewayProcess:
    """``envmon hj212 serve`` in a process of its own, on a fixed port."""

    def __init__(self, settings: Settings, port: int) -> None:
        self.port = port
        self.env = {
            **os.environ,
            "ENVMON_MQTT_URL": settings.mqtt.url or "",
            "ENVMON_MQTT__TOPIC_ROOT": settings.mqtt.topic_root,
            "ENVMON_HJ212__HOST": "127.0.0.1",
            "ENVMON_HJ212__PORT": str(port),
        }
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "envmon", "hj212", "serve"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        wait_for_port("127.0.0.1", self.port, 20)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.communicate(timeout=10)  # reaps it and closes its pipe

    def stop(self) -> dict[str, Any]:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=30)
        assert self.proc.returncode == 0
        summary: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return summary

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=10)


@pytest.fixture
def gateway_process(settings: Settings) -> Iterator[GatewayProcess]:
    gateway = GatewayProcess(settings, free_port())
    yield gateway
    gateway.close()


def check_values(fleet: FleetThread, rows: dict[tuple[str, datetime], tuple[Any, ...]]) -> None:
    """Each stored reading is the feed simulator's, with its seq and flags."""
    planned = fleet.readings()
    for key, (seq, flags, row) in rows.items():
        logger = planned[key]
        payload = logger.payload_for(logger.profile.cfg.readings_cn, key[1])
        sent = payload.model_dump(exclude={"v", "ts", "seq", "flags"}, exclude_none=True)
        assert {k: row[k] for k in sent} == pytest.approx(sent, rel=1e-6, abs=1e-6), key
        assert seq == int(key[1].timestamp())
        assert flags is None if planned[key].profile.legacy else set(flags) == set(sent)
        if logger.profile.legacy:
            assert flags is None
        else:
            assert set(flags) == set(sent), key
            assert set(flags.values()) <= {"N", "C"}


def test_loggers_through_the_gateway_become_rows_with_flags(
    settings: Settings,
    database: Database,
    start_collector: CollectorFactory,
    gateway_process: GatewayProcess,
) -> None:
    collector = start_collector(settings)
    gateway_process.start()
    fleet = FleetThread(
        ("127.0.0.1", gateway_process.port), window=timedelta(hours=2), speed=3600,
        resend_s=2.0, malformed_rate=0.1, split_packet_rate=0.1, split_write_rate=0.2,
    ).start()  # fmt: skip
    stats = fleet.join(60)
    planned = fleet.readings()
    assert wait_until(lambda: count(database) == len(planned), 30), count(database)
    summary = gateway_process.stop()
    assert stats.unacked == 0
    assert stats.readings.total() == len(planned) == 6 * 120
    assert summary["dead_lettered"] == dict(stats.malformed)
    assert summary["skipped"]["2061"] == stats.sent["2061"] > 0
    assert summary["replied"]["1012"] == stats.time_requests == 6
    # 9013: the 1013s, and the 2025 logger's serial (1001, answered by its MN) and heartbeats
    serials, beats = stats.edition2025["1001"], stats.edition2025["9015"]
    assert summary["replied"]["9013"] == 6 + serials + beats
    assert summary["replied"]["1002"] == summary["serials"] == stats.edition2025["1002"] == 1
    assert summary["heartbeats"] == beats
    rows = stored(database)
    assert set(rows) == set(planned)
    check_values(fleet, rows)
    assert wait_until(lambda: database.scalar("SELECT count(*) FROM dead_letter") == sum(
        stats.malformed.values()), 10)  # fmt: skip
    assert collector.snapshot().dead_letter_reasons == dict(stats.malformed)


def test_a_gateway_killed_mid_stream_loses_and_doubles_nothing(
    settings: Settings,
    database: Database,
    start_collector: CollectorFactory,
    gateway_process: GatewayProcess,
) -> None:
    collector = start_collector(settings)
    gateway_process.start()
    fleet = FleetThread(
        ("127.0.0.1", gateway_process.port), window=timedelta(hours=3), speed=1200,
        resend_s=1.0,
    ).start()  # fmt: skip
    try:
        planned = fleet.readings()
        assert wait_until(lambda: count(database) >= len(planned) // 4, 30)
        gateway_process.kill()
        killed_at = count(database)
        assert killed_at < len(planned), "killed too late to matter"
        time.sleep(1.0)  # the loggers go on measuring, and keep what got no 9014
        gateway_process.start()
        stats = fleet.join(90)
    finally:
        fleet.stop()
    assert wait_until(lambda: count(database) == len(planned), 30), (count(database), len(planned))
    summary = gateway_process.stop()
    assert stats.unacked == 0
    assert stats.readings.total() == len(planned)
    assert stats.connects >= 2 * 6  # each logger lost its connection and came back
    assert summary["published"] > 0
    rows = stored(database)
    assert set(rows) == set(planned)  # nothing lost
    check_values(fleet, rows)
    snap = collector.snapshot()
    # nothing doubled: every resend of a stored reading is a counted duplicate
    assert snap.stored.get("wastewater", 0) + snap.stored.get("air", 0) == len(planned)
    assert database.scalar("SELECT count(*) FROM dead_letter") == 0


def test_no_9014_while_the_broker_is_down_and_nothing_lost_after(
    own_mosquitto: MosquittoBroker,
    database: Database,
    topic_root: str,
    start_collector: CollectorFactory,
    start_gateway: GatewayFactory,
) -> None:
    settings = make_settings(own_mosquitto.url, database.schema, topic_root)
    start_collector(settings)
    gateway = start_gateway(settings, publish_timeout_s=2.0)
    assert wait_until(gateway.gateway.broker_connected, 10)
    fleet = FleetThread(gateway.address, window=timedelta(hours=3), speed=900, resend_s=1.0).start()
    try:
        planned = fleet.readings()
        assert wait_until(lambda: count(database) >= len(planned) // 4, 30)
        own_mosquitto.stop()
        time.sleep(0.5)  # replies to what the broker acknowledged before it went
        acked = fleet.fleet.stats.readings.total()
        unconfirmed = gateway.gateway.stats.unconfirmed
        time.sleep(2.0)
        assert fleet.fleet.stats.readings.total() == acked  # no 9014 while it is down
        assert gateway.gateway.stats.unconfirmed > unconfirmed  # the uploads kept coming
        own_mosquitto.start()
        stats = fleet.join(90)
    finally:
        fleet.stop()
    assert wait_until(lambda: count(database) == len(planned), 60), (count(database), len(planned))
    assert stats.unacked == 0
    assert stats.readings.total() == len(planned)
    assert set(stored(database)) == set(planned)


def test_a_six_hour_outage_is_recovered_by_history_request_row_for_row(
    settings: Settings,
    database: Database,
    start_collector: CollectorFactory,
    start_gateway: GatewayFactory,
) -> None:
    start_collector(settings)
    gateway = start_gateway(settings, history_delay_s=0.3)
    assert wait_until(gateway.gateway.broker_connected, 10)
    down = (timedelta(hours=1), timedelta(hours=7))  # every logger's link, six hours
    fleet = FleetThread(
        gateway.address, window=timedelta(hours=9), speed=2400, resend_s=1.0, outages=(down,)
    )
    outage = (fleet.window[0] + down[0], fleet.window[0] + down[1])
    planned = fleet.readings()
    lost = {
        key
        for key, x in planned.items()
        for send, cn, data_time in x.schedule()
        if (x.profile.device_id, data_time) == key and outage[0] <= send < outage[1]
        and cn == x.profile.cfg.readings_cn
    }  # fmt: skip
    assert len(lost) >= 6 * 359
    try:
        fleet.start()
        stats = fleet.join(90)
    finally:
        fleet.stop()
    assert stats.lost_in_outage == len(lost)
    assert wait_until(lambda: count(database) == len(planned), 30), (count(database), len(planned))
    history = gateway.gateway.stats.as_dict()["history"]
    assert history["recovered"] == stats.history_sent == len(lost), (history, stats.as_dict())
    assert history["failed"] == 0
    assert history["missing_now"] == 0
    rows = stored(database)
    assert set(rows) == set(planned)  # every lost reading's period recovered, nothing else
    live = {k: v for k, v in rows.items() if k not in lost}
    check_values(fleet, live)
    for key in lost:  # the logger's minute data for the period stands in for the reading
        seq, flags, row = rows[key]
        payload = planned[key].payload_for("2051", key[1])
        sent = payload.model_dump(exclude={"v", "ts", "seq", "flags"}, exclude_none=True)
        assert {k: row[k] for k in sent} == pytest.approx(sent, rel=1e-6, abs=1e-6), key
        assert seq == int(key[1].timestamp())
        assert flags is None if planned[key].profile.legacy else set(flags) == set(sent)
