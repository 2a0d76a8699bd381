"""One stored reading of a device, as its measurement time and named values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from ingest.feeds import Kind


def reading(
    conn: psycopg.Connection[TupleRow], kind: Kind, device_id: str, ts: datetime | None = None
) -> tuple[datetime, dict[str, Any]] | None:
    """The device's reading of ``kind`` at ``ts`` (default: its newest), or None."""
    query = sql.SQL("SELECT ts, {cols} FROM {t} WHERE device_id = %s {at}").format(
        cols=sql.SQL(", ").join(sql.Identifier(c) for c in kind.columns),
        t=sql.Identifier(kind.table),
        at=sql.SQL("AND ts = %s") if ts is not None else sql.SQL("ORDER BY ts DESC LIMIT 1"),
    )
    row = conn.execute(query, (device_id, ts) if ts is not None else (device_id,)).fetchone()
    if row is None:
        return None
    return row[0], dict(zip(kind.columns, row[1:], strict=True))
