"""The HJ 212 side of ``envmon up`` and ``envmon demo``: the gateway and the simulated data
loggers of the sites that report over HJ 212, on one event loop of their own thread.

The loggers connect to the gateway over TCP like field devices, the gateway publishes
their readings into the same broker as the MQTT simulators, and the collector stores
both; the registry's ``transport`` says which site goes which way.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from datetime import datetime
from typing import Any

from envmon.runtime.embedded import EmbeddedError
from ingest.gateway import Gateway
from ingest.registry import Registry
from ingest.settings import Settings
from simulators import DistrictSimulator, SimClock
from simulators.hj212 import FleetStats, LoggerFleet, LoggerOptions

log = logging.getLogger(__name__)


def hj212_devices(registry: Registry) -> frozenset[str]:
    """The sites whose readings come through their HJ 212 logger."""
    return frozenset(site.id for _, site in registry.hj212_sites())


class Hj212Run:
    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        sim: DistrictSimulator,
        *,
        clock: SimClock,
        window: tuple[datetime, datetime | None],
        options: LoggerOptions,
    ) -> None:
        self.gateway = Gateway(settings, registry)
        self._fleet_args = (registry, sim, clock, window, options)
        self.fleet: LoggerFleet | None = None
        self._loop = asyncio.new_event_loop()
        self._gateway_stop: asyncio.Event | None = None
        self._fleet_stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._fleet_done = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="hj212", daemon=True)

    @property
    def loggers(self) -> int:
        return len(self.fleet.loggers) if self.fleet is not None else 0

    def start(self, timeout: float = 30.0) -> tuple[str, int]:
        self._thread.start()
        if not self._ready.wait(timeout) or self.gateway.address is None:
            cfg = self.gateway.settings.hj212
            raise EmbeddedError(
                f"the HJ 212 gateway could not listen on {cfg.host}:{cfg.port} ({self.error});"
                " choose another port with ENVMON_HJ212__PORT"
            )
        return self.gateway.address

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._run())
        except BaseException as exc:
            self.error = exc
            log.exception("the HJ 212 gateway or its simulated loggers failed")
        finally:
            self._ready.set()
            self._fleet_done.set()
            self._loop.close()

    async def _run(self) -> None:
        self._gateway_stop, self._fleet_stop = asyncio.Event(), asyncio.Event()
        up = asyncio.Event()
        registry, sim, clock, window, options = self._fleet_args
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.gateway.serve(self._gateway_stop, lambda _: up.set()))
            await up.wait()
            assert self.gateway.address is not None
            # loggers that came before the broker would only be sending again
            try:
                async with asyncio.timeout(30):
                    await self.gateway.broker_ready()
            except TimeoutError:
                log.warning("the HJ 212 gateway has no broker yet; its loggers start anyway")
            self.fleet = LoggerFleet(
                registry, sim.sample, self.gateway.address, clock=clock, window=window,
                options=options,
            )  # fmt: skip
            self._ready.set()
            await self.fleet.run(self._fleet_stop)
            await self.gateway.drained()
            self._fleet_done.set()

    def wait_done(self, timeout: float) -> bool:
        """Until the loggers have sent their window and got their replies (bounded runs)."""
        return self._fleet_done.wait(timeout)

    def stop(self, timeout: float = 60.0) -> None:
        """Loggers stop uploading (and wait for their last replies), then the gateway."""
        if self._fleet_stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._fleet_stop.set)
        self._fleet_done.wait(timeout)
        if self._gateway_stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._gateway_stop.set)
        self._thread.join(timeout)

    def published(self) -> int:
        """Messages the broker confirmed to the gateway: readings and dead letters."""
        return self.gateway.published_messages

    def readings(self) -> Counter[str]:
        """Readings confirmed to the loggers (a 9014 each), by feed."""
        return self.fleet.stats.readings if self.fleet is not None else Counter()

    def injected(self) -> Counter[str]:
        return self.fleet.stats.malformed if self.fleet is not None else Counter()

    def summary(self) -> dict[str, Any]:
        gw = self.gateway.stats
        fleet = self.fleet.stats if self.fleet is not None else FleetStats()
        return {
            "loggers": self.loggers,
            "received": gw.received,
            "replied": sum(gw.replied.values()),
            "replies": gw.as_dict()["replied"],
            "published": gw.published,
            "dead_lettered": gw.as_dict()["dead_lettered"],
            "injected": dict(sorted(fleet.malformed.items())),
            "readings_confirmed": fleet.readings.total(),
            "resent": fleet.resent,
            "unacked": fleet.unacked,
            "skipped": gw.as_dict()["skipped"],
        }


def start_hj212(
    settings: Settings,
    registry: Registry,
    sim: DistrictSimulator,
    *,
    clock: SimClock,
    window: tuple[datetime, datetime | None],
    malformed_rate: float,
    seed: int,
) -> Hj212Run:
    """Start the gateway and the loggers of a simulated run, with its seed and malformed rate."""
    run = Hj212Run(
        settings, registry, sim, clock=clock, window=window,
        options=LoggerOptions(malformed_rate=malformed_rate, seed=seed),
    )  # fmt: skip
    address = run.start()
    log.info("HJ 212 gateway on %s:%d, %d simulated loggers", *address, run.loggers)
    return run
