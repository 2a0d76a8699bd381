"""``envmon bench hj212``: data loggers → the HJ 212 gateway process → broker → collector
process → database.

``--connections`` loggers (synthetic air stations, :mod:`~envmon.bench.hj212_fleet`) each
keep a TCP connection to one ``envmon hj212 serve`` and send a real-time upload (CN 2011,
ack asked) every ``--interval`` for ``--duration``; :mod:`~envmon.bench.hj212_load` is the
load generator. The gateway runs in its own process so that its memory is its own.

Beside the pipeline's figures it measures the machine's own limits in the same run: the
same loggers against a server that only echoes a 9014 (the latency floor of load
generator, kernel and loopback) and the raw QoS 1 rate of the broker (each upload is one
publish the gateway waits on). It prints progress on stderr, a summary, and as its last
line one JSON object.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import resource
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from psycopg import sql

from envmon.bench.hj212_fleet import PREFIX, BenchLogger, Uploads, bench_registry, write_registry
from envmon.bench.hj212_load import LoadStats, Plan, Progress, echo_main, run_load
from envmon.bench.hj212_procs import GatewayProcess, proc_cpu_s, proc_status, raise_open_files
from envmon.bench.ingest import broker_rate
from envmon.bench.ingest_procs import collector_main
from envmon.bench.servers import bench_servers
from envmon.bench.stats import machine, percentile
from envmon.runtime.embedded import EmbeddedError
from ingest.registry import Registry, load_registry, sync_registry
from ingest.settings import Settings
from ingest.storage.migrate import connect

CONNECTS_PER_S = 500.0  # how fast the loggers open their connections at start
FLOOR_S = 10.0  # the echo floor's send phase, at most
STORED_WAIT_S = 60.0


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def bench_hj212(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    raise_open_files(args.connections)
    with bench_servers(settings, args.storage, "envmon-bench-hj212-") as servers:
        settings, db_url, tmp = servers.settings, servers.db_url, servers.tmp
        registry, loggers = bench_registry(load_registry(), args.connections)
        with connect(db_url, settings.database.schema_name) as conn:
            sync_registry(conn, registry)
            conn.commit()
        path = write_registry(registry, tmp / "registry.json")
        setup = _Setup(settings, db_url, registry, path, loggers, tmp)
        return {"storage": args.storage, **_measure(setup, args)}


def _plan(address: tuple[str, int], args: argparse.Namespace, seconds: float) -> Plan:
    ramp = max(args.interval, args.connections / CONNECTS_PER_S)
    return Plan(address, args.interval, seconds, ramp, resend_s=args.resend)


def _uploads(registry: Registry, plan: Plan) -> Uploads:
    """DataTime of upload k: the second its send phase starts, plus k intervals."""
    start = datetime.now(UTC) + timedelta(seconds=plan.ramp_s + 1.0)
    count = math.ceil(plan.duration_s / plan.interval_s) + 1
    return Uploads(registry, start.replace(microsecond=0), count, plan.interval_s)


def _floor(
    registry: Registry, loggers: list[BenchLogger], args: argparse.Namespace
) -> dict[str, float | None]:
    """p50/p99 of the same loggers against a server that only answers."""
    ctx = mp.get_context("spawn")
    conn, child = ctx.Pipe()
    echo = ctx.Process(target=echo_main, args=(child,), name="bench-echo")
    echo.start()
    try:
        if not conn.poll(60):
            raise EmbeddedError("the echo server of the floor did not start")
        plan = _plan(("127.0.0.1", int(conn.recv())), args, min(args.duration, FLOOR_S))
        stats = run_load(loggers, _uploads(registry, plan), plan)
    finally:
        conn.send("stop")
        echo.join(10)
    return {"p50_ms": _ms(stats, 0.5), "p99_ms": _ms(stats, 0.99)}


def _ms(stats: LoadStats, q: float) -> float | None:
    if not stats.latencies:
        return None
    return round(percentile(stats.latencies, q) * 1000, 1)


@dataclass(frozen=True)
class _Setup:
    settings: Settings
    db_url: str
    registry: Registry
    registry_path: Path
    loggers: list[BenchLogger]
    tmp: Path


def _measure(setup: _Setup, args: argparse.Namespace) -> dict[str, Any]:
    settings, db_url, registry = setup.settings, setup.db_url, setup.registry
    n = args.connections
    note(f"the floor: {n} loggers against a bare 9014 echo ...")
    floor = _floor(registry, setup.loggers, args)
    note("the raw broker rate (QoS 1) ...")
    ctx = mp.get_context("spawn")
    raw_broker = broker_rate(ctx, settings, min(8.0, args.duration))
    coll_conn, coll_child = ctx.Pipe()
    collector = ctx.Process(
        target=collector_main, args=(settings.model_dump_json(), db_url, coll_child)
    )
    collector.start()
    coll_conn.recv()
    gateway = GatewayProcess(settings, setup.registry_path, setup.tmp / "gateway.log")
    try:
        gateway.start()
        plan = _plan(("127.0.0.1", gateway.port), args, args.duration)
        note(
            f"{n} loggers, an upload each every {args.interval:g} s for {args.duration:g} s"
            f" (connecting over {plan.ramp_s:.0f} s) ..."
        )
        gw_cpu0, load_cpu0, wall0 = proc_cpu_s(gateway.pid), time.process_time(), time.monotonic()
        uploads = _uploads(registry, plan)
        stats = run_load(setup.loggers, uploads, plan, _progress(gateway))
        wall = time.monotonic() - wall0
        gw_cpu1, load_cpu = proc_cpu_s(gateway.pid), time.process_time() - load_cpu0
        memory = proc_status(gateway.pid)
        note("waiting for the rows ...")
        stored = _wait_stored(db_url, settings.database.schema_name, stats)
        drained_s = time.monotonic() - wall0
        summary = gateway.stop()
    finally:
        gateway.close()
        coll_conn.send("stop")
        coll = coll_conn.recv()
        collector.join(30)
    gw_cpu = gw_cpu1 - gw_cpu0 if gw_cpu0 is not None and gw_cpu1 is not None else None
    packet_rate = stats.sent / stats.send_s
    result = {
        "connections": n,
        "interval_s": args.interval,
        "duration_s": stats.send_s,
        "packet_rate": round(packet_rate, 1),
        "sent": stats.sent,
        "acked": stats.acked,
        "stored": stored,
        "lost": stats.sent - stored,
        "duplicates": coll["snapshot"]["duplicates"],
        "resent": stats.resent,
        "given_up": stats.given_up,
        "unacked": len(stats.unacked),
        "unacked_first": stats.unacked[:10],
        "dead_letters": _dead_letters(db_url, settings.database.schema_name),
        "gateway_dead_lettered": summary.get("dead_lettered", {}),
        "p50_ms": _ms(stats, 0.5),
        "p99_ms": _ms(stats, 0.99),
        "max_ms": round(max(stats.latencies) * 1000, 1) if stats.latencies else None,
        "rss_mb": _round(memory.get("VmHWM")),
        "rss_final_mb": _round(memory.get("VmRSS")),
        "gateway_cpu_cores": _round(gw_cpu / wall if gw_cpu is not None else None, 2),
        "load_cpu_cores": round(load_cpu / wall, 2),
        "load_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "send_lag_p99_ms": round(percentile(stats.lags, 0.99) * 1000, 1) if stats.lags else None,
        "floor_p50_ms": floor["p50_ms"],
        "floor_p99_ms": floor["p99_ms"],
        "broker_rate": round(raw_broker),
        "packets_vs_broker": round(packet_rate / raw_broker, 3) if raw_broker else None,
        "connects": stats.connects,
        "disconnects": stats.disconnects,
        "connect_failures": stats.connect_failures,
        "late_replies": stats.late_replies,
        "other_replies": stats.other_replies,
        "gateway": {
            k: summary.get(k)
            for k in ("connections", "received", "published", "unconfirmed", "session_errors")
        },
        "drained_s": round(drained_s, 1),
        "machine": machine(),
    }
    _summary(result)
    return result


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _progress(gateway: GatewayProcess) -> Progress:
    seen = [0]

    def show(stats: LoadStats, t: float) -> None:
        recent = stats.latencies[seen[0] :]
        seen[0] = len(stats.latencies)
        p99 = f"{percentile(recent, 0.99) * 1000:.0f} ms" if recent else "-"
        rss = proc_status(gateway.pid).get("VmRSS")
        note(
            f"  {max(t, 0):4.0f} s  {stats.open} connected  {stats.sent:,} sent"
            f"  {stats.acked:,} acked  {stats.sent - stats.acked:,} waiting"
            f"  {stats.resent:,} resent  p99 {p99}  gateway RSS {rss or 0:.0f} MB"
        )

    return show


def _count(db_url: str, schema: str, query: sql.SQL, *params: object) -> int:
    with connect(db_url, schema) as conn:
        row = conn.execute(query, params).fetchone()
        return int(row[0]) if row else 0


def _stored_rows(db_url: str, schema: str) -> int:
    query = sql.SQL("SELECT count(*) FROM air_reading WHERE device_id LIKE %s")
    return _count(db_url, schema, query, PREFIX + "%")


def _dead_letters(db_url: str, schema: str) -> int:
    return _count(db_url, schema, sql.SQL("SELECT count(*) FROM dead_letter"))


def _wait_stored(db_url: str, schema: str, stats: LoadStats) -> int:
    """The bench's rows once all are in, or once no more come (3 s without a new row after
    as many as were acknowledged), or after ``STORED_WAIT_S``."""
    deadline = time.monotonic() + STORED_WAIT_S
    last, since = -1, time.monotonic()
    while True:
        stored = _stored_rows(db_url, schema)
        now = time.monotonic()
        if stored >= stats.sent or now > deadline:
            return stored
        if stored != last:
            last, since = stored, now
        elif stored >= stats.acked and now - since > 3.0:
            return stored
        time.sleep(0.25)


def _summary(r: dict[str, Any]) -> None:
    """The figures beside the machine's own limits, for a reader (the JSON follows)."""
    cores = machine()
    note(
        f"\n{r['connections']} loggers, {r['packet_rate']:,.0f} uploads/s for"
        f" {r['duration_s']:g} s on {cores}\n"
        f"  stored {r['stored']:,} of {r['sent']:,} sent: lost {r['lost']}, duplicates"
        f" {r['duplicates']}, resent {r['resent']}, unacked {r['unacked']}, dead letters"
        f" {r['dead_letters']}\n"
        f"  send → 9014 p50 / p99 {r['p50_ms']} / {r['p99_ms']} ms"
        f"    bare echo, same loggers: {r['floor_p50_ms']} / {r['floor_p99_ms']} ms\n"
        f"  uploads {r['packet_rate']:,.0f}/s"
        f"    broker alone {r['broker_rate']:,} msg/s ({r['packets_vs_broker']} of it)\n"
        f"  gateway RSS peak {r['rss_mb']} MB, at the end {r['rss_final_mb']} MB;"
        f" CPU: gateway {r['gateway_cpu_cores']}, load generator {r['load_cpu_cores']} cores"
    )
    for device, qn in r["unacked_first"]:
        note(f"  no 9014 for {device} QN {qn}")
