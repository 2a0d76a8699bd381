"""The reports' figures against values computed by hand from a small fixture and against
the KPI endpoints; each format renders the same figures (XLSX cell by cell against JSON,
CSV, a PDF with its CJK font embedded and a chart drawn)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from ingest.registry import load_registry
from ingest.settings import Settings
from ingest.storage.rollups import record_pending
from services.api import create_app, create_key
from services.reports import build_report, parse_period
from services.reports.air_assessment import percentile
from services.reports.formats import render
from services.reports.model import Report
from services.standards.hj633 import daily_aqi
from tests.fixtures.servers import Database
from tests.services.test_valid_values import insert

pytestmark = [pytest.mark.database, pytest.mark.both_flavours]
DAY = date(2026, 11, 3)
START = datetime(2026, 11, 2, 16, tzinfo=UTC)  # local midnight of 3 November
MINUTE = timedelta(minutes=1)


def _o3(hour: int) -> float:
    return 50.0 + 5 * hour


def _station_day(device: str, hours: range, day: int = 0) -> list[dict[str, Any]]:
    """A reading a minute: SO2 10, NO2 40, CO 0.8, PM10 100, PM2.5 80, O3 50 + 5 x hour —
    except hour 0's PM2.5, 500 and flagged C (calibration)."""
    rows = []
    for h in hours:
        for m in range(60):
            flagged = h == 0
            rows.append(
                {
                    "device_id": device,
                    "ts": START + timedelta(days=day, hours=h) + m * MINUTE,
                    "so2_ugm3": 10.0,
                    "no2_ugm3": 40.0,
                    "co_mgm3": 0.8,
                    "pm10_ugm3": 100.0,
                    "pm25_ugm3": 500.0 if flagged else 80.0,
                    "o3_ugm3": _o3(h),
                    "flags": {"pm25_ugm3": "C" if flagged else "N"},
                }
            )
    return rows


@pytest.fixture
def air_day(database: Database) -> Report:
    insert(database, "air_reading", _station_day("air-guantang", range(24)))
    insert(database, "air_reading", _station_day("air-hualing", range(12, 24)))
    with database.connect() as conn:
        return build_report(conn, load_registry(), "air-daily", parse_period(day=DAY.isoformat()))


def test_air_daily_by_hand(air_day: Report) -> None:
    rows = {r["site_id"]: r for r in air_day.table("daily").records()}
    g = rows["air-guantang"]
    o3_8h = sum(_o3(h) for h in range(16, 24)) / 8
    assert (g["so2"], g["no2"], g["co"], g["pm10"]) == pytest.approx((10.0, 40.0, 0.8, 100.0))
    assert g["pm25"] == pytest.approx(80.0)  # the calibration hour left out: 23 valid hours
    assert g["o3_8h"] == pytest.approx(o3_8h)
    assert g["o3_1h"] == _o3(23)
    expected = daily_aqi(
        {"so2": 10, "no2": 40, "co": 0.8, "pm10": 100, "pm25": 80, "o3_8h": o3_8h}, START
    )
    assert g["aqi"] == expected.aqi
    assert g["pm25_iaqi"] == expected.iaqi["pm25_24h"]
    assert g["category"] == f"{expected.category_zh} {expected.category_en}"
    assert g["colour"] == expected.colour
    assert g["validity"] == "有效 valid"
    assert "PM2.5 23/24" in str(g["coverage"])
    h = rows["air-hualing"]  # 12 hours: no valid 24-h mean
    assert h["pm25"] is None
    assert h["aqi"] is None
    assert "PM2.5 12 h < 20 h" in str(h["validity"])
    assert rows["air-longhu"]["validity"] == "无数据 no data"
    district = rows["district"]
    assert district["pm25"] == pytest.approx(80.0)  # drawn from the one valid station
    assert f"PM2.5 1/{len(load_registry().air)}" in str(district["coverage"])
    assert district["aqi"] == expected.aqi
    assert any("HJ 633-2026" in n.zh for n in air_day.notes)


@pytest.fixture
def viewer(database: Database) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with database.connect() as conn:
        key = create_key(conn, "viewer-1", "viewer")
    settings = Settings(database={"schema_name": database.schema})
    with TestClient(create_app(settings, database.url, load_registry(), [])) as c:
        yield c, {"Authorization": f"Bearer {key}"}


