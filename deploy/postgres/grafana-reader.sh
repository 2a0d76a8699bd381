#!/bin/sh
# Run by the database image at its first start (/docker-entrypoint-initdb.d): Grafana's
# read-only role, with the password the stack's env file gives (GRAFANA_READER_PASSWORD).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v password="$GRAFANA_READER_PASSWORD" -f /opt/envmon/grafana-reader.sql
