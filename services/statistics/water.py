"""Water supply figures: the CJJ 92-2016 comprehensive leakage rate of each DMA."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.statistics.hourly import Conn


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
        " coalesce(sum(k.bills), 0)::int"
        " FROM device d JOIN dma m USING (device_id)"
        " LEFT JOIN kpi_leakage_daily k"
        " ON k.dma_id = d.device_id AND k.bucket >= %(a)s AND k.bucket < %(b)s"
        " WHERE d.retired_at IS NULL"
        " GROUP BY d.device_id, d.name_zh, m.leakage_target_pct ORDER BY d.device_id",
        {"a": start, "b": end},
    ).fetchall()
    return [
        DmaBalance(str(d), str(n), float(t), float(s), float(b), int(k))
        for d, n, t, s, b, k in rows
    ]
