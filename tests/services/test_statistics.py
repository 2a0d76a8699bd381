"""The validity rules of the daily air figures (GB 3095-2012 Table 4, HJ 663-2013)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.statistics.hourly import max_8h_mean, mean_of_hours

DAY = datetime(2026, 11, 29, 16, tzinfo=UTC)  # local midnight
H = timedelta(hours=1)


def test_a_daily_mean_needs_twenty_valid_hours() -> None:
    hours = {DAY + k * H: float(k) for k in range(20)}
    assert mean_of_hours(hours, 20) == 9.5
    del hours[DAY]
    assert mean_of_hours(hours, 20) is None


def test_the_8_hour_maximum_needs_six_hours_a_mean_and_fourteen_means_a_day() -> None:
    # hours from 7 h before the day: every 8-hour mean of the day is valid
    hours = {DAY + k * H: 100.0 + k for k in range(-7, 24)}
    full = max_8h_mean(hours, DAY, DAY + 24 * H)
    assert (full.value, full.valid_means) == (100.0 + sum(range(16, 24)) / 8, 24)
    # three missing hours: the means holding all three (at 22 h and 23 h) have 5 hours
    for k in (20, 21, 22):
        del hours[DAY + k * H]
    gaps = max_8h_mean(hours, DAY, DAY + 24 * H)
    assert gaps.valid_means == 22
    assert gaps.value == 100.0 + sum(range(14, 20)) / 6  # the mean at 21 h, of 6 hours
    # ten hours missing in the day: fewer than 14 valid means, no daily figure
    for k in range(10):
        hours.pop(DAY + k * H, None)
    assert max_8h_mean(hours, DAY, DAY + 24 * H).value is None
