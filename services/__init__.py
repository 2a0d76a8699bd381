"""Rules, alerts, notifications and the HTTP API (they read what ingest stores)."""
