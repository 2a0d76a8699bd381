"""``envmon demo`` and ``envmon up``: the whole district simulated into the collector."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from envmon.runtime.alert_feed import AlertFeed
from envmon.runtime.hj212 import Hj212Run, hj212_devices, start_hj212
from envmon.runtime.progress import ProgressLine
from envmon.runtime.reports import start_report_schedule
from envmon.runtime.servers import Runtime
from ingest.collector.service import Collector
from ingest.collector.stats import StatsSnapshot
from ingest.loops import LoopWatch
from ingest.mqtt import MqttPublisher
from ingest.registry import Registry, sync_registry
from ingest.settings import Settings
from ingest.storage.migrate import connect
from services.notify import AckLinks
from services.rules import RuleService
from simulators import DistrictSimulator, SimClock, start_for
from simulators.publish import DriveStats, drive

log = logging.getLogger(__name__)
SETTLE_TIMEOUT_S = 120.0
DEMO_MAX_RATE = 4000.0  # messages per second a demo offers at most
RSU_MSG_PER_S = 1 / 10 + 1 / 60  # a heartbeat every 10 s, counters every 60 s


@dataclass(frozen=True)
class RunOptions:
    scenarios: Sequence[str] = ()
    speed: float = 1.0
    seed: int = 0
    malformed_rate: float = 0.01
    max_rate: float = DEMO_MAX_RATE


def demo_registry(registry: Registry, speed: float, max_rate: float) -> Registry:
    """The district, with only as many intersections' RSUs as the offered rate allows.

    RSUs publish ~99 % of the district's messages (a heartbeat every 10 s); at a high
    ``speed`` the whole district would offer more than one machine can store in time, so
    a fast demo simulates the first intersections only (and registers only those).
    """
    others = (len(registry.wastewater) + len(registry.air)) / 60.0
    others += sum(len(d.inlet_meters) + len(d.pressure_points) for d in registry.dmas) / 60.0
    fit = int((max_rate / speed - others) / RSU_MSG_PER_S)
    if fit >= len(registry.rsus):
        return registry
    keep: set[str] = set()
    rsus = 0
    for ix in registry.intersections:
        n = sum(1 for r in registry.rsus if r.intersection == ix.id)
        if keep and rsus + n > fit:
            break
        keep.add(ix.id)
        rsus += n
    log.warning(
        "speed %g: simulating %d of %d intersections (%d RSUs) to stay within %.0f msg/s",
        speed,
        len(keep),
        len(registry.intersections),
        rsus,
        max_rate,
    )
    sites = registry.sites() - {i.id for i in registry.intersections}
    return registry.restricted_to(sites | keep)


class DataClock:
    """The newest measurement time stored: the rule engine's clock in simulated runs.

    A simulated clock runs ahead of what is stored by the pipeline's latency (300 ms of
    wall time is minutes of simulated time at high speed), which would make every device
    look silent; judging silence against the newest stored data does not. The MQTT
    simulators and the HJ 212 loggers (``apart``) are paced apart and may lag each other
    by seconds of wall time under load: the clock is the newest time of the one behind,
    so that neither path's devices look silent because the other ran ahead.

    A device cannot push it ahead: a time past the simulated clock (``bound``) — which the
    collector accepts, as it lies within its tolerance of the real clock — is not counted,
    so one future-dated message cannot make the whole district look silent.
    """

    def __init__(
        self,
        db_url: str,
        schema: str,
        bound: SimClock,
        apart: frozenset[str] = frozenset(),
    ) -> None:
        self._url, self._schema, self._bound = db_url, schema, bound
        self._last = bound.start
        self._apart = sorted(apart)
        self._conn: psycopg.Connection[TupleRow] | None = None

    def __call__(self) -> datetime:
        try:
            if self._conn is None or self._conn.closed:
                self._conn = connect(self._url, self._schema, autocommit=True)
            row = self._conn.execute(
                "SELECT max(ts) FILTER (WHERE device_id <> ALL(%(a)s)),"
                " max(ts) FILTER (WHERE device_id = ANY(%(a)s))"
                " FROM device_latest WHERE ts <= %(now)s",
                {"a": self._apart, "now": self._bound.now()},
            ).fetchone()
        except psycopg.OperationalError:
            return self._last
        newest = [t for t in (row or ()) if t is not None]
        if newest:
            self._last = max(self._last, min(newest))
        return self._last

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


def fired_alerts(db_url: str, schema: str, first_id: int = 0) -> dict[str, int]:
    """How many alerts each rule fired (of this run: from alert ``first_id`` on)."""
    with connect(db_url, schema) as conn:
        rows = conn.execute(
            "SELECT rule_id, count(*) FROM alert WHERE fired_at IS NOT NULL AND id >= %s"
            " GROUP BY rule_id ORDER BY rule_id",
            (first_id,),
        ).fetchall()
    return {str(r): int(n) for r, n in rows}


def _wait_settled(collector: Collector, sent: int, timeout: float, watch: LoopWatch) -> bool:
    """Until the collector has received all that was sent and committed it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not watch.failed.is_set():
        snap = collector.snapshot()
        if snap.total("received") >= sent and snap.pending == 0:
            return True
        time.sleep(0.05)
    return False


