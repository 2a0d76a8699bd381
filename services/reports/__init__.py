"""Reports the sub-bureau and the utilities file, as code: one module per report.

Each report is a pure function of the stored data, a period and the registry
(``build(conn, registry, period)``), returning a :class:`~services.reports.model.Report`
that every format renders (:mod:`services.reports.formats`). :mod:`~services.reports.schedule`
sends them on the routing file's schedule, through the notification outbox.
"""

from __future__ import annotations

from services.reports.catalog import PERIODS, REPORTS, build_report
from services.reports.model import Report
from services.reports.period import Period, parse_period

__all__ = ["PERIODS", "REPORTS", "Period", "Report", "build_report", "parse_period"]
