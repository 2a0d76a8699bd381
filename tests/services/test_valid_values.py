"""Only valid values (data flag N, or none) count in compliance statistics: hourly means
and their validity minimums (GB 3095), the daily AQI inputs, the GB 18918 daily means
of the rules and the treatment-rate proxy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from ingest.registry import load_registry
from services.rules import default_pack, load_rules
from services.rules.evaluators import evaluator_for
from services.rules.windows import Span
from services.statistics.air import daily_aqi_inputs
from services.statistics.hourly import valid_hourly_means
from tests.fixtures.servers import Database

DAY = datetime(2026, 11, 2, 16, tzinfo=UTC)  # local midnight of 3 November
MINUTE = timedelta(minutes=1)


def insert(database: Database, table: str, rows: list[dict[str, Any]]) -> None:
    with database.connect() as conn, conn.cursor() as cur:
        for i, row in enumerate(rows):
            cols = ["seq", "received_at", *row]
            values = [i, row["ts"], *(Jsonb(v) if k == "flags" else v for k, v in row.items())]
            cur.execute(
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})",
                values,
            )


def test_flagged_samples_leave_the_hourly_mean_and_its_sample_count(database: Database) -> None:
    rows = []
    for m in range(60):
        flagged = m < 20  # the PM2.5 analyser's span check: 20 minutes flagged C
        rows.append(
            {
                "device_id": "air-guantang",
                "ts": DAY + m * MINUTE,
                "pm25_ugm3": 500.0 if flagged else 30.0,
                "o3_ugm3": 80.0,
                "flags": {"pm25_ugm3": "C"} if flagged else {"pm25_ugm3": "N"},
            }
        )
    insert(database, "air_reading", rows)
    with database.connect() as conn:
        means = valid_hourly_means(
            conn, "air_reading", ["pm25_ugm3", "o3_ugm3"], DAY, DAY + timedelta(hours=1),
            min_samples=40,
        )  # fmt: skip
        short = valid_hourly_means(
            conn, "air_reading", ["pm25_ugm3", "o3_ugm3"], DAY, DAY + timedelta(hours=1),
            min_samples=45,  # GB 3095: 45 minutes of data for an hourly mean
        )  # fmt: skip
        daily = daily_aqi_inputs(conn, DAY, DAY + timedelta(days=1), ["air-guantang"])
    assert means["air-guantang"]["pm25_ugm3"] == {DAY: 30.0}
    assert means["air-guantang"]["o3_ugm3"] == {DAY: 80.0}  # its own flag: none, valid
    assert short["air-guantang"]["pm25_ugm3"] == {}  # 40 valid minutes are too few
    assert short["air-guantang"]["o3_ugm3"] == {DAY: 80.0}
    assert daily["air-guantang"].valid_hours["pm25"] == 0


def _plant_day(flag: str) -> list[dict[str, Any]]:
    """A plant's day, a reading a minute: effluent COD 20 mg/L, flow 1000 m³/h, no bypass,
    except the first 6 hours: COD 62 and a bypass of 500 m³/h, both flagged ``flag``."""
    rows = []
    for k in range(24 * 60):
        flagged = k < 6 * 60
        row: dict[str, Any] = {
            "device_id": "wwtp-guantang",
            "ts": DAY + k * MINUTE,
            "influent_flow_m3h": 1500.0,
            "effluent_flow_m3h": 1000.0,
            "bypass_flow_m3h": 500.0 if flagged else 0.0,
            "effluent_cod_mgl": 62.0 if flagged else 20.0,
        }
        if flagged:
            row["flags"] = {"effluent_cod_mgl": flag, "bypass_flow_m3h": flag}
        rows.append(row)
    return rows


def _observe(database: Database, rule_id: str) -> tuple[float | None, dict[str, Any]]:
    registry = load_registry()
    rule = next(r for r in load_rules(default_pack(), registry) if r.id == rule_id)
    evaluator = evaluator_for(rule, registry)
    subjects = [s for s in evaluator.subjects if s.id == "wwtp-guantang"]
    with database.connect() as conn:
        [obs] = evaluator.evaluate(
            conn, Span(DAY, DAY + timedelta(days=1)), subjects, DAY + timedelta(days=2)
        )
    return obs.verdict.value, obs.evidence


def test_rules_judge_valid_values_only(database: Database) -> None:
    insert(database, "wastewater_reading", _plant_day("M"))
    # COD: the 1,080 valid samples (the rule's minimum) read 20; those in maintenance
    # (62) do not count
    cod, evidence = _observe(database, "ww-effluent-cod-daily")
    assert cod == 20.0
    assert evidence["samples"] == 18 * 60
    # treatment rate: a bypass meter in maintenance measures no bypass, and the rows that
    # hold its readings leave the coverage too (18 of 24 hours: short of data)
    rate, evidence = _observe(database, "ww-treatment-rate-plant-daily")
    assert rate is None
    assert evidence["short_of_data"] == ["wwtp-guantang"]


def test_the_same_values_flagged_n_count(database: Database) -> None:
    insert(database, "wastewater_reading", _plant_day("N"))
    cod, evidence = _observe(database, "ww-effluent-cod-daily")
    assert cod == (62.0 * 6 + 20.0 * 18) / 24
    assert evidence["samples"] == 24 * 60
    rate, evidence = _observe(database, "ww-treatment-rate-plant-daily")
    assert evidence["covered"] == ["wwtp-guantang"]
    assert rate == 100 * 1000 / (1000 + 500 / 4)
