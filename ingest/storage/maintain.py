"""Bringing the rollups up to date with what the writer stored, on either flavour."""

from __future__ import annotations

from datetime import datetime

from ingest.storage import rollups, timescale
from ingest.storage.migrate import connect, flavour


def refresh_rollups(db_url: str, schema: str, now: datetime, *, storage: str | None = None) -> int:
    """One maintainer pass: plain PostgreSQL recomputes the buckets batches touched;
    TimescaleDB refreshes the closed ones (the open ones are real-time aggregates).
    ``storage`` is the flavour when known; returns the hour buckets redone."""
    with connect(db_url, schema, autocommit=True) as conn:
        kind = storage or flavour(conn)
        if kind == "timescaledb":
            return timescale.refresh_pending(conn, now)
        conn.autocommit = False
        return rollups.refresh_pending(conn)
