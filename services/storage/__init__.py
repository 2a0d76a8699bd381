"""The services' tables: rule state, alerts, the notification outbox, hourly AQI, API keys,
the API's audit trail, the console's people, sessions and used acknowledge links, and the
KPI views the API and the dashboards share."""

from ingest.storage.migrate import Migration, sql_migration

MIGRATIONS: tuple[Migration, ...] = (
    sql_migration("services.storage", 101, "alerts", "0101_alerts.sql"),
    sql_migration("services.storage", 102, "api", "0102_api.sql"),
    sql_migration("services.storage", 103, "kpi_views", "0103_kpi_views.sql"),
    sql_migration("services.storage", 104, "report_outbox", "0104_report_outbox.sql"),
    sql_migration(
        "services.storage", 105, "rule_engine_generation", "0105_rule_engine_generation.sql"
    ),
    sql_migration("services.storage", 106, "api_key_expiry", "0106_api_key_expiry.sql"),
    sql_migration("services.storage", 107, "console", "0107_console.sql"),
)

__all__ = ["MIGRATIONS"]
