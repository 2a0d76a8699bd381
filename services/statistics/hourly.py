"""Valid hourly means, and the daily figures built on them (GB 3095-2012, HJ 663-2013).

An hourly mean is the mean of a clock hour's samples, valid only with enough samples in
the hour (GB 3095-2012 Table 4 asks 45 minutes of data for a 1-hour mean). The same
figures can be read from the raw rows or from the hourly rollups (``<table>_hourly``):
both hold the mean and the count of non-null samples of the same clock hours, so they
agree once the rollups have caught up. The rule engine reads raw rows, which are current
when a window closes; figures of past days may read the rollups, 60 times fewer rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import fmean
from typing import Literal

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from ingest.storage.rollups import HOUR_ORIGIN, ROLLUP_BY_TABLE
from services.statistics.valid import valid

Conn = psycopg.Connection[TupleRow]
Source = Literal["raw", "rollup"]
HOUR = timedelta(hours=1)
# HJ 663-2013: an 8-hour mean needs 6 valid hourly means, a daily maximum 14 8-hour means
EIGHT_HOUR_MIN_HOURS = 6
DAY_MIN_8H_MEANS = 14

# device → column → clock hour (aware, UTC) → valid hourly mean
HourlyMeans = dict[str, dict[str, dict[datetime, float]]]


def valid_hourly_means(
    conn: Conn,
    table: str,
    columns: Sequence[str],
    start: datetime,
    end: datetime,
    *,
    devices: Sequence[str] | None = None,
    min_samples: int,
    source: Source = "raw",
) -> HourlyMeans:
    """The valid hourly means of ``columns`` of ``table`` over the clock hours in
    [``start``, ``end``), by device (``devices``; None: every device with rows).

    A mean of fewer than ``min_samples`` valid samples is left out: a sample counts when it
    is not null and its data flag is N or absent (``valid``). Every device with at least
    one row in the period is in the result, with every column (possibly empty).
    ``source`` says whether raw rows or the hourly rollups of ``table`` are read; the
    rollups average every stored value, flagged or not.
    """
    n = sql.Placeholder("n")
    only = sql.SQL("AND device_id = ANY(%(d)s)") if devices is not None else sql.SQL("")
    if source == "raw":
        mean = sql.SQL("CASE WHEN count({x}) >= {n} THEN avg({x}) END")
        query = sql.SQL(
            "SELECT device_id, date_bin('1 hour', ts, {origin}::timestamptz), {values}"
            " FROM {t} WHERE ts >= %(a)s AND ts < %(b)s {only} GROUP BY 1, 2"
        ).format(
            origin=sql.Literal(HOUR_ORIGIN),
            values=sql.SQL(", ").join(mean.format(x=valid(c), n=n) for c in columns),
            t=sql.Identifier(table),
            only=only,
        )
    else:
        rollup = ROLLUP_BY_TABLE.get(table)
        if rollup is None:
            raise ValueError(f"{table} has no hourly rollup")
        mean = sql.SQL("CASE WHEN {count} >= {n} THEN {avg} END")
        values = (
            mean.format(count=sql.Identifier(f"{c}_n"), n=n, avg=sql.Identifier(f"{c}_avg"))
            for c in columns
        )
        query = sql.SQL(
            "SELECT device_id, bucket, {values} FROM {t}"
            " WHERE bucket >= %(a)s AND bucket < %(b)s {only}"
        ).format(values=sql.SQL(", ").join(values), t=sql.Identifier(rollup.hourly), only=only)
    params = {"n": min_samples, "a": start, "b": end, "d": list(devices or ())}
    out: HourlyMeans = {}
    for device, hour, *means in conn.execute(query, params):
        by_column = out.setdefault(str(device), {c: {} for c in columns})
        for column, value in zip(columns, means, strict=True):
            if value is not None:
                by_column[column][hour] = float(value)
    return out


def mean_of_hours(hours: Mapping[datetime, float], min_hours: int) -> float | None:
    """The mean of the valid hourly means (a 24-hour mean: GB 3095-2012 Table 4 asks 20
    of them a day); None with fewer than ``min_hours`` (or none)."""
    return fmean(hours.values()) if hours and len(hours) >= min_hours else None


@dataclass(frozen=True)
class Max8h:
    """A maximum 8-hour mean and how many valid 8-hour means it was taken from."""

    value: float | None
    valid_means: int


def max_8h_mean(hours: Mapping[datetime, float], start: datetime, end: datetime) -> Max8h:
    """The maximum of the 8-hour sliding means of the hours in [``start``, ``end``), the
    O3 daily maximum 8-hour mean for a day (HJ 663-2013).

    The 8-hour mean at hour t is the mean of the valid hourly means of hours t-7 … t,
    valid with at least 6 of them; ``hours`` must therefore reach 7 hours before
    ``start``. The maximum is valid with at least 14 valid 8-hour means, else None.
    """
    means = []
    t = start
    while t < end:
        got = [hours[h] for k in range(8) if (h := t - k * HOUR) in hours]
        if len(got) >= EIGHT_HOUR_MIN_HOURS:
            means.append(fmean(got))
        t += HOUR
    return Max8h(max(means) if len(means) >= DAY_MIN_8H_MEANS else None, len(means))


@dataclass(frozen=True)
class MeanOfHours:
    """A mean of valid hourly means and how many valid hours it was taken from."""

    value: float | None
    valid_hours: int


def means_of_valid_hours(
    conn: Conn,
    table: str,
    column: str,
    start: datetime,
    end: datetime,
    *,
    devices: Sequence[str] | None = None,
    min_samples: int,
    min_hours: int,
    source: Source = "raw",
) -> dict[str, MeanOfHours]:
    """Each device's mean of the valid hourly means of ``column`` over [``start``,
    ``end``) (see :func:`mean_of_hours`); devices without a valid hour are left out."""
    hourly = valid_hourly_means(
        conn, table, [column], start, end, devices=devices, min_samples=min_samples,
        source=source,
    )  # fmt: skip
    return {
        device: MeanOfHours(mean_of_hours(hours, min_hours), len(hours))
        for device, by_column in hourly.items()
        if (hours := by_column[column])
    }


def max_8h_means(
    conn: Conn,
    table: str,
    column: str,
    start: datetime,
    end: datetime,
    *,
    devices: Sequence[str] | None = None,
    min_samples: int,
    source: Source = "raw",
) -> dict[str, Max8h]:
    """Each device's maximum 8-hour mean of ``column`` over [``start``, ``end``) (see
    :func:`max_8h_mean`); devices without a valid hour from 7 hours before ``start`` are
    left out."""
    hourly = valid_hourly_means(
        conn, table, [column], start - 7 * HOUR, end, devices=devices,
        min_samples=min_samples, source=source,
    )  # fmt: skip
    return {
        device: max_8h_mean(hours, start, end)
        for device, by_column in hourly.items()
        if (hours := by_column[column])
    }
