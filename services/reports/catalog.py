"""The reports there are, the period each covers, and building one by name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType

from ingest.registry import Registry
from services.reports import (
    air_assessment,
    air_daily,
    leakage_monthly,
    rsu_monthly,
    wwtp_monthly,
)
from services.reports.model import Report
from services.reports.period import Period, PeriodKind
from services.statistics.hourly import Conn

Builder = Callable[..., Report]
REPORTS: Mapping[str, Builder] = MappingProxyType(
    {
        air_daily.NAME: air_daily.build,
        air_assessment.MONTHLY: air_assessment.build_monthly,
        air_assessment.ANNUAL: air_assessment.build_annual,
        wwtp_monthly.NAME: wwtp_monthly.build,
        leakage_monthly.NAME: leakage_monthly.build,
        rsu_monthly.NAME: rsu_monthly.build,
    }
)
PERIODS: Mapping[str, PeriodKind] = MappingProxyType(
    {
        air_daily.NAME: "day",
        air_assessment.MONTHLY: "month",
        air_assessment.ANNUAL: "year",
        wwtp_monthly.NAME: "month",
        leakage_monthly.NAME: "month",
        rsu_monthly.NAME: "month",
    }
)


def build_report(
    conn: Conn, registry: Registry, name: str, period: Period, *, now: datetime | None = None
) -> Report:
    builder = REPORTS.get(name)
    if builder is None:
        raise KeyError(f"no report {name!r}; the reports are {', '.join(REPORTS)}")
    return builder(conn, registry, period, now=now)
