"""Ambient air-quality stations: one reading per station every 60 s.

PM2.5 has a seasonal level (winter haze), a daily cycle (morning and evening peaks, an
afternoon low when the boundary layer is deep) and district-wide multi-day episodes;
PM10 ≈ 1.4-1.8 x PM2.5; O3 peaks in the afternoon (higher in summer); NO2 and CO follow
traffic; SO2 stays low. Overlays: ``pm25-episode``, ``o3-episode``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta

from ingest.feeds.air import AirReading
from simulators._base import FeedSimulator, Schedule, from_us
from simulators._signals import bump, clamp, episode, gauss, local_hour, seasonal, smooth, unit
from simulators.message import Message

PERIOD = timedelta(seconds=60)
KIND = "reading"
DISTRICT = "air-district"  # key of the signals every station shares (weather, haze)


def air_temp_c(t: float, seed: int) -> float:
    """District air temperature (Liuzhou: ~10 °C mean in January, ~29 °C in July)."""
    h = local_hour(t)
    return (
        seasonal(t, 10.0, 29.0, peak_doy=200)
        + 4.0 * math.cos(2 * math.pi * (h - 14.5) / 24)
        + 1.5 * smooth(t, 12 * 3600, seed, DISTRICT, "temp")
    )


def traffic(h: float) -> float:
    """Road traffic relative to the busiest hour, at local hour ``h``."""
    return min(1.0, 0.06 + 0.9 * bump(h, 8, 1.6) + 0.8 * bump(h, 18, 2) + 0.55 * bump(h, 13, 3.5))


class AirSimulator(FeedSimulator):
    feed = "air"

    def _prepare(self) -> None:
        registry = self.registry
        self._stations = [s.id for s in registry.air]
        self._schedule = Schedule(self._stations, PERIOD, salt=self.feed)

    def slots(self) -> list[tuple[str, str]]:
        return [(d, KIND) for d in self._stations]

    def messages(self, t0: datetime, t1: datetime) -> Iterator[Message]:
        for us, seq, device in self._schedule.ticks(t0, t1):
            yield self.render(device, KIND, self.sample(device, KIND, from_us(us), seq))

    def sample(self, device_id: str, kind: str, ts: datetime, seq: int) -> AirReading:
        if kind != KIND:
            raise ValueError(f"{self.feed} devices send {KIND!r} only, not {kind!r}")
        t = ts.timestamp()
        s, d = self.seed, device_id
        h = local_hour(t)
        winter = seasonal(t, 0.0, 1.0, peak_doy=15)
        haze = episode(t, s, DISTRICT, prob_per_day=0.06)
        cycle = 0.85 + 0.25 * bump(h, 8.5, 2) + 0.35 * bump(h, 21.5, 3) - 0.2 * bump(h, 15, 3)
        spread = math.exp(
            0.25 * smooth(t, 6 * 3600, s, DISTRICT, "pm") + 0.12 * smooth(t, 3600, s, d, "pm")
        )
        pm25 = (18 + 32 * winter) * cycle * (1 + (1.2 + 0.8 * winter) * haze) * spread
        pm25 = max(2.0, pm25 + 1.5 * gauss(s, d, "pm", t))
        level = self.level("pm25-episode", d, ts)
        if level:
            target = 150 + 100 * unit(s, d, "episode-target") + 10 * smooth(t, 1800, s, d, "ep")
            pm25 += level * (clamp(target, 150.0, 250.0) - pm25)
            pm25 += 0.8 * gauss(s, d, "episode-noise", t)  # analysers never read flat
        ratio = clamp(1.6 + 0.15 * smooth(t, 3 * 3600, s, d, "ratio"), 1.42, 1.78)

        road = traffic(h)
        summer = 1.0 - winter
        o3 = 25 + (50 + 90 * summer) * bump(h, 15, 2.8) * (1 + 0.15 * smooth(t, 3600, s, d, "o3"))
        smog = self.level("o3-episode", d, ts)
        if smog:
            target = 200 + 60 * unit(s, d, "o3-target") + 8 * smooth(t, 1800, s, d, "o3e")
            o3 += smog * (target - o3)
        no2 = (18 + 22 * bump(h, 8, 1.5) + 20 * bump(h, 18.5, 2)) * (1 + 0.3 * winter)
        no2 += 4 * smooth(t, 1800, s, d, "no2") + gauss(s, d, "no2", t)
        co = 0.55 + 0.25 * road + 0.1 * winter + 0.05 * smooth(t, 3600, s, d, "co")

        temp = air_temp_c(t, s) + 0.3 * smooth(t, 3600, s, d, "temp")
        rh = (
            78
            + 12 * math.cos(2 * math.pi * (h - 14.5) / 24 + math.pi)
            + 6 * smooth(t, 6 * 3600, s, DISTRICT, "rh")
        )
        wind = 2 + 1.2 * smooth(t, 2 * 3600, s, DISTRICT, "wind") + 0.3 * gauss(s, d, "wind", t)
        prevailing = 45 + 135 * summer  # north-easterly in winter, southerly in summer
        direction = (
            prevailing + 60 * smooth(t, 3 * 3600, s, DISTRICT, "dir") + 8 * gauss(s, d, "dir", t)
        )

        return AirReading(
            v=1,
            ts=ts,
            seq=seq,
            pm25_ugm3=round(pm25, 1),
            pm10_ugm3=round(round(pm25, 1) * ratio, 1),
            so2_ugm3=round(
                max(1.0, 6 + 2 * smooth(t, 3600, s, d, "so2") + 0.5 * gauss(s, d, "so2", t)), 1
            ),
            no2_ugm3=round(max(2.0, no2), 1),
            o3_ugm3=round(max(2.0, o3), 1),
            co_mgm3=round(clamp(co, 0.3, 1.4), 3),
            air_temp_c=round(temp, 1),
            rh_pct=round(clamp(rh, 30.0, 99.0), 1),
            wind_speed_ms=round(clamp(wind, 0.1, 12.0), 1),
            wind_dir_deg=round(direction % 360, 0) % 360,
        )