def summarise(
    drove: DriveStats, snap: StatsSnapshot, runtime: Runtime, hj212: Hj212Run | None = None
) -> dict[str, Any]:
    """What went where. Readings of HJ 212 loggers count as published once their logger
    got its 9014; what the loggers sent malformed counts with the injected messages."""
    valid = drove.valid + (hj212.readings() if hj212 is not None else Counter())
    injected = drove.malformed + (hj212.injected() if hj212 is not None else Counter())
    published = valid.total()
    stored = snap.total("stored")
    feeds = sorted(set(valid) | set(snap.stored) | set(snap.dead_lettered))
    out = {
        "published": published,
        "stored": stored,
        "dead_lettered": snap.total("dead_lettered"),
        "duplicates": snap.total("duplicates"),
        "malformed_injected": injected.total(),
        "lost": published - stored,
        "by_feed": {
            f: {
                "published": valid.get(f, 0),
                "stored": snap.stored.get(f, 0),
                "duplicates": snap.duplicates.get(f, 0),
                "dead_lettered": snap.dead_lettered.get(f, 0),
            }
            for f in feeds
        },
        "dead_letter_reasons": dict(sorted(snap.dead_letter_reasons.items())),
        "injected_reasons": dict(sorted(injected.items())),
        "storage": runtime.flavour,
        "broker": "embedded" if runtime.embedded_broker else "external",
    }
    if hj212 is not None:
        out["hj212"] = hj212.summary()
    return out


def run_demo(
    runtime: Runtime,
    duration_s: float,
    options: RunOptions,
    progress: ProgressLine | None = None,
) -> dict[str, Any]:
    """A bounded run ending by itself; returns the counts of what went where."""
    settings = runtime.settings
    registry = demo_registry(runtime.registry, options.speed, options.max_rate)
    if registry is not runtime.registry:
        with connect(runtime.db_url, settings.database.schema_name) as conn:
            sync_registry(conn, registry)
    # A session of its own, so nothing queued for an earlier run is counted in this one.
    client_id = f"envmon-demo-{uuid.uuid4().hex[:8]}"
    stop = threading.Event()
    watch = LoopWatch()
    watch.wake(stop)  # a loop that fails for good ends the run early
    collector = Collector(settings, runtime.db_url, client_id=client_id, watch=watch)
    collector.start(broker_attempts=5)
    if not collector.wait_connected(30):
        raise SystemExit("the collector could not subscribe to the broker within 30 s")
    feed = AlertFeed(runtime.db_url, settings.database.schema_name)
    if progress is not None:
        progress.watch(collector, feed)
    publisher = MqttPublisher(settings.mqtt, f"{client_id}-sim")
    publisher.start(attempts=5)
    now = datetime.now(UTC)
    end = now + timedelta(seconds=duration_s)
    start = start_for(duration_s, options.speed, end)
    clock = SimClock(start, options.speed)
    data_clock = DataClock(
        runtime.db_url, settings.database.schema_name, clock, hj212_devices(registry)
    )
    rules = RuleService(settings, runtime.db_url, registry, clock=data_clock, watch=watch)
    rules.start()
    sim = DistrictSimulator(
        registry,
        options.seed,
        options.scenarios,
        options.malformed_rate,
        run_window=(start, end),
        root=settings.mqtt.topic_root,
        exclude=hj212_devices(registry),
    )
    for active in sim.active_scenarios:
        log.info("scenario %s", active)
    # a port of its own: a bounded run must not need the configured one free
    local = settings.model_copy(update={"hj212": settings.hj212.model_copy(update={"port": 0})})
    hj212 = start_hj212(
        local, registry, sim, clock=clock, window=(start, end),
        malformed_rate=options.malformed_rate, seed=options.seed,
    )  # fmt: skip
    stats = DriveStats()
    drive(
        sim.messages(start, end),
        publisher,
        root=settings.mqtt.topic_root,
        clock=clock,
        stop=stop,
        stats=stats,
        on_progress=(lambda d: progress.update(d, collector.snapshot())) if progress else None,
    )
    if not publisher.wait_confirmed(SETTLE_TIMEOUT_S):
        log.error("the broker did not confirm %d publishes", publisher.backlog())
    publisher.stop()
    if not hj212.wait_done(SETTLE_TIMEOUT_S):
        log.error("the HJ 212 loggers did not finish within %.0f s", SETTLE_TIMEOUT_S)
    sent = stats.sent + hj212.published()
    if not _wait_settled(collector, sent, SETTLE_TIMEOUT_S, watch):
        log.error("the collector did not receive everything within %.0f s", SETTLE_TIMEOUT_S)
    snap = collector.stop()
    hj212.stop()
    if not watch.failed.is_set():
        collector.refresh_rollups()
    rules.stop()
    if not watch.failed.is_set():
        rules.catch_up()  # windows closed by the last data
    data_clock.close()
    feed.close()
    return _result(stats, snap, runtime, watch, hj212, feed.first_alert)


