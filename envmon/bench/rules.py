"""``envmon bench rules``: how long an evaluation pass of the whole pack takes.

The whole district (every device of the registry, all four feeds) is simulated into a
fresh schema by ingest's decoder and writer, one simulated minute at a time, and after
each minute the engine runs one pass of the default pack — as the live service does once
a second. The last line is one JSON object: pass times (p50/p95/max) against the
service's evaluation interval (the budget a pass must fit in), evaluations per pass, and
a pass with nothing new after each (``idle_pass_ms``: the engine only reads whether
anything changed, against a target of 20 ms).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from envmon.bench.stats import machine, percentile
from envmon.replay import StoredReplay
from envmon.runtime.servers import database_url
from ingest.registry import load_registry
from ingest.settings import Settings
from ingest.storage.migrate import connect, migrate
from services.notify.routing import default_routing
from services.rules import RuleEngine, default_pack, load_rules
from services.storage import MIGRATIONS as SERVICE_MIGRATIONS
from simulators import DistrictSimulator

log = logging.getLogger(__name__)
MINUTE = timedelta(minutes=1)
IDLE_TARGET_MS = 20  # a pass with nothing new


def bench_rules(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    with database_url(settings) as url:
        return _run(url, settings, args)


def _run(db_url: str, settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    schema = f"bench_rules_{uuid.uuid4().hex[:8]}"
    registry = load_registry()
    rules = load_rules(default_pack(), registry)
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    start = end - timedelta(minutes=args.minutes)
    sim = DistrictSimulator(registry, args.seed, (), 0.0, run_window=(start, end))
    migrate(db_url, schema, settings.database.timescaledb, SERVICE_MIGRATIONS)
    now = start
    replay = StoredReplay(db_url, schema, registry, sim)
    passes: list[float] = []
    idle: list[float] = []
    evaluations: list[int] = []
    try:
        with connect(db_url, schema, autocommit=True) as conn:
            engine = RuleEngine(rules, registry, default_routing(), lambda: now)
            while now < end:
                replay.store(now, now + MINUTE)
                now += MINUTE
                stats = engine.cycle(conn)
                passes.append(stats.seconds)
                evaluations.append(stats.evaluations)
                idle.append(engine.cycle(conn).seconds)  # nothing new: the query floor
                if len(passes) % 10 == 0:
                    log.info(
                        "%d/%d simulated minutes, last pass %.0f ms",
                        len(passes), args.minutes, 1000 * stats.seconds,
                    )  # fmt: skip
    finally:
        replay.close()
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    steady = passes[len(passes) // 4 :]  # after the first windows have filled
    budget = settings.rules.interval_s
    return {
        "rules": len(rules),
        "devices": len(registry.devices()),
        "simulated_minutes": args.minutes,
        "messages": replay.messages,
        "pass_ms_p50": round(1000 * statistics.median(steady), 1),
        "pass_ms_p95": round(1000 * percentile(steady, 0.95), 1),
        "pass_ms_max": round(1000 * max(steady), 1),
        "idle_pass_ms": round(1000 * statistics.median(idle), 1),
        "idle_pass_ms_max": round(1000 * max(idle), 1),
        "idle_target_ms": IDLE_TARGET_MS,
        "evaluations_per_pass_p50": statistics.median(evaluations),
        "interval_ms": round(1000 * budget),
        "p95_share_of_interval": round(percentile(steady, 0.95) / budget, 3),
        "machine": machine(),
    }
