"""The gateway: an asyncio TCP server, one task per data-logger connection.

``Gateway.serve`` runs until its ``stop`` event is set, in one ``TaskGroup``: the broker
connection, the dead-letter relay, and a session task per logger. At stop it takes no new
connections, ends the sessions (a reading not yet acknowledged gets no 9014: the logger
sends it again to the next gateway), gives the dead letters ``flush_timeout_s`` to reach
the broker, and returns its counters.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ingest.gateway.directory import Directory
from ingest.gateway.history import History
from ingest.gateway.publisher import DeadLetters, Publisher
from ingest.gateway.session import Context, Session
from ingest.gateway.stats import GatewayStats
from ingest.registry import Registry
from ingest.settings import Settings

log = logging.getLogger(__name__)
IDLE_SWEEP_S = 0.25


def utc_now() -> datetime:
    return datetime.now(UTC)


class Gateway:
    def __init__(
        self, settings: Settings, registry: Registry, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.settings = settings
        self._clock = clock
        self.directory = Directory(registry)
        cfg = settings.hj212
        self.history = (
            History(
                max_span=timedelta(hours=cfg.history_max_hours),
                delay_s=cfg.history_delay_s,
                timeout_s=cfg.history_timeout_s,
                retry_s=cfg.history_retry_s,
            )
            if cfg.history
            else None
        )
        self.stats = GatewayStats(history=self.history)
        self.address: tuple[str, int] | None = None
        self._dead: DeadLetters | None = None
        self._publisher: Publisher | None = None

    @property
    def dead_letters_dropped(self) -> int:
        return self._dead.dropped if self._dead is not None else 0

    @property
    def published_messages(self) -> int:
        """Messages the broker acknowledged: readings and dead letters."""
        return self._publisher.confirmed if self._publisher is not None else 0

    async def drained(self) -> bool:
        """Wait (``flush_timeout_s`` at most) until no dead letter waits for the broker."""
        if self._dead is None:
            return True
        try:
            async with asyncio.timeout(self.settings.hj212.flush_timeout_s):
                await self._dead.empty.wait()
        except TimeoutError:
            return False
        return True

    async def broker_ready(self) -> None:
        """Until the gateway (serving) is connected to the broker."""
        assert self._publisher is not None, "not serving"
        await self._publisher.connected.wait()

    def broker_connected(self) -> bool:
        return self._publisher is not None and self._publisher.connected.is_set()

    async def serve(
        self, stop: asyncio.Event, ready: Callable[[tuple[str, int]], None] | None = None
    ) -> GatewayStats:
        """Serve loggers until ``stop`` is set; ``ready`` gets the address listened on."""
        cfg = self.settings.hj212
        root = self.settings.mqtt.topic_root
        publisher = Publisher(self.settings.mqtt, cfg.gateway_id, timeout_s=cfg.publish_timeout_s)
        dead = DeadLetters(publisher, cfg.gateway_id, root, cfg.dead_letter_backlog)
        self._publisher, self._dead = publisher, dead
        ctx = Context(
            cfg, self.directory, publisher, dead, root, self._clock, self.stats, self.history
        )
        sessions: set[asyncio.Task[None]] = set()
        async with asyncio.TaskGroup() as tg:
            mqtt = tg.create_task(publisher.run(), name="hj212-mqtt")
            relay = tg.create_task(dead.run(), name="hj212-dead-letters")
            sweep = tg.create_task(_idle_sweep(ctx), name="hj212-idle-sweep")

            def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                if len(ctx.live) >= cfg.max_connections:
                    self._refuse(writer)
                    return
                session = Session(ctx, reader, writer)
                task = tg.create_task(session.run(), name=f"hj212-session-{session.peer}")
                sessions.add(task)
                task.add_done_callback(sessions.discard)

            server = await asyncio.start_server(accept, cfg.host, cfg.port)
            host, port = server.sockets[0].getsockname()[:2]
            self.address = (str(host), int(port))
            log.info(
                "HJ 212 gateway listening on %s:%d for %d loggers",
                host,
                port,
                len(self.directory),
                extra={"host": host, "port": port},
            )
            if ready is not None:
                ready(self.address)
            try:
                await stop.wait()
            finally:
                server.close()
                for task in list(sessions):
                    task.cancel()
                await server.wait_closed()
                if not await self.drained():
                    log.warning("%d dead letters not published at stop", len(dead))
                mqtt.cancel()
                relay.cancel()
                sweep.cancel()
        log.info("HJ 212 gateway stopped: %s", self.stats.as_dict())
        return self.stats

    def _refuse(self, writer: asyncio.StreamWriter) -> None:
        """Close a connection past ``max_connections``: logged on the first and every 100th."""
        self.stats.refused_connections += 1
        if self.stats.refused_connections % 100 == 1:
            log.warning(
                "refused a connection from %s: %d loggers connected"
                " (ENVMON_HJ212__MAX_CONNECTIONS); %d refused so far",
                writer.get_extra_info("peername"),
                self.settings.hj212.max_connections,
                self.stats.refused_connections,
            )
        writer.close()


async def _idle_sweep(ctx: Context) -> None:
    """Close the connections silent past their idle timeout, a few times a second."""
    while True:
        await asyncio.sleep(IDLE_SWEEP_S)
        now = time.monotonic()
        for session in list(ctx.live):
            session.idle_past(now)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop where it is installed (it comes with uvicorn's standard extra):
    it serves a connection's reads and writes in about half the time of asyncio's own."""
    try:
        import uvloop  # noqa: PLC0415 - optional

        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - uvloop is installed with the project
        return asyncio.new_event_loop()


class GatewayThread:
    """A gateway on an event loop of its own thread, for callers that are not asyncio."""

    def __init__(self, settings: Settings, registry: Registry) -> None:
        self.gateway = Gateway(settings, registry)
        self._loop = new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="hj212-gateway", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        assert self.gateway.address is not None, "not started"
        return self.gateway.address

    def start(self, timeout: float = 10.0) -> tuple[str, int]:
        self._thread.start()
        if not self._ready.wait(timeout) or self.gateway.address is None:
            raise RuntimeError(f"the HJ 212 gateway did not start: {self._error!r}")
        return self.gateway.address

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:
            self._error = exc
            log.exception("the HJ 212 gateway failed")
        finally:
            self._ready.set()
            self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        await self.gateway.serve(self._stop, lambda _: self._ready.set())

    def stop(self, timeout: float = 30.0) -> GatewayStats:
        if self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        return self.gateway.stats
