"""What the per-feed simulators share: the tick schedule and message rendering."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from ingest.feeds import Payload
from ingest.registry.model import Registry
from ingest.topics import DEFAULT_ROOT, topic_for
from simulators.message import Message
from simulators.scenarios import ActiveScenario

# ``seq`` counts periods since this instant, so it is deterministic and monotonic.
ORIGIN = datetime(2020, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def to_us(t: datetime) -> int:
    """Microseconds since ORIGIN of an aware time."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"naive datetime {t.isoformat()}: pass an aware time (UTC)")
    us = (t - ORIGIN) // _US
    if us < 0:
        raise ValueError(f"simulated time must be after {ORIGIN.isoformat()}, got {t.isoformat()}")
    return us


def from_us(us: int) -> datetime:
    return ORIGIN + timedelta(microseconds=us)


def check_window(t0: datetime, t1: datetime) -> None:
    if to_us(t1) < to_us(t0):
        raise ValueError(f"window ends before it starts: [{t0.isoformat()}, {t1.isoformat()})")


def _phase_ms(device_id: str, salt: str, spread_ms: int) -> int:
    h = hashlib.blake2b(f"{salt}\x1f{device_id}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "little") % spread_ms


class Schedule:
    """Ticks of devices sharing one period, each shifted by its own phase, in time order.

    Device ``d`` ticks at ``ORIGIN + offset + k·period + phase(d)`` with ``phase(d)`` a
    millisecond-resolution hash of its id in ``[0, spread)`` (default: the whole period), so
    thousands of devices do not all report in the same second; ``k`` is the ``seq``.
    """

    def __init__(
        self,
        device_ids: Iterable[str],
        period: timedelta,
        salt: str,
        offset: timedelta = timedelta(0),
        spread: timedelta | None = None,
    ) -> None:
        self._period = period // _US
        self._offset = offset // _US
        spread_ms = max(1, (spread if spread is not None else period) // timedelta(milliseconds=1))
        self._order = sorted((_phase_ms(d, salt, spread_ms) * 1000, d) for d in device_ids)

    def ticks(self, t0: datetime, t1: datetime) -> Iterator[tuple[int, int, str]]:
        """``(µs since ORIGIN, seq, device_id)`` for every tick in ``[t0, t1)``."""
        a, b = to_us(t0), to_us(t1)
        k = max(0, (a - self._offset) // self._period)
        while (base := self._offset + k * self._period) < b:
            for phase, device in self._order:
                us = base + phase
                if us >= b:
                    break
                if us >= a:
                    yield us, k, device
            k += 1


class FeedSimulator(ABC):
    """Fake devices of one feed. ``messages`` is a pure function of (seed, window)."""

    feed: ClassVar[str]

    def __init__(
        self,
        registry: Registry,
        seed: int = 0,
        scenarios: Sequence[ActiveScenario] = (),
        root: str = DEFAULT_ROOT,
    ) -> None:
        self.registry = registry
        self.seed = seed
        self.root = root
        self._scenarios = tuple(scenarios)
        self._prepare()

    @abstractmethod
    def _prepare(self) -> None:
        """Build the feed's device lookups and schedules from ``self.registry``."""

    @abstractmethod
    def messages(self, t0: datetime, t1: datetime) -> Iterator[Message]:
        """Every message whose send time is in ``[t0, t1)``, in time order."""

    @abstractmethod
    def slots(self) -> list[tuple[str, str]]:
        """``(device_id, kind)`` of every periodic stream (for the load generator)."""

    @abstractmethod
    def sample(self, device_id: str, kind: str, ts: datetime, seq: int) -> Payload:
        """The payload ``device_id`` sends as ``kind`` at ``ts`` (scenarios applied)."""

    def level(self, scenario: str, target: str | None, t: datetime) -> float:
        """How strongly ``scenario`` acts on ``target`` at ``t``: 0 (not at all) .. 1."""
        if target is None:
            return 0.0
        return max((s.level(target, t) for s in self._scenarios if s.name == scenario), default=0.0)

    def render(
        self, device_id: str, kind: str, payload: Payload, ts: datetime | None = None
    ) -> Message:
        topic = topic_for(self.feed, device_id, kind, self.root)
        return Message(ts or payload.ts, topic, payload.model_dump_json().encode())
