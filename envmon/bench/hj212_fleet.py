"""The loggers of ``envmon bench hj212``: synthetic air stations added to the district's
registry, and the uploads they send.

The gateway serves only the loggers its registry names, and the collector stores only
devices of the registry tables, so the bench writes a registry of its own — the district's
plus ``n`` air stations with HJ 212 loggers (24-hex MNs) — for the gateway process, and
loads the same into the bench schema.

Uploads are real-time data (CN 2011, Flag with the ack bit, the standard's CRC) built
with the codec's :func:`~ingest.hj212.encode_packet`. What does not depend on the logger
is computed once: the k-th upload of every logger has the same DataTime (the send's
second), QN and values, so the data areas are built before the run and only the header
and the CRC are encoded per packet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from ingest.hj212 import DataArea, Edition, Packet, encode_packet, format_time, make_flag, make_qn
from ingest.registry import SECRETS, AirStation, Hj212Logger, Registry, dump_registry
from ingest.units import convert, field_unit

ST_AIR: Final = "22"
PREFIX = "air-bench-"
# A clean day's readings, in the fields' own units; the k-th upload adds k % 10 percent.
VALUES = {
    "pm25_ugm3": 32.0,
    "pm10_ugm3": 58.0,
    "so2_ugm3": 9.0,
    "no2_ugm3": 31.0,
    "o3_ugm3": 84.0,
    "co_mgm3": 0.7,
    "air_temp_c": 24.5,
    "rh_pct": 71.0,
    "wind_speed_ms": 2.1,
    "wind_dir_deg": 135.0,
}
FLAG = make_flag(Edition.HJ212_2017, ack=True)


@dataclass(frozen=True, slots=True)
class BenchLogger:
    device_id: str
    mn: str
    pw: str


def mn_of(i: int) -> str:
    """A 24-hex MN (EPC-96 layout, a manufacturer no district logger has)."""
    return f"0BE4C400{i:016X}"


def bench_registry(base: Registry, n: int) -> tuple[Registry, list[BenchLogger]]:
    """``base`` with ``n`` synthetic air stations reporting through HJ 212 loggers."""
    areas = [a.code for a in base.areas]
    stations = []
    loggers = []
    for i in range(n):
        device_id = f"{PREFIX}{i:05d}"
        logger = BenchLogger(device_id, mn_of(i), f"{(i * 7919 + 100_003) % 1_000_000:06d}")
        loggers.append(logger)
        stations.append(
            AirStation(
                id=device_id,
                name_zh=f"压测空气站 {i}",
                name_en=f"Bench air station {i}",
                lat=24.30 + (i % 200) * 0.001,
                lon=109.45 + (i // 200 % 250) * 0.001,
                area=areas[i % len(areas)],
                transport="hj212",
                # The registry's shortest interval is 10 s; the gateway uses it only for
                # its idle timeout, which a logger sending every second never meets.
                hj212=Hj212Logger(mn=logger.mn, pw=logger.pw, st=ST_AIR, interval_s=60),
            )
        )
    data = base.model_dump(mode="json", context=SECRETS)
    data["air"] += [s.model_dump(mode="json") for s in stations]
    return Registry.model_validate(data), loggers


def write_registry(registry: Registry, path: Path) -> Path:
    path.write_text(dump_registry(registry), encoding="utf-8")
    return path


def _number(value: float) -> str:
    return f"{value:.3f}"


class Uploads:
    """The k-th real-time upload of any bench logger, as bytes."""

    def __init__(self, registry: Registry, start: datetime, count: int, interval_s: float) -> None:
        codes = registry.hj212_codes[ST_AIR]
        self.qns: list[str] = []
        self.qn_bytes: list[bytes] = []  # as the 9014s carry them
        self._areas: list[DataArea] = []
        for k in range(count):
            at = start + timedelta(seconds=math.floor(k * interval_s))
            items = {}
            for code, m in codes.items():
                stored_in = field_unit(m.field)
                assert stored_in is not None
                value = VALUES[m.field] * (1 + (k % 10) / 100)
                items[code] = {"Rtd": _number(convert(value, stored_in, m.unit)), "Flag": "N"}
            self._areas.append(DataArea.of({"DataTime": format_time(at)}, items))
            self.qns.append(make_qn(at))
            self.qn_bytes.append(self.qns[-1].encode())

    def __len__(self) -> int:
        return len(self.qns)

    def packet(self, logger: BenchLogger, k: int) -> bytes:
        return encode_packet(
            Packet(
                st=ST_AIR,
                cn="2011",
                cp=self._areas[k],
                qn=self.qns[k],
                pw=logger.pw,
                mn=logger.mn,
                flag=FLAG,
            )
        )
