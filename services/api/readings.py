"""One stored reading of a device: its measurement time, named values and data flags."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from ingest.feeds import Kind


@dataclass(frozen=True, slots=True)
class StoredReading:
    ts: datetime
    values: dict[str, Any]
    flags: dict[str, str]  # a measure's data flag when it carried one (HJ 212: N, C, D …)


def reading(
    conn: psycopg.Connection[TupleRow], kind: Kind, device_id: str, ts: datetime | None = None
) -> StoredReading | None:
    """The device's reading of ``kind`` at ``ts`` (default: its newest), or None."""
    query = sql.SQL("SELECT ts, flags, {cols} FROM {t} WHERE device_id = %s {at}").format(
        cols=sql.SQL(", ").join(sql.Identifier(c) for c in kind.columns),
        t=sql.Identifier(kind.table),
        at=sql.SQL("AND ts = %s") if ts is not None else sql.SQL("ORDER BY ts DESC LIMIT 1"),
    )
    row = conn.execute(query, (device_id, ts) if ts is not None else (device_id,)).fetchone()
    if row is None:
        return None
    values = dict(zip(kind.columns, row[2:], strict=True))
    return StoredReading(row[0], values, dict(row[1] or {}))
