"""Maintenance windows as the outbox sees them: a silenced notification is recorded, not sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow


def silenced(
    conn: psycopg.Connection[TupleRow],
    subject: str,
    devices: Sequence[str],
    area: str | None,
    at: datetime,
) -> bool:
    """Whether a maintenance window covers the subject (or one of its devices, or its area)
    at ``at``."""
    row = conn.execute(
        "SELECT 1 FROM silence WHERE starts_at <= %s AND ends_at > %s"
        " AND (device_id = %s OR device_id = ANY(%s) OR area = %s) LIMIT 1",
        (at, at, subject, list(devices), area),
    ).fetchone()
    return row is not None
