"""Water supply: DMA inlet meters and pressure points every 60 s, leak loggers nightly,
billed consumption daily.

A DMA's inflow is its customers' demand (≈ population x 200 L/day, night minimum
02:00-04:00) plus background leakage (7-10 % of inflow, a little higher at night when the
pressure is up). Pressure falls with demand (head loss). Billing for a local day is sent
when the day closes (00:00 local, plus a few minutes' phase) and carries ``ts`` = the start
of that day and ``day``; billed ≈ inflow x (1 - leakage). Overlay: ``pipe-burst``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from ingest.feeds import LOCAL_TZ, Payload
from ingest.feeds.water import BilledConsumption, InletFlow, LeakLoggerReading, Pressure
from ingest.registry.model import Dma
from simulators._base import ORIGIN, FeedSimulator, Schedule, from_us
from simulators._signals import (
    bump,
    clamp,
    day_mean,
    gauss,
    local_day,
    local_hour,
    smooth,
    unit,
)
from simulators.message import Message

PERIOD = timedelta(seconds=60)
DAY = timedelta(days=1)
# ORIGIN is 08:00 local; these offsets put the daily ticks at local wall-clock times.
LEAK_AT = timedelta(hours=19)  # 03:00 local
BILL_AT = timedelta(hours=16)  # 00:00 local: the day before has closed
LITRES_PER_PERSON_DAY = 200.0


def _raw_demand(h: float) -> float:
    return (
        0.35
        - 0.12 * bump(h, 3, 1.2)  # the night minimum, 02:00-04:00
        + 0.9 * bump(h, 7.5, 1.6)
        + 0.6 * bump(h, 12, 1.5)
        + 0.95 * bump(h, 19.5, 2.2)
        + 0.25 * bump(h, 10, 4)
    )


_DEMAND_MEAN = day_mean(_raw_demand)


def demand_profile(h: float) -> float:
    """Customer demand relative to the daily mean at local hour ``h``."""
    return _raw_demand(h) / _DEMAND_MEAN


class WaterSimulator(FeedSimulator):
    feed = "water"

    def _prepare(self) -> None:
        registry, seed = self.registry, self.seed
        self._dmas: dict[str, Dma] = {d.id: d for d in registry.dmas}
        self._parent: dict[str, str] = {}
        self._share: dict[str, float] = {}  # an inlet meter's share of its DMA's inflow
        for dma in registry.dmas:
            weights = {m.id: 0.5 + unit(seed, m.id, "share") for m in dma.inlet_meters}
            total = sum(weights.values())
            self._share |= {m: w / total for m, w in weights.items()}
            for p in (*dma.inlet_meters, *dma.pressure_points):
                self._parent[p.id] = dma.id
        for logger in registry.leak_loggers:
            self._parent[logger.id] = logger.dma
        self._kind: dict[str, str] = dict.fromkeys(self._dmas, "billing")
        self._kind |= {m.id: "flow" for d in registry.dmas for m in d.inlet_meters}
        self._kind |= {p.id: "pressure" for d in registry.dmas for p in d.pressure_points}
        self._kind |= {g.id: "leak" for g in registry.leak_loggers}
        per_minute = [d for d, k in self._kind.items() if k in ("flow", "pressure")]
        self._minutely = Schedule(per_minute, PERIOD, salt=self.feed)
        loggers = [g.id for g in registry.leak_loggers]
        self._nightly = Schedule(loggers, DAY, "leak", LEAK_AT, timedelta(minutes=10))
        self._daily = Schedule(self._dmas, DAY, "billing", BILL_AT, timedelta(minutes=5))

    def slots(self) -> list[tuple[str, str]]:
        return list(self._kind.items())

    def messages(self, t0: datetime, t1: datetime) -> Iterator[Message]:
        return heapq.merge(
            self._stream(self._minutely, t0, t1),
            self._stream(self._nightly, t0, t1),
            self._bills(t0, t1),
            key=lambda m: m.ts,
        )

    def _stream(self, schedule: Schedule, t0: datetime, t1: datetime) -> Iterator[Message]:
        for us, seq, device in schedule.ticks(t0, t1):
            kind = self._kind[device]
            yield self.render(device, kind, self.sample(device, kind, from_us(us), seq))

    def _bills(self, t0: datetime, t1: datetime) -> Iterator[Message]:
        for us, seq, device in self._daily.ticks(t0, t1):
            payload = self.sample(device, "billing", self._covered_day_start(seq), seq)
            yield self.render(device, "billing", payload, ts=from_us(us))

    @staticmethod
    def _covered_day_start(seq: int) -> datetime:
        """Local midnight starting the day billed by the ``seq``-th daily tick."""
        closes = (ORIGIN + BILL_AT + seq * DAY).astimezone(LOCAL_TZ)
        return closes - DAY

    # -- the signals ---------------------------------------------------------------------

    def _day_factor(self, dma: str, day: int) -> float:
        return 1.0 + 0.04 * gauss(self.seed, dma, "day", day)

    def _inlet(self, dma: Dma, ts: datetime) -> tuple[float, float]:
        """(total inflow m³/h, inlet pressure kPa) of a DMA at ``ts``, without a burst."""
        t = ts.timestamp()
        s, d = self.seed, dma.id
        h = local_hour(t)
        shape = demand_profile(h) * self._day_factor(d, local_day(t))
        mean_demand = dma.population * LITRES_PER_PERSON_DAY / 1000.0 / 24.0
        loss = 0.07 + 0.03 * unit(s, d, "leakage")
        # Background leakage: the share of inflow above, at least 40 L/km/h of mains.
        leak = max(mean_demand * loss / (1.0 - loss), 0.04 * dma.mains_km)
        p0 = 380.0 + 60.0 * unit(s, d, "p0")
        pressure = p0 - 60.0 * shape + 3.0 * smooth(t, 1800, s, d, "p")
        p_mean = p0 - 60.0
        demand = mean_demand * shape * (1.0 + 0.03 * smooth(t, 900, s, d, "q"))
        inflow = demand + leak * (max(pressure, 1.0) / p_mean) ** 1.5  # FAVAD, N1 = 1.5
        return inflow, pressure

    def sample(self, device_id: str, kind: str, ts: datetime, seq: int) -> Payload:
        s, d = self.seed, device_id
        t = ts.timestamp()
        if kind == "billing":
            dma = self._dmas[d]
            day = ts.astimezone(LOCAL_TZ).date()
            billed = dma.population * LITRES_PER_PERSON_DAY / 1000.0
            billed *= self._day_factor(d, (day - date(1970, 1, 1)).days) * (
                1 + 0.01 * gauss(s, d, "bill", seq)
            )
            start = datetime.combine(day, time(0), LOCAL_TZ)  # the contract: ts = day start
            return BilledConsumption(
                v=1, ts=start, seq=seq, day=day, billed_m3=round(max(0.0, billed), 1)
            )
        dma = self._dmas[self._parent[d]]
        if kind == "leak":
            if self.level("pipe-burst", dma.id, ts):
                noise, spread, flag = (
                    55 + 15 * unit(s, d, "loud", seq),
                    10 + 10 * unit(s, d, "ls", seq),
                    True,
                )
            else:
                base = 22 + 8 * unit(s, d, "base")
                noise = clamp(base + 1.5 * gauss(s, d, "noise", seq), 20.0, 35.0)
                spread, flag = 3 + 4 * unit(s, d, "spread", seq), False
            return LeakLoggerReading(
                v=1,
                ts=ts,
                seq=seq,
                noise_db=round(noise, 1),
                spread_db=round(spread, 1),
                leak_flag=flag,
            )
        inflow, pressure = self._inlet(dma, ts)
        burst = self.level("pipe-burst", dma.id, ts)
        if kind == "flow":
            q = inflow * self._share[d] * (1 + 0.01 * gauss(s, d, "q", t)) * (1 + 0.4 * burst)
            p = pressure + 4 * (unit(s, d, "offset") - 0.5) + 0.8 * gauss(s, d, "p", t)
            return InletFlow(
                v=1,
                ts=ts,
                seq=seq,
                flow_m3h=round(q, 2),
                pressure_kpa=round(p * (1 - 0.3 * burst), 1),
            )
        elevation = 10 + 70 * unit(s, d, "elevation")  # kPa lost to height and distance
        p = pressure - elevation - 20 * demand_profile(local_hour(t)) + gauss(s, d, "p", t)
        return Pressure(v=1, ts=ts, seq=seq, pressure_kpa=round(max(p, 0.0) * (1 - 0.3 * burst), 1))
