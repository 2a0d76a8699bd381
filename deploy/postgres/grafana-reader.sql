-- A read-only role for Grafana. Panel queries name tables without a schema, so the role
-- finds the project's tables through its search_path (the schema, ENVMON_DATABASE__SCHEMA_NAME),
-- and TimescaleDB's functions (time_bucket for the datasource's TimescaleDB option) in public,
-- where the project creates the extension (and the official image does).
-- The compose stack runs it at the database's first start (grafana-reader.sh); by hand:
--   psql "$ENVMON_DATABASE_URL" -v password="$GRAFANA_READER_PASSWORD" -f deploy/postgres/grafana-reader.sql
-- Run it as the role that runs the migrations, so that the default privileges cover the
-- tables they create.
CREATE SCHEMA IF NOT EXISTS envmon;
CREATE ROLE grafana_reader LOGIN PASSWORD :'password';
GRANT USAGE ON SCHEMA envmon TO grafana_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA envmon TO grafana_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA envmon GRANT SELECT ON TABLES TO grafana_reader;
ALTER ROLE grafana_reader SET search_path = envmon, public;
