"""Air quality figures from the stations' readings: the hourly means the real-time AQI is
computed from, the stored hourly AQI, and the inputs of the daily AQI (HJ 633)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from services.standards.hj633 import edition_for
from services.statistics.hourly import (
    HOUR,
    Conn,
    Max8h,
    Source,
    max_8h_mean,
    max_8h_means,
    mean_of_hours,
    valid_hourly_means,
)

READINGS = "air_reading"
# pollutant → column of air_reading
POLLUTANTS = {
    "so2": "so2_ugm3",
    "no2": "no2_ugm3",
    "co": "co_mgm3",
    "o3": "o3_ugm3",
    "pm10": "pm10_ugm3",
    "pm25": "pm25_ugm3",
}
HOUR_SAMPLES = 45  # GB 3095-2012 Table 4: a 1-hour mean needs 45 minutes of samples
DAY_HOURS = 20  # GB 3095-2012 Table 4: a 24-hour mean needs 20 hourly means
DAILY_MEANS = ("so2", "no2", "co", "pm10", "pm25")  # 24-hour means; O3 is its 8-hour max


def hourly_means(
    conn: Conn, stations: Sequence[str], hour: datetime, min_samples: int = HOUR_SAMPLES
) -> dict[str, dict[str, float | None]]:
    """Each station's 1-hour means of the six pollutants for the clock hour starting at
    ``hour``; a mean with fewer than ``min_samples`` samples is invalid (None). Stations
    without a reading in the hour are left out."""
    cols = list(POLLUTANTS.values())
    hourly = valid_hourly_means(
        conn, READINGS, cols, hour, hour + HOUR, devices=stations, min_samples=min_samples
    )
    return {
        station: {p: by_column[c].get(hour) for p, c in POLLUTANTS.items()}
        for station, by_column in hourly.items()
    }


class HourlyAqi(Protocol):
    """A real-time AQI report (HJ 633) as the AQI computation gives it."""

    @property
    def aqi(self) -> int | None: ...
    @property
    def level(self) -> int | None: ...
    @property
    def category_zh(self) -> str | None: ...
    @property
    def category_en(self) -> str | None: ...
    @property
    def colour(self) -> str | None: ...
    @property
    def primary(self) -> tuple[str, ...]: ...
    @property
    def iaqi(self) -> Mapping[str, int]: ...
    @property
    def edition(self) -> str: ...


def store_aqi(
    conn: Conn,
    station: str,
    hour: datetime,
    result: HourlyAqi,
    concentrations: Mapping[str, float | None],
) -> None:
    """Record a station's hourly AQI and the 1-hour means it was computed from
    (``air_aqi_hourly``, one row per station and hour: a recomputation replaces it)."""
    conn.execute(
        "INSERT INTO air_aqi_hourly (device_id, hour, aqi, level, category_zh, category_en,"
        " colour, primary_pollutants, iaqi, concentrations, edition)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (device_id, hour) DO UPDATE SET aqi = excluded.aqi, level = excluded.level,"
        " category_zh = excluded.category_zh, category_en = excluded.category_en,"
        " colour = excluded.colour, primary_pollutants = excluded.primary_pollutants,"
        " iaqi = excluded.iaqi, concentrations = excluded.concentrations,"
        " edition = excluded.edition, computed_at = now()",
        (
            station,
            hour,
            result.aqi,
            result.level,
            result.category_zh,
            result.category_en,
            result.colour,
            list(result.primary),
            json.dumps(dict(result.iaqi)),
            json.dumps(dict(concentrations)),
            result.edition,
        ),
    )


def o3_max_8h(
    conn: Conn,
    start: datetime,
    end: datetime,
    stations: Sequence[str] | None = None,
    *,
    min_samples: int = HOUR_SAMPLES,
    source: Source = "raw",
) -> dict[str, Max8h]:
    """Each station's O3 maximum 8-hour mean over [``start``, ``end``) — for a local day,
    the O3 daily maximum 8-hour mean of GB 3095-2012 (see ``hourly.max_8h_mean``)."""
    return max_8h_means(
        conn, READINGS, POLLUTANTS["o3"], start, end, devices=stations,
        min_samples=min_samples, source=source,
    )  # fmt: skip


@dataclass(frozen=True)
class DailyInputs:
    """What a station's daily AQI is computed from: the 24-hour means of SO2, NO2, CO,
    PM10 and PM2.5, the O3 daily maximum 8-hour mean and maximum 1-hour mean (keys of
    ``DAILY_MEANS``, ``o3_8h``, ``o3_1h``; None where invalid — the 1-hour maximum counts
    under HJ 633-2012 only), and the valid hours behind each 24-hour mean."""

    concentrations: dict[str, float | None]
    valid_hours: dict[str, int]


def daily_indicators(day_start: datetime) -> tuple[str, ...]:
    """The indicators of a day's AQI: the 24-hour means and the O3 daily maximum 8-hour mean,
    and the maximum 1-hour mean under HJ 633-2012."""
    o3 = ("o3_8h", "o3_1h") if edition_for(day_start) == "HJ 633-2012" else ("o3_8h",)
    return (*DAILY_MEANS, *o3)


def missing_indicators(conc: Mapping[str, float | None], day_start: datetime) -> list[str]:
    """The day's indicators without a valid value (GB 3095 validity minimums)."""
    return [k for k in daily_indicators(day_start) if conc.get(k) is None]


