"""``envmon bench api``: response times of the HTTP API over days of the whole district.

The database is filled (or a kept fill reused, see ``bench_fill``), the API is served
from its own process as ``envmon api serve`` serves it, and 20 concurrent clients
(``--clients``) ask,
one group at a time:

- ``latest``: one device with its latest reading of each kind (any of the 1,943 devices);
- ``series_raw_1d``: one day of raw rows of a device's measure;
- ``series_hour_90d``: 90 days of the hourly rollups of a device's measure;
- ``kpi``: treatment rate (day, month, year to date), AQI now and daily, DMA leakage
  (day, month), RSUs online.

Side by side, ``floor`` is the (empty) list of maintenance windows under the same load:
HTTP, the key check, the pool and one trivial query — what any endpoint costs on this
machine. The clients share the
machine with the server and the database. Each group runs ``--runs`` times and the
medians of the runs' percentiles are reported; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg.rows import TupleRow

from envmon.bench.fill import Fill, district_fill
from envmon.bench.size import sizes
from envmon.bench.stats import machine, percentile
from envmon.runtime.embedded import free_port
from envmon.runtime.servers import storage_database
from ingest.feeds import FEEDS, LOCAL_TZ
from ingest.registry import Registry, load_registry
from ingest.settings import Settings
from ingest.storage.migrate import connect

log = logging.getLogger(__name__)
WARMUP = 40
TARGET_MS = {
    "latest": 50,
    "series_raw_1d": 150,
    "series_hour_1d": 150,
    "series_hour_90d": 150,
    "kpi": 150,
}


def bench_api(settings: Settings, args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    # An embedded server is kept between runs, with the fill in it.
    with storage_database(settings, args.storage, data_dir / "bench-api") as chosen:
        assert chosen.database.url is not None
        result = _run(chosen.database.url.get_secret_value(), chosen, args)
        return {"storage": args.storage, **result}


def _run(db_url: str, settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise
    fill = district_fill(
        db_url,
        args.schema,
        args.days,
        args.seed,
        refill=args.refill,
        timescaledb=settings.database.timescaledb,
    )
    with connect(db_url, args.schema) as conn:
        key = _bench_key(conn)
    registry = load_registry()
    groups = _requests(registry, fill, args.requests, random.Random(args.seed))  # noqa: S311
    groups = {"floor": ["/api/v1/silences"] * args.requests, **groups}
    with _api_server(settings, db_url, args.schema) as base:
        figures: dict[str, list[dict[str, float]]] = {g: [] for g in groups}
        for run in range(args.runs):
            for group, paths in groups.items():
                figures[group].append(asyncio.run(_drive(base, key, paths, args.clients)))
            log.info("run %d/%d done", run + 1, args.runs)
    result: dict[str, Any] = {
        "days": fill.days,
        "rows": fill.rows,
        "fill_s": round(fill.seconds),
        "fill_reused": fill.reused,
        "clients": args.clients,
        "requests_per_group": args.requests,
        "runs": args.runs,
        "pool_size": settings.api.pool_size,
        "workers": settings.api.workers,
    }
    for group, runs in figures.items():
        p50 = statistics.median(r["p50"] for r in runs)
        p95 = statistics.median(r["p95"] for r in runs)
        rps = statistics.median(r["rps"] for r in runs)
        result[group] = {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "per_s": round(rps)}
        if group in TARGET_MS:
            result[group]["target_p95_ms"] = TARGET_MS[group]
            result[group]["met"] = p95 < TARGET_MS[group]
        print(
            f"{group:>16}: p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  {rps:6.0f}/s"
            + (f"  (target p95 < {TARGET_MS[group]} ms)" if group in TARGET_MS else ""),
            file=sys.stderr,
        )
    with connect(db_url, args.schema) as conn:
        result["feed_tables"] = sizes(conn)
    result["machine"] = machine()
    return result


def _bench_key(conn: psycopg.Connection[TupleRow]) -> str:
    from services.api import create_key  # noqa: PLC0415

    key = create_key(conn, "bench", "viewer")
    conn.commit()
    return key


def _requests(registry: Registry, fill: Fill, n: int, rng: random.Random) -> dict[str, list[str]]:
    end = fill.end
    measured = list(_device_measures(registry))
    devices = [d.device_id for d in registry.devices()]
    day = (end - timedelta(days=1)).astimezone(LOCAL_TZ).date().isoformat()
    kpis = [
        f"/api/v1/kpi/treatment-rate?period=day&date={day}",
        f"/api/v1/kpi/treatment-rate?period=month&date={day}",
        f"/api/v1/kpi/treatment-rate?period=ytd&date={day}",
        "/api/v1/kpi/aqi",
        f"/api/v1/kpi/aqi-daily?date={day}",
        f"/api/v1/kpi/leakage?period=day&date={day}",
        f"/api/v1/kpi/leakage?period=month&date={day}",
        "/api/v1/kpi/rsu-online",
    ]

    def series(span: timedelta, bucket: str) -> list[str]:
        start = (end - span).isoformat().replace("+00:00", "Z")
        stop = end.isoformat().replace("+00:00", "Z")
        picks = [rng.choice(measured) for _ in range(n)]
        return [
            f"/api/v1/devices/{d}/series?measure={m}&from={start}&to={stop}&bucket={bucket}"
            for d, m in picks
        ]

    return {
        "latest": [f"/api/v1/devices/{rng.choice(devices)}" for _ in range(n)],
        "series_raw_1d": series(timedelta(days=1), "raw"),
        "series_hour_1d": series(timedelta(days=1), "hour"),
        "series_hour_90d": series(timedelta(days=90), "hour"),
        "kpi": [kpis[i % len(kpis)] for i in range(n)],
    }


def _device_measures(registry: Registry) -> Iterator[tuple[str, str]]:
    """(device, measure) for every device that has a rolled-up measure: its first."""
    for d in registry.devices():
        for kind in FEEDS[d.feed].kinds:
            if d.device_type in kind.device_types and kind.rollup and kind.rollup.measures:
                yield d.device_id, kind.rollup.measures[0]
                break


async def _drive(base: str, key: str, paths: list[str], clients: int) -> dict[str, float]:
    """``paths`` asked by ``clients`` concurrent clients: percentiles of the response
    times, and the requests answered per second."""
    times: list[float] = []
    queue = iter([*paths[:WARMUP], *paths])
    done = 0
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    began_at = 0.0
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as client:

        async def worker() -> None:
            nonlocal done, began_at
            for path in queue:
                began = time.perf_counter()
                response = await client.get(path, timeout=60)
                elapsed = time.perf_counter() - began
                if response.status_code != 200:
                    raise BenchError(f"GET {path}: {response.status_code} {response.text[:300]}")
                done += 1
                if done == WARMUP:
                    began_at = time.perf_counter()
                if done > WARMUP:
                    times.append(1000 * elapsed)

        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - began_at
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": percentile(times, 0.95),
        "rps": len(times) / wall,
    }


class BenchError(RuntimeError):
    pass


@contextlib.contextmanager
def _api_server(settings: Settings, db_url: str, schema: str) -> Iterator[str]:
    """``envmon api serve`` on the bench schema, in its own process; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "ENVMON_DATABASE_URL": db_url,
        "ENVMON_DATABASE__SCHEMA_NAME": schema,
        "ENVMON_API__HOST": "127.0.0.1",
        "ENVMON_API__PORT": str(port),
        "ENVMON_API__WORKERS": str(settings.api.workers),
        "ENVMON_API__POOL_SIZE": str(settings.api.pool_size),
    }
    env.pop("ENVMON_MQTT_URL", None)  # no broker to probe: health asks the database alone
    log_file = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "envmon", "api", "serve"], env=env,
        stdout=log_file, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None:
                log_file.seek(0)
                err = log_file.read().decode(errors="replace")
                raise BenchError(f"the API server exited: {err[-2000:]}")
            if time.monotonic() > deadline:
                raise BenchError("the API did not come up within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log_file.close()
