"""Wastewater figures: the plants' treatment rate, an engineering proxy of the official
城镇污水处理率 (treated ÷ estimated discharged), from the plant meters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.statistics.hourly import Conn


def treatment_rate_pct(treated_m3: float, bypass_m3: float) -> float | None:
    """Treated ÷ (treated + bypassed or overflowed) × 100; None when nothing flowed."""
    total = treated_m3 + bypass_m3
    return 100.0 * treated_m3 / total if total > 0 else None


@dataclass(frozen=True)
class PlantTreatment:
    device_id: str
    name_zh: str
    treated_m3: float
    bypass_m3: float

    @property
    def rate_pct(self) -> float | None:
        return treatment_rate_pct(self.treated_m3, self.bypass_m3)


def plant_treatment(conn: Conn, start: datetime, end: datetime) -> list[PlantTreatment]:
    """Each registered plant's treated and bypassed volumes over the local days in
    [``start``, ``end``), from the daily rollups through the ``kpi_treatment_daily`` view
    the dashboards also read (a plant without data has zero volumes)."""
    rows = conn.execute(
        "SELECT d.device_id, d.name_zh, coalesce(sum(k.treated_m3), 0),"
        " coalesce(sum(k.bypass_m3), 0)"
        " FROM device d LEFT JOIN kpi_treatment_daily k"
        " ON k.device_id = d.device_id AND k.bucket >= %s AND k.bucket < %s"
        " WHERE d.device_type = 'wwtp' AND d.retired_at IS NULL"
        " GROUP BY d.device_id, d.name_zh ORDER BY d.device_id",
        (start, end),
    ).fetchall()
    return [PlantTreatment(str(d), str(n), float(t), float(b)) for d, n, t, b in rows]