def test_air_daily_matches_the_kpi_endpoint(
    air_day: Report, viewer: tuple[TestClient, dict[str, str]]
) -> None:
    client, headers = viewer
    kpi = client.get(f"/api/v1/kpi/aqi-daily?date={DAY}", headers=headers).json()
    assert [k["device_id"] for k in kpi] == [s.id for s in load_registry().air]
    by_device = {k["device_id"]: k for k in kpi}
    assert by_device["air-guantang"]["valid"] is True
    assert by_device["air-hualing"]["missing"] == ["so2", "no2", "co", "pm10", "pm25", "o3_8h"]
    assert by_device["air-longhu"]["valid_hours"] == {}  # no data: listed, nothing valid
    for row in air_day.table("daily").records():
        if row["site_id"] in by_device:
            k = by_device[row["site_id"]]
            assert k["aqi"] == row["aqi"], row["site_id"]
            assert k["valid"] == (row["validity"] == "有效 valid")
            for key in ("so2", "no2", "co", "pm10", "pm25", "o3_8h"):
                assert k["concentrations"].get(key) == row[key], (row["site_id"], key)


def test_xlsx_holds_the_json_figures_cell_by_cell(air_day: Report) -> None:
    doc = json.loads(render(air_day, "json"))
    table = doc["tables"][0]
    book = load_workbook(io.BytesIO(render(air_day, "xlsx", "zh")))
    sheet = book[table["title"]["zh"]]
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    headers = [f"{c['zh']} ({c['unit']})" if c["unit"] else c["zh"] for c in table["columns"]]
    assert cells[0] == headers
    assert len(cells) == 1 + len(table["rows"])
    for got, record in zip(cells[1:], table["rows"], strict=True):
        assert got == [record[c["key"]] for c in table["columns"]]
    assert sheet["A2"].value == "air-guantang"
    colour = next(i for i, c in enumerate(table["columns"]) if c["key"] == "colour")
    fill = sheet.cell(row=2, column=colour + 1).fill.fgColor.rgb
    assert fill.endswith(str(table["rows"][0]["colour"]).lstrip("#"))


def test_csv_has_the_headers_and_rounded_figures(air_day: Report) -> None:
    text = render(air_day, "csv", "en").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Daily air-quality report 2026-11-03"]
    header = rows[1]
    assert header[:3] == ["Site id", "Site", "SO2 24-h mean (µg/m³)"]
    guantang = dict(zip(header, rows[2], strict=True))
    assert guantang["PM2.5 24-h mean (µg/m³)"] == "80"
    assert guantang["CO 24-h mean (mg/m³)"] == "0.8"


