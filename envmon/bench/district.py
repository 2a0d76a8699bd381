"""``envmon bench district``: what a server for Liudong costs — the whole system, each
service in its own process as deployed, at the district's own message rate.

The services: two collectors (``envmon collect``), the rule service with the outbox and
the report schedule (``envmon rules run``), the API (``envmon api serve``), the HJ 212
gateway (``envmon hj212 serve``), with PostgreSQL and Mosquitto. The load, not counted
as the system: ``envmon simulate`` publishing every device of the registry in real time
(the district's rate: about 190 messages a second, 97 % of them RSU heartbeats and
counters), and a control room polling the API (``--api-rate``, through h2load). The
district's six HJ 212 loggers upload once a minute, under 0.1 a second: the simulator
publishes their readings over MQTT, and the gateway is measured as it waits for them.

After ``--warmup`` seconds, each process's CPU time over ``--duration`` seconds gives its
share of one core; ``rss_mb`` is its resident memory at the end (PostgreSQL: the
proportional set sizes of all its processes, so shared buffers count once). The last
line is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from envmon.bench import h2load
from envmon.bench.hj212_procs import proc_cpu_s, proc_status
from envmon.bench.ingest_procs import count_rows
from envmon.bench.servers import bench_servers
from envmon.bench.stats import machine
from envmon.runtime.embedded import MosquittoBroker, free_port, wait_for_port
from ingest.settings import Settings
from ingest.storage.migrate import connect

SERVICES = {
    "collector-1": ["collect"],
    "collector-2": ["collect"],
    "rules": ["rules", "run"],
    "api": ["api", "serve"],
    "hj212-gateway": ["hj212", "serve", "--host", "127.0.0.1"],
}
LOAD = {"simulator": ["simulate", "--speed", "1"]}


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def bench_district(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    with bench_servers(settings, args.storage, "envmon-bench-district-") as servers:
        with connect(servers.db_url, servers.settings.database.schema_name) as conn:
            from services.api import create_key  # noqa: PLC0415

            key = create_key(conn, "bench-district", "viewer")
            conn.commit()
        broker = servers.broker
        pid = broker.pid if isinstance(broker, MosquittoBroker) else None
        result = _measure(servers.settings, servers.db_url, servers.tmp, key, args, broker_pid=pid)
        return {"storage": args.storage, **result}


def _env(settings: Settings, db_url: str, api_port: int, hj212_port: int) -> dict[str, str]:
    assert settings.mqtt.url is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVMON_")}
    return env | {
        "ENVMON_DATABASE_URL": db_url,
        "ENVMON_DATABASE__SCHEMA_NAME": settings.database.schema_name,
        "ENVMON_MQTT_URL": settings.mqtt.url,
        "ENVMON_MQTT__TOPIC_ROOT": settings.mqtt.topic_root,
        "ENVMON_MQTT__PROTOCOL": str(settings.mqtt.protocol),
        "ENVMON_API__HOST": "127.0.0.1",
        "ENVMON_API__PORT": str(api_port),
        "ENVMON_HJ212__PORT": str(hj212_port),
    }


@contextlib.contextmanager
def _processes(
    commands: dict[str, list[str]], env: dict[str, str], logs: Path
) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    running: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, command in commands.items():
            log = (logs / f"{name}.log").open("ab")
            running[name] = subprocess.Popen(  # noqa: S603 - this interpreter, our module
                [sys.executable, "-m", "envmon", *command], env=env, stdout=log, stderr=log
            )
        yield running
    finally:
        for p in running.values():
            if p.poll() is None:
                p.terminate()
        for p in running.values():
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _postgres_pids(db_url: str) -> list[int]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        parent = _ppid(int(row[0]))  # while this backend lives
    if parent is None:
        return []  # a server on another host: not measured
    return [parent, *_children(parent)]


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[1])


def _children(parent: int) -> list[int]:
    pids = [int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit()]
    return [p for p in pids if _ppid(p) == parent]


def _memory_mb(pids: list[int]) -> float:
    """One process's RSS; several processes' proportional set sizes summed (PostgreSQL's
    shared buffers counted once, not once per backend)."""
    if len(pids) == 1:
        return proc_status(pids[0]).get("VmRSS", 0.0)
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) / 1024
    return total


def _cpu(pids: list[int]) -> float:
    return sum(t for p in pids if (t := proc_cpu_s(p)) is not None)


def _measure(
    settings: Settings,
    db_url: str,
    tmp: Path,
    key: str,
    args: argparse.Namespace,
    *,
    broker_pid: int | None,
) -> dict[str, Any]:
    api_port, hj212_port = free_port(), free_port()
    env = _env(settings, db_url, api_port, hj212_port)
    with _processes(SERVICES, env, tmp) as services:
        wait_for_port("127.0.0.1", api_port, 60)
        wait_for_port("127.0.0.1", hj212_port, 60)
        with _processes(LOAD, env, tmp) as load:
            note(f"the district at its own rate: {args.warmup:.0f} s warm-up ...")
            poller = _poll_api(api_port, key, args, tmp)
            time.sleep(args.warmup)
            pids = {name: [p.pid] for name, p in {**services, **load}.items()}
            pids["postgresql"] = _postgres_pids(db_url)
            if broker_pid is not None:
                pids["mosquitto"] = [broker_pid]
            rows0 = count_rows(db_url, settings.database.schema_name)
            cpu0 = {name: _cpu(p) for name, p in pids.items()}
            began = time.monotonic()
            note(f"measuring for {args.duration:.0f} s ...")
            time.sleep(args.duration)
            seconds = time.monotonic() - began
            cpu1 = {name: _cpu(p) for name, p in pids.items()}
            rows1 = count_rows(db_url, settings.database.schema_name)
            rss = {n: _memory_mb(ps) for n, ps in pids.items()}
            failed = [n for n, p in {**services, **load}.items() if p.poll() is not None]
            api = h2load.finish(*poller, args.warmup + args.duration) if poller else None
    processes = {
        name: {
            "cpu_pct": round(100 * (cpu1[name] - cpu0[name]) / seconds, 1),
            "rss_mb": round(rss[name], 1),
            **({"load": True} if name in LOAD else {}),
        }
        for name in pids
    }
    system = [n for n in processes if n not in LOAD]
    result: dict[str, Any] = {
        "processes": processes,
        "system_cpu_pct": round(sum(processes[n]["cpu_pct"] for n in system), 1),
        "system_rss_mb": round(sum(processes[n]["rss_mb"] for n in system), 1),
        "stored_per_s": round((rows1 - rows0) / seconds, 1),
        "seconds": round(seconds, 1),
        "exited_early": failed,
        "machine": machine(),
    }
    if api is not None:
        result["api"] = {"rate": args.api_rate, "p95_ms": api.p95_ms, "errors": api.errors}
    for name, p in processes.items():
        tag = " (load)" if name in LOAD else ""
        note(f"{name:>14}: {p['cpu_pct']:5.1f} % of a core, {p['rss_mb']:6.1f} MB{tag}")
    return result


def _poll_api(
    port: int, key: str, args: argparse.Namespace, tmp: Path
) -> tuple[subprocess.Popen[str], Path] | None:
    """A control room: the district's KPIs and a station's latest readings, at a rate."""
    if not args.api_rate:
        return None
    paths = [
        "/api/v1/kpi/aqi", "/api/v1/kpi/treatment-rate", "/api/v1/kpi/rsu-online",
        "/api/v1/devices/air-guantang", "/api/v1/alerts?state=firing",
    ]  # fmt: skip
    return h2load.start(
        f"http://127.0.0.1:{port}", key, paths, seconds=args.duration, warmup_s=args.warmup,
        rate=args.api_rate, workdir=tmp,
        name="control-room",
    )  # fmt: skip
