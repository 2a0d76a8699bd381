"""``envmon bench hj212``: its loggers are ones the gateway serves, a short run accounts
for every upload, and the limits it depends on are refused clearly."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from envmon.bench.hj212_fleet import PREFIX, Uploads, bench_registry
from envmon.bench.hj212_load import LoadStats, Plan, run_fleet
from envmon.bench.hj212_procs import raise_open_files
from ingest.gateway import Directory, Reading, build_reading
from ingest.hj212 import ACCEPT_STANDARD, decode_packet, needs_data_reply
from ingest.registry import load_registry
from ingest.settings import ConfigError

KEYS = {"connections", "packet_rate", "stored", "lost", "p50_ms", "p99_ms", "rss_mb"}


def envmon(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ENVMON_")}
    return subprocess.run(
        [sys.executable, "-m", "envmon", *args],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_bench_loggers_send_uploads_the_gateway_turns_into_readings() -> None:
    registry, loggers = bench_registry(load_registry(), 30)
    directory = Directory(registry)
    assert len(directory) == len(Directory(load_registry())) + 30
    uploads = Uploads(registry, datetime(2026, 6, 1, 2, 0, tzinfo=UTC), 3, 1.5)
    times = set()
    for spec in (loggers[0], loggers[-1]):
        logger = directory.get(spec.mn)
        assert logger is not None
        assert logger.device_id == spec.device_id
        assert spec.device_id.startswith(PREFIX)
        for k in range(len(uploads)):
            decoded = decode_packet(uploads.packet(spec, k), ACCEPT_STANDARD)
            assert decoded.ok, decoded.detail
            packet = decoded.packet
            assert packet is not None
            assert packet.qn == uploads.qns[k]
            assert needs_data_reply(packet)
            reading = build_reading(logger, packet, "bench")
            assert isinstance(reading, Reading), reading
            times.add(reading.ts)
    # the k-th uploads are whole seconds apart however long the interval
    assert sorted(t.second for t in times) == [0, 1, 3]


def test_a_logger_without_9014_sends_again_its_retries_then_only_waits() -> None:
    registry, loggers = bench_registry(load_registry(), 3)

    async def against_a_silent_gateway() -> tuple[LoadStats, bytes]:
        received = bytearray()

        async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while data := await reader.read(65536):
                received.extend(data)
            writer.close()

        server = await asyncio.start_server(swallow, "127.0.0.1", 0)
        address = server.sockets[0].getsockname()[:2]
        uploads = Uploads(registry, datetime.now(UTC).replace(microsecond=0), 3, 1.0)
        plan = Plan(address, 1.0, 2.0, 0.1, drain_s=2.0, resend_s=0.2, retries=3)
        stats = await run_fleet(loggers, uploads, plan)
        server.close()
        await server.wait_closed()
        return stats, bytes(received)

    stats, received = asyncio.run(against_a_silent_gateway())
    assert stats.sent == 3 * 2
    assert stats.resent == 3 * stats.sent
    assert received.count(b"##") == 4 * stats.sent
    assert stats.given_up == stats.sent == len(stats.unacked)
    assert stats.acked == 0
    assert not stats.latencies


def test_more_connections_than_the_hard_limit_allows_are_refused_by_name() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        pytest.skip("no hard limit on open files here")
    with pytest.raises(ConfigError, match=r"--connections .* hard limit"):
        raise_open_files(hard)


def test_a_bad_registry_file_for_the_gateway_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "registry.json"
    bad.write_text(json.dumps({"version": 1, "areas": []}))
    done = envmon(
        "hj212", "serve", "--registry", str(bad), ENVMON_MQTT_URL="mqtt://127.0.0.1:1"
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"--registry {bad} is not a registry file" in done.stderr


@pytest.mark.broker
@pytest.mark.slow
def test_a_short_run_stores_every_upload_sent(postgres_url: str) -> None:
    done = envmon(
        "bench", "hj212", "--connections", "20", "--duration", "5",
        ENVMON_DATABASE_URL=postgres_url,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(result) >= KEYS
    assert result["connections"] == 20
    assert result["sent"] == 20 * 5  # one upload a second each for 5 s
    assert result["stored"] == result["sent"] == result["acked"]
    assert result["lost"] == 0
    assert (result["unacked"], result["duplicates"], result["resent"]) == (0, 0, 0)
    assert result["dead_letters"] == 0
    assert result["gateway"]["published"] == result["sent"]
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    assert result["floor_p99_ms"] is not None
    assert result["broker_rate"] > 0
    assert result["rss_mb"] > 0
    assert "acked" in done.stderr  # progress while it runs