def _ppm_pixels(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    parts = data.split(maxsplit=4)
    assert parts[0] == b"P6"
    return int(parts[1]), int(parts[2]), parts[4]


def test_pdf_embeds_a_cjk_font_and_draws_the_chart(air_day: Report, tmp_path: Path) -> None:
    pdf = tmp_path / "air-daily.pdf"
    pdf.write_bytes(render(air_day, "pdf", "zh"))
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True)
    line = next(x for x in fonts.stdout.splitlines() if "EnvmonCJK" in x or "WenQuanYi" in x)
    assert " yes " in line  # embedded (emb column)
    subprocess.run(["pdftoppm", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")],
                   check=True)  # fmt: skip
    page = next(tmp_path.glob("p*.ppm"))
    width, height, pixels = _ppm_pixels(page)
    colour = bytes.fromhex(str(air_day.table("daily").records()[0]["colour"]).lstrip("#"))
    bar = pixels.count(colour) // 1  # pixels of the AQI level colour: the chart's bars
    assert width > height  # A4 landscape
    assert bar > 50


def _plant_minute(k: int, day: int) -> dict[str, Any]:
    """wwtp-guantang, minute ``k`` of day ``day`` (0, 1 or 2) of November 3-5."""
    bypass = day == 1 and (60 <= k < 120 or 600 <= k < 660)  # two one-hour episodes
    maintenance = day == 0 and k < 120  # 2 hours of effluent COD flagged M
    return {
        "device_id": "wwtp-guantang",
        "ts": START + timedelta(days=day) + k * MINUTE,
        "influent_flow_m3h": 1100.0,
        "effluent_flow_m3h": 1000.0,
        "bypass_flow_m3h": 100.0 if bypass else 0.0,
        "influent_cod_mgl": 300.0,
        "influent_nh3n_mgl": 30.0,
        "effluent_cod_mgl": 999.0 if maintenance else (60.0 if day == 1 else 20.0),
        "effluent_nh3n_mgl": 1.0,
        "effluent_tn_mgl": 10.0,
        "effluent_tp_mgl": 0.3,
        "effluent_ss_mgl": 5.0,
        "effluent_ph": 7.0,
        "water_temp_c": 20.0,
        "flags": {"effluent_cod_mgl": "M" if maintenance else "N"},
    }


@pytest.fixture
def wwtp_month(database: Database) -> Report:
    rows = [_plant_minute(k, d) for d in (0, 1) for k in range(1440)]
    rows += [_plant_minute(k, 2) for k in range(600)]  # 10 hours: too few for a day
    insert(database, "wastewater_reading", rows)
    with database.connect() as conn:
        return build_report(conn, load_registry(), "wwtp-monthly", parse_period(month="2026-11"))


def test_wwtp_monthly_by_hand(wwtp_month: Report) -> None:
    registry = load_registry()
    capacity = next(s for s in registry.wastewater if s.id == "wwtp-guantang").design_capacity_m3d
    rows = {r["site_id"]: r for r in wwtp_month.table("plants").records()}
    g = rows["wwtp-guantang"]
    assert g["days"] == "2/30"
    assert g["treated"] == pytest.approx(48_000)
    assert g["daily_flow"] == pytest.approx(24_000)
    assert g["load"] == pytest.approx(100 * 24_000 / capacity)
    assert g["cod"] == pytest.approx(40.0)  # the maintenance hours left out
    assert g["cod_removal"] == pytest.approx(100 * 260 / 300)
    assert g["cod_t"] == pytest.approx((280 + 240) * 24_000 / 1e6)
    assert g["nh3n_t"] == pytest.approx(2 * 29 * 24_000 / 1e6)
    assert g["compliant"] == "1/2"  # COD 60 > 50 on the second day
    assert g["bypass"] == pytest.approx(200.0)
    assert g["bypass_events"] == 2
    assert g["rate"] == pytest.approx(100 * 48_000 / 48_200)
    assert g["meets"] == "是 yes"
    plants = [s for s in registry.wastewater if s.type == "wwtp"]
    district = rows["district"]
    assert district["days"] == f"1/{len(plants)} plants"
    assert district["treated"] == pytest.approx(48_000)
    assert "缺" in str(district["meets"])
    silent = next(n for n in wwtp_month.notes if n.en.startswith("No data"))
    assert all(p.name_en in silent.en for p in plants if p.id != "wwtp-guantang")


def test_wwtp_monthly_renders_every_format(wwtp_month: Report, tmp_path: Path) -> None:
    doc = json.loads(render(wwtp_month, "json"))
    assert doc["tables"][0]["rows"][0]["site_id"] == "wwtp-guantang"
    book = load_workbook(io.BytesIO(render(wwtp_month, "xlsx", "en")))
    assert book["WWTP monthly operation report"]["B1"].value == "Plant"
    assert render(wwtp_month, "csv").decode("utf-8-sig").count("\r\n") > 8
    (tmp_path / "w.pdf").write_bytes(render(wwtp_month, "pdf"))
    out = subprocess.run(["pdftotext", str(tmp_path / "w.pdf"), "-"], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    assert "污水处理厂运行月报" in out
    assert "本月无数据" in out


@pytest.fixture
def leakage_month(database: Database) -> Report:
    flows = []
    for meter in ("dma-01-fm1", "dma-01-fm2"):
        for day in (0, 1):
            for k in range(1440):
                night = 120 <= k < 240  # 02:00-04:00 local
                ts = START + timedelta(days=day) + k * MINUTE
                flows.append({"device_id": meter, "ts": ts, "flow_m3h": 40.0 if night else 100.0})
    insert(database, "water_inlet_flow", flows)
    bills = [
        {"device_id": "dma-01", "ts": START + timedelta(days=d), "day": DAY + timedelta(days=d),
         "billed_m3": 2 * 2100.0}
        for d in (0, 1, 2)  # the third day's inlet data is missing: not balanced
    ]  # fmt: skip
    insert(database, "water_billing", bills)
    with database.connect() as conn:
        return build_report(conn, load_registry(), "leakage-monthly", parse_period(month="2026-11"))


def test_leakage_monthly_by_hand(leakage_month: Report) -> None:
    rows = {r["dma_id"]: r for r in leakage_month.table("balance").records()}
    d = rows["dma-01"]
    supplied = 2 * 2 * (22 * 100 + 2 * 40)  # two meters, two days, m³
    assert d["days"] == "2/30"
    assert d["input"] == pytest.approx(supplied)
    assert d["billed"] == pytest.approx(2 * 2 * 2100)
    assert d["rwl"] == pytest.approx(100 * (supplied - 8400) / supplied)
    assert d["grade"] == "一级 first"
    assert d["meets"] == "是 yes"
    assert d["mnf"] == pytest.approx(80.0)  # two meters at 40 m³/h at night
    assert rows["dma-02"]["rwl"] is None
    assert "(1/" in str(rows["utility"]["dma"])
    nights = leakage_month.table("mnf").records()
    assert [n["date"] for n in nights] == [DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)]
    assert nights[0]["dma-01"] == pytest.approx(80.0)
    assert nights[2]["dma-01"] is None


def test_the_leakage_kpi_says_how_many_dmas_report(
    leakage_month: Report, database: Database, viewer: tuple[TestClient, dict[str, str]]
) -> None:
    with database.connect() as conn, conn.cursor() as cur:  # as the collector records a batch
        record_pending(cur, "water_inlet_flow", START, START + timedelta(days=2))
    database.refresh_rollups()
    client, headers = viewer
    on = DAY + timedelta(days=2)
    leak = client.get(f"/api/v1/kpi/leakage?period=month&date={on}", headers=headers).json()
    expected = len(load_registry().dmas)
    assert (leak["dmas_reporting"], leak["dmas_expected"]) == (1, expected)
    assert "dma-02" in leak["missing"]
    assert "dma-01" not in leak["missing"]
    [dma01] = [d for d in leak["dmas"] if d["device_id"] == "dma-01"]
    assert dma01["days_with_data"] == 2
    assert leak["utility_rate_pct"] == pytest.approx(dma01["rate_pct"])
    assert leak["meets_target"] is None
    assert leak["note"].startswith(f"1 of {expected} DMAs reporting")
    assert leak["days_in_window"] == on.day


@pytest.fixture
def rsu_month(database: Database) -> tuple[Report, str]:
    registry = load_registry()
    ix = next(
        i.id
        for i in registry.intersections
        if sum(r.intersection == i.id for r in registry.rsus) >= 2
    )
    a, b = [r.id for r in registry.rsus if r.intersection == ix][:2]
    beats = [
        {
            "device_id": rsu, "ts": START + timedelta(hours=h, minutes=10 * k),
            "online": h in up, "cpu_pct": 10.0, "mem_pct": 20.0, "board_temp_c": 40.0,
            "gnss_lock": True, "cloud_link": True, "uptime_s": 1000,
        }
        for rsu, up in ((a, range(12)), (b, range(6, 18)))
        for h in range(24)
        for k in range(6)  # a heartbeat every 10 minutes
    ]  # fmt: skip
    insert(database, "rsu_heartbeat", beats)
    with database.connect() as conn, conn.cursor() as cur:  # as the collector records a batch
        record_pending(cur, "rsu_heartbeat", START, START + timedelta(days=1))
    database.refresh_rollups()
    with database.connect() as conn:
        return build_report(conn, registry, "rsu-monthly", parse_period(month="2026-11")), ix


def test_rsu_monthly_by_hand(rsu_month: tuple[Report, str]) -> None:
    report, ix = rsu_month
    registry = load_registry()
    days = {r["date"]: r for r in report.table("daily").records()}
    assert days[DAY]["rsu_hours"] == 24
    assert days[DAY]["rate"] == pytest.approx(100 * 24 / (len(registry.rsus) * 24))
    assert days[DAY]["full"] == 0
    assert days[DAY]["dark"] == len(registry.intersections) - 1
    assert days[DAY + timedelta(days=1)]["rsu_hours"] == 0
    rows = {r["ix_id"]: r for r in report.table("intersections").records()}
    x = rows[ix]
    assert x["availability"] == pytest.approx(100 * 18 / 720)
    assert x["outage_hours"] == 702
    assert x["outages"] == 2  # 1-2 November, then from 18:00 on the 3rd to the end
    assert x["longest"] == 720 - 48 - 18
    never = {r["ix_id"] for r in report.table("never").records()}
    assert ix not in never
    assert len(never) == len(registry.intersections) - 1


def test_air_monthly_by_hand(database: Database) -> None:
    for day in range(3):
        insert(database, "air_reading", _station_day("air-guantang", range(24), day))
    with database.connect() as conn:
        report = build_report(conn, load_registry(), "air-monthly", parse_period(month="2026-11"))
        annual = build_report(conn, load_registry(), "air-annual", parse_period(year="2026"))
    rows = {r["site_id"]: r for r in report.table("assessment").records()}
    g = rows["air-guantang"]
    o3_8h = sum(_o3(h) for h in range(16, 24)) / 8
    daily = daily_aqi(
        {"so2": 10, "no2": 40, "co": 0.8, "pm10": 100, "pm25": 80, "o3_8h": o3_8h}, START
    )
    assert daily.level is not None
    assert g["assessed"] == "3/30"
    assert g["compliant"] == (3 if daily.aqi is not None and daily.aqi <= 100 else 0)
    assert g[f"level{daily.level}"] == 3
    assert g["primary"] == "PM2.5 100%"
    assert g["pm25"] == pytest.approx(80.0)
    assert g["co_p95"] == pytest.approx(0.8)
    assert g["o3_p90"] == pytest.approx(o3_8h)
    index = 10 / 60 + 40 / 40 + 100 / 60 + 80 / 30 + 0.8 / 4 + o3_8h / 160
    assert g["index"] == pytest.approx(index)
    assert g["over"] == "PM10、PM2.5"
    assert str(g["validity"]).startswith("数据不足 insufficient: SO2 3 < 27")
    assert rows["district"]["index"] == pytest.approx(index)
    assert rows["district"]["last_year"] is None
    assert [d["aqi"] for d in report.table("days").records()] == [daily.aqi] * 3
    assert annual.table("assessment").records()[0]["assessed"] == "3/365"


def test_air_monthly_compares_each_station_with_a_year_earlier(database: Database) -> None:
    year = -365  # 3 November 2025, local
    insert(database, "air_reading", _station_day("air-guantang", range(24)))
    insert(database, "air_reading", _station_day("air-guantang", range(24), year))
    insert(database, "air_reading", _station_day("air-hualing", range(24), year))
    with database.connect() as conn:
        report = build_report(conn, load_registry(), "air-monthly", parse_period(month="2026-11"))
        then = build_report(conn, load_registry(), "air-monthly", parse_period(month="2025-11"))
    rows = {r["site_id"]: r for r in report.table("assessment").records()}
    before = {r["site_id"]: r for r in then.table("assessment").records()}
    g, h = rows["air-guantang"], rows["air-hualing"]
    # the same concentrations; the index differs by the GB 3095 edition of each period
    assert g["last_year"] == pytest.approx(before["air-guantang"]["index"])
    assert isinstance(g["index"], float)
    assert isinstance(g["last_year"], float)
    assert g["change"] == pytest.approx(100 * (g["index"] - g["last_year"]) / g["last_year"])
    assert h["index"] is None  # no data this year
    assert h["last_year"] == pytest.approx(before["air-hualing"]["index"])
    assert h["change"] is None
    assert rows["air-longhu"]["last_year"] is None
    assert rows["district"]["last_year"] == pytest.approx(before["district"]["index"])


def test_the_hj663_percentile() -> None:
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert percentile(values, 0.95) == pytest.approx(19.05)  # k = 19.05
    assert percentile(values, 0.90) == pytest.approx(18.1)
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([], 0.9) is None


def test_the_api_serves_the_report_files(
    air_day: Report, viewer: tuple[TestClient, dict[str, str]]
) -> None:
    client, headers = viewer
    assert "air-daily" in client.get("/api/v1/reports", headers=headers).json()
    got = client.get(f"/api/v1/reports/air-daily?date={DAY}&format=json", headers=headers)
    assert got.status_code == 200
    rows = {r["site_id"]: r for r in got.json()["tables"][0]["rows"]}
    assert rows["air-guantang"]["aqi"] == air_day.table("daily").records()[0]["aqi"]
    xlsx = client.get(f"/api/v1/reports/air-daily?date={DAY}&format=xlsx", headers=headers)
    assert xlsx.headers["content-disposition"] == 'attachment; filename="air-daily-2026-11-03.xlsx"'
    assert load_workbook(io.BytesIO(xlsx.content)).sheetnames[0] == "说明 Notes"
    pdf = client.get(f"/api/v1/reports/air-daily?date={DAY}&format=pdf", headers=headers)
    assert pdf.content.startswith(b"%PDF")
    wrong = client.get("/api/v1/reports/air-daily?month=2026-11", headers=headers)
    assert wrong.status_code == 422
    assert wrong.headers["content-type"] == "application/problem+json"
    assert "daily report" in wrong.json()["detail"]
    both = client.get(f"/api/v1/reports/air-daily?date={DAY}&month=2026-11", headers=headers)
    assert both.status_code == 422
    assert client.get("/api/v1/reports/nothing?date=2026-11-03", headers=headers).status_code == 422
    assert client.get(f"/api/v1/reports/air-daily?date={DAY}").status_code == 401
