"""``envmon bench api``: the HTTP API over days of the whole district, as a control room
uses it — requests at a rate — and how much each kind of request costs flat out.

The database is filled (or a kept fill reused, see ``bench_fill``), the API is served
from its own process as ``envmon api serve`` serves it, and ``h2load`` (C, far lighter
than the server) offers ``--rate`` requests a second (100), spread evenly over the
groups, all at once, open loop:

- ``latest``: one device with its latest reading of each kind (any of the 1,943 devices);
- ``series_raw_1d``: one day of raw rows of a device's measure;
- ``series_hour_1d``, ``series_hour_90d``: 1 and 90 days of a measure's hourly rollups;
- ``kpi``: treatment rate (day, month, year to date), AQI now and daily, DMA leakage
  (day, month), RSUs online.

Then each group, and ``floor`` — the (empty) list of maintenance windows: HTTP, the key
check, the pool and one trivial query — is driven flat out by ``--clients`` connections;
a group's saturation throughput is given as a ratio to the floor's, which cancels the
machine. The 90-day rollup series is also asked alone at its share of the rate, over
this fill and over a fill of ``--compare-days`` (1): its cost must follow the rollup rows,
not the raw rows. Each run is repeated
``--runs`` times and medians are reported; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
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

from envmon.bench import h2load
from envmon.bench.fill import Fill, district_fill
from envmon.bench.size import sizes
from envmon.bench.stats import machine
from envmon.runtime.embedded import free_port
from envmon.runtime.servers import storage_database
from ingest.feeds import FEEDS, LOCAL_TZ
from ingest.registry import Registry, load_registry
from ingest.settings import Settings
from ingest.storage.migrate import connect

log = logging.getLogger(__name__)
WARMUP_S = 3.0
SATURATION_S = 8.0
FLOOR, FLOOR_PATH = "floor", "/api/v1/silences"
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
    h2load.binary()  # a clear error before minutes of filling
    fill = district_fill(
        db_url, args.schema, args.days, args.seed, refill=args.refill,
        timescaledb=settings.database.timescaledb,
    )  # fmt: skip
    registry = load_registry()
    with connect(db_url, args.schema) as conn:
        key = _bench_key(conn)
    groups = _requests(registry, fill, args.requests, random.Random(args.seed))  # noqa: S311
    share = args.rate / len(groups)
    at_rate: dict[str, list[h2load.Load]] = {g: [] for g in groups}
    flat_out: dict[str, list[float]] = {g: [] for g in (FLOOR, *groups)}
    alone: list[float] = []
    with _api_server(settings, db_url, args.schema) as base:
        for run in range(args.runs):
            loads = h2load.run_together(
                base, key, groups, seconds=args.seconds, warmup_s=WARMUP_S, rate=share
            )
            for g, load in loads.items():
                at_rate[g].append(load)
            alone.append(_rollup_alone(base, key, groups, args, share))
            for g, paths in {FLOOR: [FLOOR_PATH], **groups}.items():
                [load] = h2load.run_together(
                    base, key, {g: paths}, seconds=SATURATION_S, warmup_s=WARMUP_S,
                    clients=args.clients,
                ).values()  # fmt: skip
                flat_out[g].append(load.per_s)
            log.info("run %d/%d done", run + 1, args.runs)
    floor = statistics.median(flat_out[FLOOR])
    figures = {g: _figures(g, at_rate[g], flat_out[g], floor, share) for g in groups}
    for g, f in figures.items():
        target = f" (target p95 < {TARGET_MS[g]} ms)" if g in TARGET_MS else ""
        print(
            f"{g:>16}: at {share:g}/s p50 {f['p50_ms']:6.1f} p95 {f['p95_ms']:6.1f}"
            f" p99 {f['p99_ms']:6.1f} ms, {f['errors']} errors{target};"
            f" flat out {f['saturation_per_s']:g}/s = {f['saturation_vs_floor']:.2f} x floor",
            file=sys.stderr,
        )
    result: dict[str, Any] = {
        "rate": args.rate,
        "groups": figures,
        "floor_per_s": round(floor, 1),
        "days": fill.days,
        "rows": fill.rows,
        "fill_s": round(fill.seconds),
        "fill_reused": fill.reused,
        "seconds_per_run": args.seconds,
        "saturation_clients": args.clients,
        "runs": args.runs,
        "pool_size": settings.api.pool_size,
        "workers": settings.api.workers,
        "load_generator": "h2load (nghttp2), open loop at the rate",
    }
    by_days = {str(fill.days): statistics.median(alone)}
    if args.compare_days and args.compare_days != args.days:
        by_days[str(args.compare_days)] = _rollup_p95(db_url, settings, args, share)
    result["series_hour_90d_alone_p95_ms_by_days"] = by_days
    with connect(db_url, args.schema) as conn:
        result["feed_tables"] = sizes(conn)
    result["machine"] = machine()
    return result


def _figures(
    group: str, loads: list[h2load.Load], flat_out: list[float], floor: float, share: float
) -> dict[str, Any]:
    """A group's medians over the runs, beside its target and its flat-out throughput."""
    p95 = statistics.median(x.p95_ms for x in loads)
    target = TARGET_MS.get(group)
    return {
        "p50_ms": statistics.median(x.p50_ms for x in loads),
        "p95_ms": p95,
        "p99_ms": statistics.median(x.p99_ms for x in loads),
        "errors": sum(x.errors for x in loads),
        "offered_per_s": round(share, 1),
        "answered_per_s": statistics.median(x.per_s for x in loads),
        "saturation_per_s": round(statistics.median(flat_out), 1),
        "saturation_vs_floor": round(statistics.median(flat_out) / floor, 3) if floor else None,
        **({"target_p95_ms": target, "met": p95 < target} if target is not None else {}),
    }


def _rollup_p95(db_url: str, settings: Settings, args: argparse.Namespace, share: float) -> float:
    """The 90-day rollup series at its share of the rate over a fill of other days: its
    cost must follow the rollup rows, not the raw rows."""
    schema = f"{args.schema}_{args.compare_days}d"
    fill = district_fill(
        db_url, schema, args.compare_days, args.seed, refill=args.refill,
        timescaledb=settings.database.timescaledb,
    )  # fmt: skip
    with connect(db_url, schema) as conn:
        key = _bench_key(conn)
    paths = _requests(load_registry(), fill, args.requests, random.Random(args.seed))  # noqa: S311
    with _api_server(settings, db_url, schema) as base:
        runs = [_rollup_alone(base, key, paths, args, share) for _ in range(args.runs)]
    return statistics.median(runs)


def _rollup_alone(
    base: str, key: str, groups: dict[str, list[str]], args: argparse.Namespace, share: float
) -> float:
    """The p95 of the 90-day rollup series at its share of the rate, nothing else asked."""
    [load] = h2load.run_together(
        base, key, {"series_hour_90d": groups["series_hour_90d"]},
        seconds=args.seconds, warmup_s=WARMUP_S, rate=share,
    ).values()  # fmt: skip
    return load.p95_ms


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
