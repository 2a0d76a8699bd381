"""``envmon report``: a report file from the configured database, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.e2e.test_cli_tools import clean_env, envmon
from tests.fixtures.servers import Database
from tests.services.test_reports import DAY, _station_day
from tests.services.test_valid_values import insert

pytestmark = [pytest.mark.database, pytest.mark.slow]


def test_report_writes_the_file_and_names_what_is_wrong(database: Database, tmp_path: Path) -> None:
    insert(database, "air_reading", _station_day("air-guantang", range(24)))
    env = clean_env(ENVMON_DATABASE_URL=database.url, ENVMON_DATABASE__SCHEMA_NAME=database.schema)
    done = envmon("report", "air-daily", "--date", DAY.isoformat(), "--format", "json",
                  "--out", "-", env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {r["site_id"]: r for r in json.loads(done.stdout)["tables"][0]["rows"]}
    assert rows["air-guantang"]["aqi"] is not None
    done = envmon("report", "air-daily", "--date", DAY.isoformat(), "--format", "xlsx",
                  "--out", str(tmp_path), env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    path = tmp_path / f"air-daily-{DAY.isoformat()}.xlsx"
    assert str(path) in done.stderr
    assert load_workbook(path)["空气质量日报"]["A2"].value == "air-guantang"
    wrong = envmon("report", "air-daily", "--month", "2026-11", env=env)
    assert wrong.returncode == 2
    assert "daily report" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    bad = envmon("report", "wwtp-monthly", "--month", "2026-13", env=env)
    assert bad.returncode == 2
    assert "month '2026-13' is not YYYY-MM" in bad.stderr
    nodb = envmon("report", "air-daily", "--date", DAY.isoformat(), env=clean_env())
    assert nodb.returncode == 2
    assert "ENVMON_DATABASE_URL" in nodb.stderr
