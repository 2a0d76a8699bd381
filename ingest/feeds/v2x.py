"""C-V2X roadside units: heartbeats, PC5 message counters, road events (RSI/RSM).

Topics ``liudong/v2x/<rsu_id>/heartbeat`` (every 10 s), ``.../counters`` (every 60 s,
counts over ``interval_s``) and ``.../event`` (an RSI/RSM road event as detected).
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field, model_validator

from ingest.feeds._base import Aggregates, Feed, Kind, Measure, Payload

COUNT_MAX = 10_000_000


class Heartbeat(Payload):
    online: bool = Field(description="the RSU's radio is up and serving")
    cpu_pct: float = Measure(0, 100, "CPU load, %")
    mem_pct: float = Measure(0, 100, "memory used, %")
    board_temp_c: float = Measure(-40, 125, "board temperature, °C")
    gnss_lock: bool = Field(description="GNSS fix / time sync held")
    cloud_link: bool = Field(description="link to the C-V2X cloud platform up")
    uptime_s: int = Field(ge=0, description="seconds since boot")


class Counters(Payload):
    interval_s: int = Field(gt=0, le=3600, description="seconds the counts cover")
    bsm_rx: int = Measure(0, COUNT_MAX, "BSM messages received")
    map_tx: int = Measure(0, COUNT_MAX, "MAP messages sent")
    spat_tx: int = Measure(0, COUNT_MAX, "SPAT messages sent")
    rsi_tx: int = Measure(0, COUNT_MAX, "RSI messages sent")
    rsm_tx: int = Measure(0, COUNT_MAX, "RSM messages sent")


class RoadEvent(Payload):
    event_id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$", description="event identifier")
    msg_type: Literal["RSI", "RSM"] = Field(
        description="RSI (roadside information) or RSM (roadside safety message)"
    )
    event_type: Literal[
        "accident", "roadworks", "congestion", "hazard", "weather", "vulnerable_user", "other"
    ] = Field(description="what the RSU reports")
    lat: float = Measure(-90, 90, "latitude, WGS-84")
    lon: float = Measure(-180, 180, "longitude, WGS-84")
    start_ts: AwareDatetime = Field(description="when the event began, ISO 8601 with offset")
    end_ts: AwareDatetime | None = Field(
        default=None, description="when it ended; null while it lasts"
    )

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> RoadEvent:
        if self.end_ts is not None and self.end_ts < self.start_ts:
            raise ValueError("end_ts is before start_ts")
        return self


FEED = Feed(
    name="v2x",
    kinds=(
        Kind(
            "v2x",
            "heartbeat",
            Heartbeat,
            "rsu_heartbeat",
            frozenset({"rsu"}),
            Aggregates(
                measures=("cpu_pct", "mem_pct", "board_temp_c"),
                flags=("online", "gnss_lock", "cloud_link"),
            ),
        ),
        Kind(
            "v2x",
            "counters",
            Counters,
            "rsu_counters",
            frozenset({"rsu"}),
            Aggregates(counters=("interval_s", "bsm_rx", "map_tx", "spat_tx", "rsi_tx", "rsm_tx")),
        ),
        Kind("v2x", "event", RoadEvent, "road_event", frozenset({"rsu"}), counted=False),
    ),
)
