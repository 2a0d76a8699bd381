"""C-V2X roadside units: heartbeats every 10 s, PC5 counters every 60 s, road events.

Counters follow traffic (busy by day, quiet at night): BSM received scales with the
intersection's size; MAP is sent at ~1 Hz (≈60 a minute), SPAT at ~10 Hz (≈600); RSI/RSM
stay small except while the RSU broadcasts a road event. Events (RSI: accidents, roadworks,
congestion, hazards, weather; RSM: vulnerable road users) occur at random hours, fixed by
the seed. Overlays: ``rsu-outage`` (every RSU of an intersection publishes nothing) and
``pc5-fault`` (its RSUs stay online but receive no BSM).
"""

from __future__ import annotations

import hashlib
import heapq
import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

from ingest.feeds import Payload
from ingest.feeds.v2x import Counters, Heartbeat, RoadEvent
from ingest.registry.model import Rsu
from simulators._base import FeedSimulator, Schedule, from_us, to_us
from simulators._signals import clamp, gauss, local_hour, smooth, unit
from simulators.air import air_temp_c, traffic
from simulators.message import Message

HEARTBEAT = timedelta(seconds=10)
COUNTERS = timedelta(seconds=60)
HOUR_US = 3_600_000_000
EVENT_PROB_PER_HOUR = 0.005  # per RSU: ~8 events an hour across 1,600 RSUs
EVENT_MAX_MINUTES = 120
EventType = Literal[
    "accident", "roadworks", "congestion", "hazard", "weather", "vulnerable_user", "other"
]
_EVENT_TYPES: tuple[tuple[EventType, float], ...] = (
    ("congestion", 0.35),
    ("accident", 0.15),
    ("roadworks", 0.12),
    ("hazard", 0.1),
    ("weather", 0.06),
    ("vulnerable_user", 0.17),
    ("other", 0.05),
)


class _Event(NamedTuple):
    us: int  # detection time, µs since ORIGIN
    hour: int  # hours since ORIGIN: the event's seq
    rsu: str
    event_type: EventType
    minutes: int


