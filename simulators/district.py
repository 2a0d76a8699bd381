"""The whole district: every feed's devices, scenarios and malformed traffic in one stream."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import UTC, datetime

from ingest.feeds import Payload
from ingest.registry.model import Registry
from ingest.topics import DEFAULT_ROOT
from simulators._base import FeedSimulator, check_window
from simulators.air import AirSimulator
from simulators.faults import DeviceFaults
from simulators.malformed import MalformedInjector
from simulators.message import Message
from simulators.scenarios import ActiveScenario, ScenarioRun, activate, resolve
from simulators.v2x import V2xSimulator
from simulators.wastewater import WastewaterSimulator
from simulators.water import WaterSimulator

SIMULATORS: dict[str, type[FeedSimulator]] = {
    cls.feed: cls for cls in (WastewaterSimulator, AirSimulator, WaterSimulator, V2xSimulator)
}
FEED_NAMES: tuple[str, ...] = tuple(SIMULATORS)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _send_time(m: Message) -> datetime:
    return m.ts


class DistrictSimulator:
    """Messages of every simulated device of the registry, in time order.

    The output is a pure function of (registry, seed, scenarios, malformed_rate, run window):
    the same window gives the same bytes, whether asked at once or in consecutive chunks.
    Scenario times are fixed by ``run_window`` (default: the window of the first
    ``messages`` call) and are active from 20 % to 80 % of it unless a ``ScenarioRun``
    gives its own times. ``now`` is only read for malformed future timestamps.
    """

    def __init__(
        self,
        registry: Registry,
        seed: int = 0,
        scenarios: Sequence[str | ScenarioRun] = (),
        malformed_rate: float = 0.0,
        feeds: Sequence[str] = FEED_NAMES,
        *,
        run_window: tuple[datetime, datetime] | None = None,
        root: str = DEFAULT_ROOT,
        now: Callable[[], datetime] = _utcnow,
        exclude: Collection[str] = (),
    ) -> None:
        unknown = sorted(set(feeds) - set(SIMULATORS))
        if unknown:
            raise ValueError(f"unknown feeds {unknown}; valid: {', '.join(FEED_NAMES)}")
        self.registry, self.seed, self.root = registry, seed, root
        self.feeds = tuple(f for f in FEED_NAMES if f in feeds)
        self._requests = resolve(scenarios)
        self._injector = MalformedInjector(registry, seed, malformed_rate, root=root, now=now)
        self._sims: tuple[FeedSimulator, ...] | None = None
        self._active: tuple[ActiveScenario, ...] = ()
        self.run_window: tuple[datetime, datetime] | None = None
        # devices that report another way (HJ 212 loggers): sampled, but not sent over MQTT
        self.exclude = frozenset(exclude)
        if run_window is not None:
            self._start(run_window)

    def _start(self, run_window: tuple[datetime, datetime]) -> tuple[FeedSimulator, ...]:
        check_window(*run_window)
        self.run_window = run_window
        self._active = activate(self._requests, self.registry, self.seed, run_window)
        self._sims = tuple(
            SIMULATORS[f](self.registry, self.seed, self._active, self.root) for f in self.feeds
        )
        # one instance for the run: a stuck sensor keeps its first value across chunks
        self._faults = DeviceFaults(self._active, self._injector, self.root)
        self._by_device = {d: sim for sim in self._sims for d, _ in sim.slots()}
        return self._sims

    @property
    def active_scenarios(self) -> tuple[ActiveScenario, ...]:
        """The scenarios with their targets and times, once the run window is fixed."""
        return self._active

    def messages(self, t0: datetime, t1: datetime) -> Iterator[Message]:
        """Every message sent in ``[t0, t1)``, valid and malformed, in time order."""
        check_window(t0, t1)
        sims = self._sims if self._sims is not None else self._start((t0, t1))
        faults = self._faults
        streams = [faults.apply(heapq.merge(*(s.messages(t0, t1) for s in sims), key=_send_time))]
        for fault in faults.releases(t0, t1):  # a buffering device sends its backlog
            window = heapq.merge(
                *(s.messages(fault.start, fault.end) for s in sims), key=_send_time
            )
            streams.append(faults.backlog(fault, window))
        out = self._injector.inject(heapq.merge(*streams, key=_send_time))
        if self.exclude:
            return (m for m in out if m.topic.split("/", 3)[2] not in self.exclude)
        return out

    def sample(self, device_id: str, kind: str, ts: datetime, seq: int) -> Payload:
        """What ``device_id`` measures at ``ts``, scenarios applied (for devices that send it
        another way than ``messages``: the HJ 212 loggers)."""
        if self._sims is None:
            raise RuntimeError("the run window is not fixed yet: give run_window")
        sim = self._by_device.get(device_id)
        if sim is None:
            raise KeyError(f"{device_id} is not a simulated device with periodic data")
        return sim.sample(device_id, kind, ts, seq)
