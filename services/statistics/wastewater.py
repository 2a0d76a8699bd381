"""Wastewater figures: the plants' treatment rate, an engineering proxy of the official
城镇污水处理率 (treated ÷ estimated discharged), from the plant meters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg import sql

from ingest.storage.rollups import DAY_ORIGIN
from services.statistics.hourly import Conn
from services.statistics.valid import valid


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


DAY_SAMPLES = 1080  # a daily mean needs 75 % of a day's minute readings (the rules' minimum)
MEANS = (
    "effluent_flow_m3h",
    "influent_flow_m3h",
    "bypass_flow_m3h",
    "influent_cod_mgl",
    "influent_nh3n_mgl",
    "effluent_cod_mgl",
    "effluent_nh3n_mgl",
    "effluent_tn_mgl",
    "effluent_tp_mgl",
    "effluent_ss_mgl",
    "effluent_ph",
    "water_temp_c",
)


@dataclass(frozen=True)
class PlantDay:
    """One plant's local day from its valid readings: each measure's mean where it has
    ``DAY_SAMPLES`` valid samples (else None), the samples behind it, and the bypass
    episodes begun (a reading with bypass after one without)."""

    device_id: str
    day: datetime  # the local day's start
    means: dict[str, float | None]
    samples: dict[str, int]
    bypass_events: int

    def volume_m3(self, measure: str) -> float | None:
        """A flow's day volume: its daily mean × 24 h."""
        mean = self.means.get(measure)
        return None if mean is None else mean * 24


def plant_days(
    conn: Conn, plants: list[str], start: datetime, end: datetime
) -> dict[str, list[PlantDay]]:
    """Each plant's days in [``start``, ``end``) with readings, oldest first; only valid
    values (data flag N or none) count."""
    cols = sql.SQL(", ").join(sql.SQL("avg({v}), count({v})").format(v=valid(m)) for m in MEANS)
    query = sql.SQL(
        "WITH r AS (SELECT device_id, ts, {cols_raw},"
        " lag({bypass}) OVER (PARTITION BY device_id ORDER BY ts) AS prev_bypass"
        " FROM wastewater_reading WHERE device_id = ANY(%(d)s) AND ts >= %(a)s AND ts < %(b)s)"
        " SELECT device_id, date_bin('1 day', ts, {origin}::timestamptz) AS day, {cols},"
        " count(*) FILTER (WHERE {bypass} > 0 AND coalesce(prev_bypass, 0) = 0)"
        " FROM r GROUP BY 1, 2 ORDER BY 1, 2"
    ).format(
        cols_raw=sql.SQL(", ").join([sql.Identifier(m) for m in MEANS] + [sql.Identifier("flags")]),
        bypass=sql.Identifier("bypass_flow_m3h"),
        origin=sql.Literal(DAY_ORIGIN),
        cols=cols,
    )
    out: dict[str, list[PlantDay]] = {p: [] for p in plants}
    for device, day, *values in conn.execute(query, {"d": plants, "a": start, "b": end}):
        *pairs, events = values
        means: dict[str, float | None] = {}
        samples: dict[str, int] = {}
        for i, m in enumerate(MEANS):
            mean, n = pairs[2 * i], int(pairs[2 * i + 1])
            samples[m] = n
            means[m] = float(mean) if mean is not None and n >= DAY_SAMPLES else None
        out[str(device)].append(PlantDay(str(device), day, means, samples, int(events)))
    return out