def daily_aqi_inputs(
    conn: Conn,
    start: datetime,
    end: datetime,
    stations: Sequence[str] | None = None,
    *,
    min_samples: int = HOUR_SAMPLES,
    min_hours: int = DAY_HOURS,
    source: Source = "raw",
) -> dict[str, DailyInputs]:
    """The daily AQI inputs (HJ 633) of each station with readings over the local day
    [``start``, ``end``) or the 7 hours before it (``stations``; None: every station)."""
    if end - start != 24 * HOUR:
        raise ValueError(f"a local day is 24 hours, not {end - start}")
    by_day = daily_inputs_by_day(
        conn, [start], stations, min_samples=min_samples, min_hours=min_hours, source=source
    )
    return {station: days[start] for station, days in by_day.items()}


def daily_inputs_by_day(
    conn: Conn,
    days: Sequence[datetime],
    stations: Sequence[str] | None = None,
    *,
    min_samples: int = HOUR_SAMPLES,
    min_hours: int = DAY_HOURS,
    source: Source = "raw",
) -> dict[str, dict[datetime, DailyInputs]]:
    """:func:`daily_aqi_inputs` for each local day starting at ``days`` (consecutive or
    not), from one read of the hourly means; a station appears with the days it has
    readings in (or in the 7 hours before)."""
    if not days:
        return {}
    cols = {p: POLLUTANTS[p] for p in (*DAILY_MEANS, "o3")}
    hourly = valid_hourly_means(
        conn, READINGS, list(cols.values()), min(days) - 7 * HOUR, max(days) + 24 * HOUR,
        devices=stations, min_samples=min_samples, source=source,
    )  # fmt: skip
    out: dict[str, dict[datetime, DailyInputs]] = {}
    for station, by_column in sorted(hourly.items()):
        for start in days:
            end = start + 24 * HOUR
            if not any(start - 7 * HOUR <= h < end for c in by_column.values() for h in c):
                continue
            conc: dict[str, float | None] = {}
            valid: dict[str, int] = {}
            for p in DAILY_MEANS:
                hours = {h: v for h, v in by_column[cols[p]].items() if start <= h < end}
                valid[p] = len(hours)
                conc[p] = mean_of_hours(hours, min_hours)
            o3 = {h: v for h, v in by_column[cols["o3"]].items() if start - 7 * HOUR <= h < end}
            conc["o3_8h"] = max_8h_mean(o3, start, end).value
            o3_day = [v for h, v in o3.items() if h >= start]
            conc["o3_1h"] = max(o3_day) if o3_day else None
            out.setdefault(station, {})[start] = DailyInputs(conc, valid)
    return out
