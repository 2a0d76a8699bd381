"""Water supply figures: the CJJ 92-2016 comprehensive leakage rate of each DMA."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg import sql

from ingest.storage.rollups import DAY_ORIGIN
from services.statistics.hourly import Conn
from services.statistics.valid import valid


def leakage_rate_pct(supplied_m3: float, billed_m3: float) -> float | None:
    """Comprehensive leakage rate R_WL = (Q_s − Q_a) ÷ Q_s × 100 (CJJ 92-2016 §6.2), with
    Q_s the DMA's metered input and Q_a its billed consumption (a DMA-level proxy:
    unbilled authorised use counts as loss); None when nothing was supplied."""
    return 100.0 * (supplied_m3 - billed_m3) / supplied_m3 if supplied_m3 > 0 else None


@dataclass(frozen=True)
class DmaBalance:
    device_id: str
    name_zh: str
    target_pct: float
    supplied_m3: float
    billed_m3: float
    bills: int
    days: int  # local days with metered input

    @property
    def rate_pct(self) -> float | None:
        """The leakage rate; None without a bill in the period."""
        return leakage_rate_pct(self.supplied_m3, self.billed_m3) if self.bills else None


def dma_balance(conn: Conn, start: datetime, end: datetime) -> list[DmaBalance]:
    """Each registered DMA's supplied and billed volumes over the local days in
    [``start``, ``end``), from the ``kpi_leakage_daily`` view the dashboards also read."""
    rows = conn.execute(
        "SELECT d.device_id, d.name_zh, m.leakage_target_pct,"
        " coalesce(sum(k.supplied_m3), 0), coalesce(sum(k.billed_m3), 0),"
        " coalesce(sum(k.bills), 0)::int, count(k.bucket)::int"
        " FROM device d JOIN dma m USING (device_id)"
        " LEFT JOIN kpi_leakage_daily k"
        " ON k.dma_id = d.device_id AND k.bucket >= %(a)s AND k.bucket < %(b)s"
        " WHERE d.retired_at IS NULL"
        " GROUP BY d.device_id, d.name_zh, m.leakage_target_pct ORDER BY d.device_id",
        {"a": start, "b": end},
    ).fetchall()
    return [
        DmaBalance(str(d), str(n), float(t), float(s), float(b), int(k), int(days))
        for d, n, t, s, b, k, days in rows
    ]


DAY_SAMPLES = 1080  # a day's inlet volume needs 75 % of its minute readings
NIGHT_HOURS = (2, 3)  # local clock hours the minimum night flow is taken from


@dataclass(frozen=True)
class DmaDay:
    """One DMA's local day: the metered input (None unless every inlet meter has
    ``DAY_SAMPLES`` valid readings), the billed consumption (None without a bill), and
    the minimum night flow — the lower of the 02:00 and 03:00 hourly means of the summed
    inlet flows (None when an inlet meter has no reading in those hours)."""

    day: datetime
    supplied_m3: float | None
    billed_m3: float | None
    mnf_m3h: float | None


def dma_days(
    conn: Conn, inlets: dict[str, list[str]], start: datetime, end: datetime
) -> dict[str, dict[datetime, DmaDay]]:
    """Each DMA's days in [``start``, ``end``) with readings or a bill, from its inlet
    meters (``inlets``: DMA → meter ids) and billing; only valid values count."""
    meters = [m for ms in inlets.values() for m in ms]
    flow = valid("flow_m3h")
    daily = conn.execute(
        sql.SQL(
            "SELECT device_id, date_bin('1 day', ts, {o}::timestamptz), avg({f}), count({f})"
            " FROM water_inlet_flow WHERE device_id = ANY(%(m)s) AND ts >= %(a)s AND ts < %(b)s"
            " GROUP BY 1, 2"
        ).format(o=sql.Literal(DAY_ORIGIN), f=flow),
        {"m": meters, "a": start, "b": end},
    ).fetchall()
    night = conn.execute(
        sql.SQL(
            "SELECT device_id, date_bin('1 day', ts, {o}::timestamptz),"
            " extract(hour FROM ts AT TIME ZONE 'Asia/Shanghai')::int, avg({f})"
            " FROM water_inlet_flow WHERE device_id = ANY(%(m)s) AND ts >= %(a)s AND ts < %(b)s"
            " AND extract(hour FROM ts AT TIME ZONE 'Asia/Shanghai') = ANY(%(h)s)"
            " GROUP BY 1, 2, 3"
        ).format(o=sql.Literal(DAY_ORIGIN), f=flow),
        {"m": meters, "a": start, "b": end, "h": list(NIGHT_HOURS)},
    ).fetchall()
    bills = conn.execute(
        "SELECT device_id, date_bin('1 day', ts, %(o)s::timestamptz), sum(billed_m3)"
        " FROM water_billing WHERE device_id = ANY(%(d)s) AND ts >= %(a)s AND ts < %(b)s"
        " GROUP BY 1, 2",
        {"o": DAY_ORIGIN, "d": list(inlets), "a": start, "b": end},
    ).fetchall()
    volume = {(m, d): (float(v) * 24 if v is not None and n >= DAY_SAMPLES else None)
              for m, d, v, n in daily}  # fmt: skip
    hourly = {(m, d, h): float(v) for m, d, h, v in night if v is not None}
    billed = {(dma, d): float(b) for dma, d, b in bills}
    out: dict[str, dict[datetime, DmaDay]] = {}
    for dma, ms in inlets.items():
        days = {d for m, d in volume if m in ms} | {d for x, d in billed if x == dma}
        out[dma] = {}
        for d in sorted(days):
            vols = [volume.get((m, d)) for m in ms]
            supplied = sum(v for v in vols if v is not None) if None not in vols else None
            sums = [
                sum(hourly[m, d, h] for m in ms) if all((m, d, h) in hourly for m in ms) else None
                for h in NIGHT_HOURS
            ]
            mnf = (
                min(s for s in sums if s is not None) if any(s is not None for s in sums) else None
            )
            out[dma][d] = DmaDay(d, supplied, billed.get((dma, d)), mnf)
    return out
