"""The services' tables: rule state, alerts, the notification outbox, hourly AQI."""

from ingest.storage.migrate import Migration, sql_migration

MIGRATIONS: tuple[Migration, ...] = (
    sql_migration("services.storage", 101, "alerts", "0101_alerts.sql"),
)

__all__ = ["MIGRATIONS"]
