"""The report schedule beside a rule service: same routing file, same loop health."""

from __future__ import annotations

from ingest.registry import Registry
from ingest.settings import ConfigError, Settings
from ingest.storage.migrate import connect
from services.reports.schedule import ReportScheduler, ScheduleError
from services.rules import RuleService


def start_report_schedule(
    settings: Settings, db_url: str, registry: Registry, service: RuleService
) -> ReportScheduler:
    """Started when the routing file has a ``reports`` list; a bad entry is a ConfigError."""
    schema = settings.database.schema_name
    try:
        scheduler = ReportScheduler(
            service.dispatcher.routing,
            registry,
            lambda: connect(db_url, schema, autocommit=True),
            font=settings.reports.font,
            guard=service.loop_guard("report-schedule"),
        )
    except ScheduleError as exc:
        text = str(exc)
        raise ConfigError(
            f"ENVMON_NOTIFY__CONFIG_PATH: {text}" if text.startswith("reports.") else text
        ) from None
    scheduler.start()
    return scheduler
