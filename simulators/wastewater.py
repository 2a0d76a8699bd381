"""Wastewater plants and pumping stations: one reading per site every 60 s.

Influent follows a diurnal curve (low near 04:00, peaks near 10:00 and 20:00) scaled to the
design capacity; plants treat it to well within GB 18918-2002 1A (COD 50, NH3-N 5, TN 15,
TP 0.5, SS 10 mg/L, pH 6-9). Pumping stations report their pumped flow only.
Overlays: ``bypass`` and ``nh3-exceedance``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from ingest.feeds.wastewater import WastewaterReading
from ingest.registry.model import WastewaterSite
from simulators._base import FeedSimulator, Schedule, from_us
from simulators._signals import bump, clamp, day_mean, gauss, local_hour, seasonal, smooth, unit
from simulators.message import Message

PERIOD = timedelta(seconds=60)
KIND = "reading"


def _raw_profile(h: float) -> float:
    return 1.0 + 0.35 * bump(h, 10, 2.5) + 0.25 * bump(h, 20, 2.5) - 0.45 * bump(h, 4, 3.0)


_PROFILE_MEAN = day_mean(_raw_profile)


def influent_profile(h: float) -> float:
    """Influent flow relative to the daily mean at local hour ``h``."""
    return _raw_profile(h) / _PROFILE_MEAN


class WastewaterSimulator(FeedSimulator):
    feed = "wastewater"

    def _prepare(self) -> None:
        registry = self.registry
        self._sites: dict[str, WastewaterSite] = {s.id: s for s in registry.wastewater}
        self._schedule = Schedule(self._sites, PERIOD, salt=self.feed)

    def slots(self) -> list[tuple[str, str]]:
        return [(d, KIND) for d in self._sites]

    def messages(self, t0: datetime, t1: datetime) -> Iterator[Message]:
        for us, seq, device in self._schedule.ticks(t0, t1):
            yield self.render(device, KIND, self.sample(device, KIND, from_us(us), seq))

    def sample(self, device_id: str, kind: str, ts: datetime, seq: int) -> WastewaterReading:
        site = self._sites[device_id]
        if kind != KIND:
            raise ValueError(f"{self.feed} devices send {KIND!r} only, not {kind!r}")
        t = ts.timestamp()
        s, d = self.seed, device_id
        h = local_hour(t)
        load = 0.7 + 0.2 * unit(s, d, "load")  # share of design capacity in use
        wobble = 1.0 + 0.05 * smooth(t, 1800, s, d, "flow") + 0.015 * gauss(s, d, "flow", t)
        inflow = site.design_capacity_m3d / 24.0 * load * influent_profile(h) * max(0.5, wobble)
        if site.type != "wwtp":
            return WastewaterReading(
                v=1, ts=ts, seq=seq, influent_flow_m3h=round(inflow, 1), bypass_flow_m3h=0.0
            )

        bypass = inflow * (0.4 + 0.2 * unit(s, d, "bypass-share")) * self.level("bypass", d, ts)
        effluent = (inflow - bypass) * (0.975 - 0.01 * unit(s, d, "losses"))

        temp = (
            seasonal(t, 14.0, 30.0, peak_doy=217)
            + 0.6 * bump(h, 16, 4)
            + 0.2 * smooth(t, 7200, s, d, "temp")
        )
        peak = influent_profile(h) - 1.0  # stronger sewage at the daily peaks
        cod_in = (230 + 80 * unit(s, d, "cod")) * (
            1 + 0.12 * peak + 0.06 * smooth(t, 3600, s, d, "ci")
        )
        nh3_in = (22 + 9 * unit(s, d, "nh3")) * (
            1 + 0.1 * peak + 0.06 * smooth(t, 3600, s, d, "ni")
        )
        cod_removal = 0.91 + 0.015 * smooth(t, 7200, s, d, "cr") + 0.003 * gauss(s, d, "cr", t)
        cod_out = clamp(cod_in * (1 - cod_removal), 10.0, 40.0)
        cold = clamp((30.0 - temp) / 16.0, 0.0, 1.0)  # nitrification slows in the cold
        nh3_out = clamp(
            0.6 + 0.9 * cold + 0.25 * smooth(t, 5400, s, d, "no") + 0.05 * gauss(s, d, "no", t),
            0.2,
            2.5,
        )
        tn = clamp(9.5 + 1.2 * smooth(t, 7200, s, d, "tn") + 0.3 * gauss(s, d, "tn", t), 7.0, 12.5)

        nh3_level = self.level("nh3-exceedance", d, ts)
        if nh3_level:
            target = 9.0 + 5.0 * unit(s, d, "nh3-target") + 0.6 * smooth(t, 1800, s, d, "nx")
            nh3_out += nh3_level * (clamp(target, 9.0, 14.0) - nh3_out)
        tn = max(tn, nh3_out + 3.0)  # total nitrogen includes the ammonia

        return WastewaterReading(
            v=1,
            ts=ts,
            seq=seq,
            influent_flow_m3h=round(inflow, 1),
            effluent_flow_m3h=round(effluent, 1),
            bypass_flow_m3h=round(bypass, 1),
            influent_cod_mgl=round(cod_in, 1),
            influent_nh3n_mgl=round(nh3_in, 2),
            effluent_cod_mgl=round(cod_out, 1),
            effluent_nh3n_mgl=round(nh3_out, 2),
            effluent_tn_mgl=round(tn, 2),
            effluent_tp_mgl=round(
                clamp(
                    0.22 + 0.06 * smooth(t, 7200, s, d, "tp") + 0.02 * gauss(s, d, "tp", t),
                    0.08,
                    0.38,
                ),
                3,
            ),
            effluent_ss_mgl=round(
                clamp(6 + 1.0 * smooth(t, 3600, s, d, "ss") + 0.4 * gauss(s, d, "ss", t), 3.5, 8.5),
                1,
            ),
            effluent_ph=round(
                clamp(
                    7.2 + 0.15 * smooth(t, 7200, s, d, "ph") + 0.03 * gauss(s, d, "ph", t), 6.8, 7.6
                ),
                2,
            ),
            water_temp_c=round(temp, 1),
        )