class V2xSimulator(FeedSimulator):
    feed = "v2x"

    def _prepare(self) -> None:
        registry = self.registry
        self._rsus: dict[str, Rsu] = {r.id: r for r in registry.rsus}
        self._heartbeats = Schedule(self._rsus, HEARTBEAT, salt="heartbeat")
        self._counters = Schedule(self._rsus, COUNTERS, salt="counters")

    def slots(self) -> list[tuple[str, str]]:
        return [(r, k) for r in self._rsus for k in ("heartbeat", "counters")]

    def messages(self, t0: datetime, t1: datetime) -> Iterator[Message]:
        return heapq.merge(
            self._periodic(self._heartbeats, "heartbeat", t0, t1),
            self._periodic(self._counters, "counters", t0, t1),
            self._events(t0, t1),
            key=lambda m: m.ts,
        )

    def _dark(self, rsu: str, ts: datetime) -> bool:
        return self.level("rsu-outage", self._rsus[rsu].intersection, ts) > 0

    def _periodic(
        self, schedule: Schedule, kind: str, t0: datetime, t1: datetime
    ) -> Iterator[Message]:
        for us, seq, rsu in schedule.ticks(t0, t1):
            ts = from_us(us)
            if not self._dark(rsu, ts):
                yield self.render(rsu, kind, self.sample(rsu, kind, ts, seq))

    # -- road events -----------------------------------------------------------------------

    def _event(self, rsu: str, hour: int) -> _Event | None:
        s = self.seed
        if unit(s, rsu, "event", hour) >= EVENT_PROB_PER_HOUR:
            return None
        pick, acc = unit(s, rsu, "event-type", hour), 0.0
        event_type: EventType = "other"
        for name, weight in _EVENT_TYPES:
            acc += weight
            if pick < acc:
                event_type = name
                break
        offset_ms = int(unit(s, rsu, "event-at", hour) * 3_600_000)
        minutes = 10 + int(unit(s, rsu, "event-minutes", hour) * (EVENT_MAX_MINUTES - 10))
        return _Event(hour * HOUR_US + offset_ms * 1000, hour, rsu, event_type, minutes)

    def _events(self, t0: datetime, t1: datetime) -> Iterator[Message]:
        a, b = to_us(t0), to_us(t1)
        for hour in range(a // HOUR_US, math.ceil(b / HOUR_US)):
            found = [e for r in self._rsus if (e := self._event(r, hour)) is not None]
            for e in sorted(found):
                ts = from_us(e.us)
                if a <= e.us < b and not self._dark(e.rsu, ts):
                    yield self.render(e.rsu, "event", self._road_event(e))

    def _road_event(self, e: _Event) -> RoadEvent:
        rsu = self._rsus[e.rsu]
        s = self.seed
        start = from_us(e.us)
        planned = e.event_type in ("roadworks", "weather")  # an end is announced with them
        digest = hashlib.blake2b(f"{s}\x1f{e.rsu}\x1f{e.hour}".encode(), digest_size=8).hexdigest()
        return RoadEvent(
            v=1,
            ts=start,
            seq=e.hour,
            event_id=f"evt-{digest}",
            msg_type="RSM" if e.event_type == "vulnerable_user" else "RSI",
            event_type=e.event_type,
            lat=round(rsu.lat + 0.002 * (unit(s, e.rsu, "lat", e.hour) - 0.5), 6),
            lon=round(rsu.lon + 0.002 * (unit(s, e.rsu, "lon", e.hour) - 0.5), 6),
            start_ts=start,
            end_ts=start + timedelta(minutes=e.minutes) if planned else None,
        )

    def _broadcasting(self, rsu: str, us: int) -> _Event | None:
        """The road event the RSU is broadcasting at ``us``, if any."""
        hour = us // HOUR_US
        for h in range(hour - EVENT_MAX_MINUTES // 60 - 1, hour + 1):
            e = self._event(rsu, h)
            if e is not None and e.us <= us < e.us + e.minutes * 60_000_000:
                return e
        return None

    # -- periodic payloads -------------------------------------------------------------------

    def sample(self, device_id: str, kind: str, ts: datetime, seq: int) -> Payload:
        s, d = self.seed, device_id
        t = ts.timestamp()
        busy = traffic(local_hour(t))
        if kind == "heartbeat":
            cpu = clamp(
                15 + 25 * busy + 4 * smooth(t, 600, s, d, "cpu") + gauss(s, d, "cpu", t), 2, 95
            )
            reboot_every = (5 + 25 * unit(s, d, "reboot")) * 86_400
            uptime = (t - unit(s, d, "boot") * reboot_every) % reboot_every
            minute = int(t // 60)
            return Heartbeat(
                v=1,
                ts=ts,
                seq=seq,
                online=True,
                cpu_pct=round(cpu, 1),
                mem_pct=round(
                    clamp(35 + 15 * unit(s, d, "mem") + 3 * smooth(t, 3600, s, d, "mem"), 5, 95), 1
                ),
                board_temp_c=round(
                    air_temp_c(t, s) + 12 + 0.1 * cpu + 0.5 * smooth(t, 900, s, d, "bt"), 1
                ),
                gnss_lock=unit(s, d, "gnss", minute) >= 0.002,
                cloud_link=unit(s, d, "link", minute) >= 0.001,
                uptime_s=int(uptime),
            )
        ix = self._rsus[d].intersection
        size = 3000 + 9000 * unit(s, ix, "size")  # BSM a minute at the busiest hour
        bsm = size * busy * max(0.0, 1 + 0.1 * gauss(s, d, "bsm", seq))
        if self.level("pc5-fault", ix, ts):
            bsm = 0.0
        event = self._broadcasting(d, to_us(ts))
        rsi = int(3 * unit(s, d, "rsi", seq))
        rsm = int(busy * 8 + 3 * unit(s, d, "rsm", seq))
        if event is not None:  # broadcast at ~1 Hz while it lasts
            if event.event_type == "vulnerable_user":
                rsm += 60
            else:
                rsi += 60
        return Counters(
            v=1,
            ts=ts,
            seq=seq,
            interval_s=60,
            bsm_rx=int(bsm),
            map_tx=60 + round(0.4 * gauss(s, d, "map", seq)),
            spat_tx=600 + round(1.5 * gauss(s, d, "spat", seq)),
            rsi_tx=rsi,
            rsm_tx=rsm,
        )
