"""C-V2X figures from the RSUs' heartbeats."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.statistics.hourly import Conn


def online_rsus(conn: Conn, rsus: Sequence[str], since: datetime, until: datetime) -> set[str]:
    """The RSUs among ``rsus`` whose latest heartbeat in (``since``, ``until``] says the
    radio is up; one without a heartbeat in that span counts as offline."""
    rows = conn.execute(
        "SELECT DISTINCT ON (device_id) device_id, online FROM rsu_heartbeat"
        " WHERE device_id = ANY(%s) AND ts > %s AND ts <= %s ORDER BY device_id, ts DESC",
        (list(rsus), since, until),
    ).fetchall()
    return {str(d) for d, up in rows if up}
