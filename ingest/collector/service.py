"""The collector: MQTT in, batched commits out, acknowledgement only after the commit.

Threads: paho's network thread decodes each message and appends it to a bounded
pending list (blocking when full — back-pressure, never a drop); the writer
thread takes batches (size or time bound), commits them and then acks each
message; on plain PostgreSQL a maintainer thread keeps the rollups current.

Both loops follow ``ingest.loops``: a transient database failure is retried with backoff,
a permanent one stops the loop and sets ``watch`` (the entry point exits non-zero). A batch
whose write failed is never acknowledged: the broker redelivers it to the next session.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from ingest.backoff import Backoff
from ingest.collector.decode import Accepted, Decoder, Rejected
from ingest.collector.inbound import Inbound
from ingest.collector.stats import CollectorStats, StatsSnapshot
from ingest.collector.writer import BatchWriter
from ingest.loops import LoopFailedError, LoopGuard, LoopWatch
from ingest.mqtt import MqttReceiver
from ingest.reasons import Reason
from ingest.registry import device_types
from ingest.settings import Settings
from ingest.storage.health import LoopHealth
from ingest.storage.maintain import refresh_rollups
from ingest.storage.migrate import connect
from ingest.storage.retention import prune
from ingest.topics import subscription

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
T = TypeVar("T")
DEVICE_REFRESH_S = 60.0
PRUNE_EVERY_S = 3600.0  # plain PostgreSQL, with a raw-row retention set


def utc_now() -> datetime:
    return datetime.now(UTC)


class DatabaseUnavailableError(ConnectionError):
    pass


class Collector:
    def __init__(
        self,
        settings: Settings,
        db_url: str,
        *,
        client_id: str | None = None,
        clock: Clock = utc_now,
        watch: LoopWatch | None = None,
    ) -> None:
        self._settings = settings
        self._cfg = settings.ingest
        self._db_url = db_url
        self._schema = settings.database.schema_name
        self._clock = clock
        self._client_id = client_id or settings.mqtt.client_id
        self.stats = CollectorStats()
        self._pending: list[Inbound] = []
        self._oldest = 0.0
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._closing = False
        self._threads: list[threading.Thread] = []
        self._writer = BatchWriter(
            db_url, self._schema, connect_timeout=settings.database.connect_timeout_s
        )
        self._decoder: Decoder | None = None
        self._receiver: MqttReceiver | None = None
        self._last_rollup = time.monotonic()  # the first pass one interval after the start
        self._started = False
        self.watch = watch or LoopWatch()
        self._health = LoopHealth(
            db_url, self._schema, connect_timeout_s=settings.database.connect_timeout_s
        )
        self._writer_guard = self._guard("collector-writer", Backoff(0.2, 10.0))
        self._maintainer_guard = self._guard("collector-maintainer", Backoff(1.0, 30.0))

    def _guard(self, name: str, backoff: Backoff) -> LoopGuard:
        return LoopGuard(
            name,
            self._client_id,
            watch=self.watch,
            backoff=backoff,
            health=self._health,
            logger=log,
        )

    # -- lifecycle -----------------------------------------------------------------

    def start(self, *, broker_attempts: int | None = None) -> None:
        """Connect to the database and the broker (retrying), then start the threads.

        ``abort_start`` from another thread (a signal handler) ends the waiting:
        raises ``BrokerUnavailableError`` or ``DatabaseUnavailableError``. With
        ``broker_attempts`` it gives up on the broker after that many tries (bounded runs).
        A permanent database failure raises ``LoopFailedError``.
        """
        self._retry_db(self._writer.connect, self._writer_guard)
        if self._stopping.is_set():
            raise DatabaseUnavailableError("stopped while waiting for the database")
        with connect(self._db_url, self._schema) as conn:
            types = device_types(conn)
        self._decoder = Decoder(
            types,
            root=self._settings.mqtt.topic_root,
            future_tolerance=timedelta(seconds=self._cfg.future_tolerance_s),
            max_age=timedelta(days=self._cfg.max_age_days),
        )
        self._receiver = MqttReceiver(self._settings.mqtt, self._client_id, self._on_message)
        self._receiver.start(
            subscription(self._settings.mqtt.topic_root, self._settings.mqtt.shared_group),
            stop=self._stopping,
            attempts=broker_attempts,
        )
        self._spawn("writer", self._write_loop)
        self._spawn("maintainer", self._maintain_loop)
        self._started = True
        log.info("collector %s started (%d devices known)", self._client_id, len(types))

    def abort_start(self) -> None:
        """Stop waiting for the broker or the database (safe from a signal handler).

        Does nothing once started: then ``stop`` shuts down gracefully."""
        if not self._started:
            self._stopping.set()

    def wait_connected(self, timeout: float) -> bool:
        return self._receiver is not None and self._receiver.connected.wait(timeout)

    def stop(self) -> StatsSnapshot:
        """Stop taking messages, commit and ack what is pending, then disconnect."""
        with self._cond:
            self._closing = True  # messages arriving from now on are left unacked
            self._cond.notify_all()
        deadline = time.monotonic() + self._cfg.flush_timeout_s
        while self.pending() and self.writing() and time.monotonic() < deadline:
            time.sleep(0.02)
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        for t in self._threads:
            t.join(timeout=max(0.1, deadline - time.monotonic()) + 5)
        if self._receiver is not None:
            self._receiver.stop()
        self._writer.close()
        self._health.close()
        left = self.pending()
        if left:
            log.warning("%d messages not committed at stop; the broker redelivers them", left)
        return self.snapshot()

    def writing(self) -> bool:
        """False once the writer stopped on a permanent failure."""
        return self._writer_guard.failure is None

    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def snapshot(self) -> StatsSnapshot:
        return self.stats.snapshot(pending=self.pending())

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        t = threading.Thread(target=target, name=f"{self._client_id}-{name}", daemon=True)
        t.start()
        self._threads.append(t)

    # -- receive -------------------------------------------------------------------

    def _on_message(self, topic: bytes, payload: bytes, mid: int, qos: int) -> None:
        received_at = self._clock()
        assert self._decoder is not None
        try:
            result = self._decoder.decode(topic, payload, received_at)
        except Exception as exc:  # the collector never stops for bad input
            log.exception("decoder failed on a message")
            result = Rejected(Reason.SCHEMA, f"unprocessable: {exc!r}"[:300])
        feed = result.kind.feed if isinstance(result, Accepted) else (result.feed or "unknown")
        item = Inbound(topic, payload, mid, qos, received_at, result)
        with self._cond:
            while len(self._pending) >= self._cfg.max_pending and not self._closing:
                self._cond.wait(0.5)
            if self._closing:
                return  # not acked: the broker keeps it for the next session
            if not self._pending:
                self._oldest = time.monotonic()
            self._pending.append(item)
            if len(self._pending) >= self._cfg.batch_size:
                self._cond.notify_all()
        self.stats.count_received(feed)

    # -- write ---------------------------------------------------------------------

    def _take_batch(self) -> list[Inbound]:
        interval = self._cfg.batch_interval_ms / 1000
        with self._cond:
            while not self._stopping.is_set():
                n = len(self._pending)
                if n >= self._cfg.batch_size or (self._closing and n):
                    break
                if n and time.monotonic() - self._oldest >= interval:
                    break
                timeout = interval - (time.monotonic() - self._oldest) if n else 0.5
                self._cond.wait(max(timeout, 0.001))
            batch = self._pending[: self._cfg.batch_size]
            del self._pending[: len(batch)]
            if self._pending:
                self._oldest = time.monotonic()
            self._cond.notify_all()
            return batch

    def _write_loop(self) -> None:
        batch: list[Inbound] = []
        try:
            while not self._stopping.is_set():
                batch = self._take_batch()
                if batch:
                    self._commit_and_ack(batch)
                batch = []
        except LoopFailedError:
            self._refuse_more(batch)
        except Exception as exc:  # a bug outside the write itself: still never silent
            self._writer_guard.fatal(exc)
            self._refuse_more(batch)

    def _refuse_more(self, batch: list[Inbound]) -> None:
        """The writer has stopped: keep its batch unacknowledged (the broker redelivers it
        after the restart) and leave arriving messages unacknowledged too."""
        with self._cond:
            self._pending[:0] = batch
            self._closing = True
            self._cond.notify_all()

    def _commit_and_ack(self, batch: list[Inbound]) -> None:
        outcome = self._retry_db(lambda: self._writer.write(batch), self._writer_guard)
        if outcome is None:
            with self._cond:  # stopping: give the batch back so stop() reports it
                self._pending[:0] = batch
            return
        assert self._receiver is not None
        self._receiver.ack_many([item.mid for item in batch if item.qos > 0])
        now = self._clock()
        latencies = [
            (now - item.result.ts).total_seconds() * 1000
            for item in batch
            if isinstance(item.result, Accepted)
        ]
        reasons = Counter(
            str(item.result.reason) for item in batch if isinstance(item.result, Rejected)
        )
        self.stats.count_batch(
            outcome.stored, outcome.duplicates, outcome.dead_lettered, reasons, latencies
        )

    def _retry_db(self, op: Callable[[], T], guard: LoopGuard) -> T | None:
        """Run ``op`` until it succeeds (or stop is asked: None); transient failures back
        off, a permanent one raises ``LoopFailedError``."""
        while True:
            try:
                result = op()
            except Exception as exc:
                delay = guard.failed(exc)
                self._writer.close()
                if delay is None:
                    assert guard.failure is not None
                    raise guard.failure from exc
                self.stats.count_retry()
                if self._stopping.wait(delay):
                    return None
            else:
                guard.succeeded()
                return result

    # -- maintain --------------------------------------------------------------------

    def _maintain_loop(self) -> None:
        """Rollups, the device list and the periodic counters; a failed pass is retried
        after the backoff, the due work still due."""
        tick = min(self._cfg.rollup_interval_s, 1.0)
        last_devices = last_stats = time.monotonic()
        last_prune = last_devices - PRUNE_EVERY_S  # the first pass prunes
        wait = tick
        while not self._stopping.wait(wait):
            now, wait = time.monotonic(), tick
            try:
                worked = False
                if now - self._last_rollup >= self._cfg.rollup_interval_s:
                    self.refresh_rollups()
                    self._last_rollup, worked = now, True
                if now - last_prune >= PRUNE_EVERY_S:
                    self.prune()
                    last_prune, worked = now, True
                if now - last_devices >= DEVICE_REFRESH_S:
                    with connect(self._db_url, self._schema) as conn:
                        assert self._decoder is not None
                        self._decoder.device_types = device_types(conn)
                    last_devices, worked = now, True
                if worked:
                    self._maintainer_guard.succeeded()
            except Exception as exc:
                delay = self._maintainer_guard.failed(exc)
                if delay is None:
                    return
                wait = delay
            if now - last_stats >= self._cfg.stats_interval_s:
                last_stats = now
                self._log_stats()

    def prune(self) -> int:
        """Plain PostgreSQL: raw rows past the configured retention deleted (TimescaleDB
        drops its chunks by policy); returns how many."""
        days = self._settings.database.raw_retention_days
        if days is None or self._writer.flavour != "postgresql":
            return 0
        with connect(self._db_url, self._schema) as conn:
            return prune(conn, days, self._clock())

    def refresh_rollups(self) -> int:
        """Bring the rollups up to date with what was stored (both flavours)."""
        return refresh_rollups(
            self._db_url, self._schema, self._clock(), storage=self._writer.flavour
        )

    def _log_stats(self) -> None:
        s = self.snapshot()
        for feed in sorted(set(s.received) | set(s.stored)):
            log.info(
                "%s: received %d, stored %d, duplicates %d, dead-lettered %d",
                feed,
                s.received.get(feed, 0),
                s.stored.get(feed, 0),
                s.duplicates.get(feed, 0),
                s.dead_lettered.get(feed, 0),
                extra={"feed": feed, "pending": s.pending},
            )
