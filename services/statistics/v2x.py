"""C-V2X figures from the RSUs' heartbeats: who is online now, and the availability by
hour the monthly report counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from ingest.storage.rollups import DAY_ORIGIN
from services.statistics.hourly import Conn


def online_rsus(conn: Conn, rsus: Sequence[str], since: datetime, until: datetime) -> set[str]:
    """The RSUs among ``rsus`` whose latest heartbeat in (``since``, ``until``] says the
    radio is up; one without a heartbeat in that span counts as offline."""
    return set(online_since(conn, rsus, since, until))


def online_since(
    conn: Conn, rsus: Sequence[str], since: datetime, until: datetime
) -> dict[str, datetime]:
    """:func:`online_rsus` with the time of each one's latest heartbeat (it stays online
    until that heartbeat is older than the span, or a newer one says otherwise)."""
    rows = conn.execute(
        "SELECT DISTINCT ON (device_id) device_id, ts, online FROM rsu_heartbeat"
        " WHERE device_id = ANY(%s) AND ts > %s AND ts <= %s ORDER BY device_id, ts DESC",
        (list(rsus), since, until),
    ).fetchall()
    return {str(d): ts for d, ts, up in rows if up}


ONLINE_SHARE = 0.5  # an RSU-hour counts as available when half its heartbeats said online


def rsu_hours_by_day(
    conn: Conn, rsus: Sequence[str], start: datetime, end: datetime
) -> dict[datetime, int]:
    """Per local day in [``start``, ``end``), the RSU-hours available (hourly rollup: at
    least ``ONLINE_SHARE`` of the hour's heartbeats online; no heartbeat, not available)."""
    rows = conn.execute(
        "SELECT date_bin('1 day', bucket, %(o)s::timestamptz), count(*) FROM rsu_heartbeat_hourly"
        " WHERE device_id = ANY(%(r)s) AND bucket >= %(a)s AND bucket < %(b)s"
        " AND online_ratio >= %(s)s GROUP BY 1",
        {"o": DAY_ORIGIN, "r": list(rsus), "a": start, "b": end, "s": ONLINE_SHARE},
    ).fetchall()
    return {day: int(n) for day, n in rows}


def covered_hours(
    conn: Conn, intersection_of: Mapping[str, str], start: datetime, end: datetime
) -> dict[str, set[datetime]]:
    """Per intersection, the clock hours in [``start``, ``end``) in which at least one of
    its RSUs (``intersection_of``: RSU → intersection) was available."""
    rows = conn.execute(
        "WITH m(rsu, ix) AS (SELECT * FROM unnest(%(r)s::text[], %(i)s::text[]))"
        " SELECT m.ix, h.bucket FROM rsu_heartbeat_hourly h JOIN m ON m.rsu = h.device_id"
        " WHERE h.bucket >= %(a)s AND h.bucket < %(b)s AND h.online_ratio >= %(s)s"
        " GROUP BY 1, 2",
        {
            "r": list(intersection_of), "i": list(intersection_of.values()),
            "a": start, "b": end, "s": ONLINE_SHARE,
        },
    ).fetchall()  # fmt: skip
    out: dict[str, set[datetime]] = {}
    for ix, hour in rows:
        out.setdefault(str(ix), set()).add(hour)
    return out
