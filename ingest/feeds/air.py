"""Ambient air-quality stations (GB 3095 pollutants plus weather).

Topic ``liudong/air/<device_id>/reading``: one sample per minute of the analysers.
"""

from __future__ import annotations

from ingest.feeds._base import Aggregates, Feed, Kind, OptionalMeasure, Payload, fields_of


class AirReading(Payload):
    pm25_ugm3: float | None = OptionalMeasure(0, 5_000, "PM2.5, µg/m³")
    pm10_ugm3: float | None = OptionalMeasure(0, 10_000, "PM10, µg/m³")
    so2_ugm3: float | None = OptionalMeasure(0, 20_000, "SO2, µg/m³")
    no2_ugm3: float | None = OptionalMeasure(0, 10_000, "NO2, µg/m³")
    o3_ugm3: float | None = OptionalMeasure(0, 5_000, "O3, µg/m³")
    co_mgm3: float | None = OptionalMeasure(0, 500, "CO, mg/m³")
    air_temp_c: float | None = OptionalMeasure(-40, 60, "air temperature, °C")
    rh_pct: float | None = OptionalMeasure(0, 100, "relative humidity, %")
    wind_speed_ms: float | None = OptionalMeasure(0, 75, "wind speed, m/s")
    wind_dir_deg: float | None = OptionalMeasure(0, 360, "wind direction, degrees from north")


FEED = Feed(
    name="air",
    kinds=(
        Kind(
            feed="air",
            name="reading",
            model=AirReading,
            table="air_reading",
            device_types=frozenset({"air_station"}),
            # wind direction is circular: an arithmetic mean of degrees means nothing
            rollup=Aggregates(measures=fields_of(AirReading, exclude=("wind_dir_deg",))),
        ),
    ),
)
