"""The services' tables: rule state, alerts, the notification outbox, hourly AQI, API keys
and the API's audit trail."""

from ingest.storage.migrate import Migration, sql_migration

MIGRATIONS: tuple[Migration, ...] = (
    sql_migration("services.storage", 101, "alerts", "0101_alerts.sql"),
    sql_migration("services.storage", 102, "api", "0102_api.sql"),
)

__all__ = ["MIGRATIONS"]
