"""Water supply: DMA inlet meters, pressure points, acoustic leak loggers, billing.

Topics ``liudong/water/<device_id>/<kind>`` with kind one of
``flow`` (inlet meter), ``pressure`` (pressure point), ``leak`` (leak logger),
``billing`` (the DMA itself: billed consumption of one local day).
"""

from __future__ import annotations

from datetime import date, time

from pydantic import Field, model_validator

from ingest.feeds._base import LOCAL_TZ, Aggregates, Feed, Kind, Measure, OptionalMeasure, Payload


class InletFlow(Payload):
    flow_m3h: float = Measure(-50_000, 50_000, "DMA inlet flow, m³/h (negative = reverse)")
    pressure_kpa: float | None = OptionalMeasure(-100, 2_500, "pressure at the inlet, kPa")


class Pressure(Payload):
    pressure_kpa: float = Measure(-100, 2_500, "network pressure, kPa")


class LeakLoggerReading(Payload):
    noise_db: float = Measure(0, 140, "minimum night noise level, dB")
    spread_db: float = Measure(0, 140, "noise spread (width of the distribution), dB")
    leak_flag: bool = Field(description="the logger's own leak verdict")


class BilledConsumption(Payload):
    """``ts`` is the start of the local (Asia/Shanghai) day the bill covers."""

    day: date = Field(description="local calendar day the volume covers")
    billed_m3: float = Measure(0, 10_000_000, "billed authorised consumption of the day, m³")

    @model_validator(mode="after")
    def _ts_is_the_start_of_day(self) -> BilledConsumption:
        local = self.ts.astimezone(LOCAL_TZ)
        if local.date() != self.day or local.time() != time(0):
            raise ValueError(f"ts must be 00:00 Asia/Shanghai of day {self.day}")
        return self


FEED = Feed(
    name="water",
    kinds=(
        Kind(
            "water",
            "flow",
            InletFlow,
            "water_inlet_flow",
            frozenset({"flow_meter"}),
            Aggregates(measures=("flow_m3h", "pressure_kpa")),
        ),
        Kind(
            "water",
            "pressure",
            Pressure,
            "water_pressure",
            frozenset({"pressure_point"}),
            Aggregates(measures=("pressure_kpa",)),
        ),
        Kind("water", "leak", LeakLoggerReading, "leak_logger_reading", frozenset({"leak_logger"})),
        Kind("water", "billing", BilledConsumption, "water_billing", frozenset({"dma"})),
    ),
)