def _result(  # noqa: PLR0917 - the parts of one summary
    drove: DriveStats,
    snap: StatsSnapshot,
    runtime: Runtime,
    watch: LoopWatch,
    hj212: Hj212Run,
    first_alert: int,
) -> dict[str, Any]:
    """The summary, with the loop that failed for good (the command then exits non-zero);
    the alerts are this run's."""
    result = summarise(drove, snap, runtime, hj212)
    schema = runtime.settings.database.schema_name
    result["alerts"] = fired_alerts(runtime.db_url, schema, first_alert)
    if watch.error is not None:
        result["failed"] = str(watch.error)
    return result


def console_links(settings: Settings) -> AckLinks | None:
    """The acknowledge links ``envmon up`` prints under each alert: to the console it
    serves, signed with the run's link secret."""
    base = f"http://{settings.api.host}:{settings.api.port}"
    return AckLinks.configured(base, settings.console)


def run_forever(
    runtime: Runtime,
    options: RunOptions,
    stop: threading.Event,
    progress: ProgressLine,
) -> dict[str, Any]:
    """``envmon up``: collector and simulators until ``stop`` is set."""
    settings = runtime.settings
    watch = LoopWatch()
    watch.wake(stop)  # a loop that fails for good stops the run
    collector = Collector(settings, runtime.db_url, watch=watch)
    collector.start()
    feed = AlertFeed(runtime.db_url, settings.database.schema_name, console_links(settings))
    progress.watch(collector, feed)
    publisher = MqttPublisher(settings.mqtt, f"{settings.mqtt.client_id}-sim")
    publisher.start()
    now = datetime.now(UTC)
    # Faster than real time: replay the last day first, then follow the clock.
    start = now - timedelta(days=1) if options.speed > 1 else now
    window = (start, now) if options.speed > 1 else (now, now + timedelta(hours=1))
    clock = SimClock(start, options.speed)
    data_clock = DataClock(
        runtime.db_url, settings.database.schema_name, clock, hj212_devices(runtime.registry)
    )
    rules = RuleService(settings, runtime.db_url, runtime.registry, clock=data_clock, watch=watch)
    reports = start_report_schedule(settings, runtime.db_url, runtime.registry, rules)
    rules.start()
    sim = DistrictSimulator(
        runtime.registry,
        options.seed,
        options.scenarios,
        options.malformed_rate,
        run_window=window,
        root=settings.mqtt.topic_root,
        exclude=hj212_devices(runtime.registry),
    )
    hj212 = start_hj212(
        settings, runtime.registry, sim, clock=clock, window=(start, None),
        malformed_rate=options.malformed_rate, seed=options.seed,
    )  # fmt: skip
    stats = DriveStats()
    chunk = timedelta(minutes=1)
    t = start
    while not stop.is_set():
        drive(
            sim.messages(t, t + chunk),
            publisher,
            root=settings.mqtt.topic_root,
            clock=clock,
            stop=stop,
            stats=stats,
            on_progress=lambda d: progress.update(d, collector.snapshot()),
        )
        t += chunk
    hj212.stop(timeout=15)
    publisher.wait_confirmed(10)
    publisher.stop()
    snap = collector.stop()
    reports.stop()
    rules.stop()
    data_clock.close()
    feed.close()
    return _result(stats, snap, runtime, watch, hj212, feed.first_alert)
