"""Air quality: the hourly (real-time) AQI per station, computed, stored and judged."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg import sql

from services.rules.aqi import hourly_aqi
from services.rules.evaluators._base import Conn, Evaluator
from services.rules.model import AqiRule, Hour
from services.rules.types import Observation, Subject
from services.rules.windows import Span, spans

# pollutant → column of air_reading
POLLUTANTS = {
    "so2": "so2_ugm3",
    "no2": "no2_ugm3",
    "co": "co_mgm3",
    "o3": "o3_ugm3",
    "pm10": "pm10_ugm3",
    "pm25": "pm25_ugm3",
}


def hourly_means(
    conn: Conn, table: str, devices: list[str], span: Span, min_samples: int
) -> dict[str, dict[str, float | None]]:
    """1-hour means of the six pollutants per station; a mean with fewer than
    ``min_samples`` samples in the hour is invalid (None), per GB 3095's 45-minute rule."""
    parts = []
    for col in POLLUTANTS.values():
        x = sql.Identifier(col)
        parts.append(sql.SQL("CASE WHEN count({x}) >= %(n)s THEN avg({x}) END").format(x=x))
    query = sql.SQL(
        "SELECT device_id, {p} FROM {t} WHERE device_id = ANY(%(d)s)"
        " AND ts >= %(a)s AND ts < %(b)s GROUP BY device_id"
    ).format(p=sql.SQL(", ").join(parts), t=sql.Identifier(table))
    rows = conn.execute(
        query, {"n": min_samples, "d": devices, "a": span.start, "b": span.end}
    ).fetchall()
    return {
        str(r[0]): {
            p: (None if v is None else float(v)) for p, v in zip(POLLUTANTS, r[1:], strict=True)
        }
        for r in rows
    }


def store_aqi(
    conn: Conn, device: str, hour: datetime, result: Any, conc: dict[str, float | None]
) -> None:
    conn.execute(
        "INSERT INTO air_aqi_hourly (device_id, hour, aqi, level, category_zh, category_en,"
        " colour, primary_pollutants, iaqi, concentrations, edition)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (device_id, hour) DO UPDATE SET aqi = excluded.aqi, level = excluded.level,"
        " category_zh = excluded.category_zh, category_en = excluded.category_en,"
        " colour = excluded.colour, primary_pollutants = excluded.primary_pollutants,"
        " iaqi = excluded.iaqi, concentrations = excluded.concentrations,"
        " edition = excluded.edition, computed_at = now()",
        (
            device,
            hour,
            result.aqi,
            result.level,
            result.category_zh,
            result.category_en,
            result.colour,
            list(result.primary),
            json.dumps(result.iaqi),
            json.dumps(conc),
            result.edition,
        ),
    )


class AqiEvaluator(Evaluator[AqiRule]):
    def spans(self, after: datetime, until: datetime) -> list[Span]:
        return spans(Hour(type="hour"), after, until)

    def evaluate(
        self, conn: Conn, span: Span, subjects: Sequence[Subject], now: datetime
    ) -> list[Observation]:
        means = hourly_means(
            conn, self.table, [s.id for s in subjects], span, self.rule.hour_samples
        )
        out = []
        for s in subjects:
            conc = means.get(s.id, {})
            result = (
                hourly_aqi(conc, span.start) if any(v is not None for v in conc.values()) else None
            )
            if result is None or result.aqi is None:
                out.append(self.threshold_verdict(s, span, None, {}))
                continue
            store_aqi(conn, s.id, span.start, result, conc)
            evidence = {
                "aqi": result.aqi,
                "level": result.level,
                "category": result.category_zh,
                "primary": list(result.primary),
                "iaqi": result.iaqi,
                "concentrations": conc,
                "edition": result.edition,
            }
            obs = self.threshold_verdict(s, span, float(result.aqi), evidence)
            obs.evidence["edition"] = result.edition
            out.append(obs)
        return out
