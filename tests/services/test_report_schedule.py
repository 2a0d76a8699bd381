"""Reports on a schedule: due periods, the schedule's checks, and a report made once and
delivered through the outbox — by e-mail with its files (a real local SMTP server), to a
WeCom robot with the headline and a link, to a webhook with the files — and never again
after a restart."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from openpyxl import load_workbook

from ingest.feeds import LOCAL_TZ
from ingest.registry import load_registry
from ingest.storage.migrate import connect
from services.notify.outbox import Dispatcher
from services.notify.routing import RoutingConfig, RoutingError, load_routing
from services.reports import PERIODS, build_report, parse_period
from services.reports.schedule import (
    ReportScheduler,
    Scheduled,
    ScheduleError,
    check_schedule,
    due_period,
    enqueue_due,
)
from tests.fixtures.receivers import HttpServer, MailHandler
from tests.fixtures.servers import Database
from tests.services.test_reports import DAY, _station_day
from tests.services.test_valid_values import insert

Conn = psycopg.Connection[tuple[Any, ...]]


def _local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)


def _scheduled(entry: dict[str, Any]) -> Scheduled:
    routing = RoutingConfig.model_validate(
        {"receivers": {"eco": {"name": "生态环境分局"}}, "reports": [entry]}
    )
    [s] = check_schedule(routing)
    return s


@pytest.mark.parametrize(
    ("entry", "now", "period"),
    [
        ({"report": "air-daily", "at": "08:00"}, "2026-12-01T07:59", "2026-11-29"),
        ({"report": "air-daily", "at": "08:00"}, "2026-12-01T08:00", "2026-11-30"),
        ({"report": "wwtp-monthly", "day": 3, "at": "09:00"}, "2026-12-03T08:59", "2026-10"),
        ({"report": "wwtp-monthly", "day": 3, "at": "09:00"}, "2026-12-03T09:00", "2026-11"),
        ({"report": "rsu-monthly"}, "2027-01-01T08:00", "2026-12"),
        ({"report": "air-annual", "month": 1, "day": 5}, "2027-01-04T12:00", "2025"),
        ({"report": "air-annual", "month": 1, "day": 5}, "2027-01-05T08:00", "2026"),
    ],
)
def test_the_due_period_is_the_latest_whose_time_has_come(
    entry: dict[str, Any], now: str, period: str
) -> None:
    entry = {**entry, "receivers": ["eco"]}
    assert due_period(_scheduled(entry), _local(now)).label == period


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ({"report": "air-weekly"}, "reports.0.report: no report 'air-weekly'"),
        ({"report": "air-daily", "formats": ["docx"]}, "reports.0.formats: docx"),
        ({"report": "air-daily", "day": 3}, "reports.0.day: air-daily is daily"),
        ({"report": "wwtp-monthly", "month": 3}, "reports.0.month: only for an annual"),
    ],
)
def test_a_schedule_entry_that_cannot_work_is_refused(entry: dict[str, Any], error: str) -> None:
    with pytest.raises(ScheduleError, match=error.replace(".", r"\.")):
        _scheduled({**entry, "receivers": ["eco"]})


@pytest.mark.parametrize(
    ("yaml_reports", "error"),
    [
        ("- {report: air-daily, receivers: [nobody]}", "reports.0.receivers: unknown receiver"),
        ("- {report: air-daily, at: 8:00, receivers: [eco]}", "write the time quoted"),
        (
            "- {report: air-daily, receivers: [eco]}\n  - {report: air-daily, receivers: [eco]}",
            "a second entry 'air-daily'; give each an id",
        ),
    ],
)
def test_the_routing_file_names_a_bad_schedule_entry(
    tmp_path: Path, yaml_reports: str, error: str
) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text(
        f"receivers:\n  eco: {{name: 生态环境分局}}\nreports:\n  {yaml_reports}\n", "utf-8"
    )
    with pytest.raises(RoutingError, match=error):
        load_routing(path)


# --- made once, delivered through the outbox ------------------------------------------

DUE = datetime.combine(DAY + timedelta(days=1), datetime.min.time(), LOCAL_TZ) + timedelta(
    hours=8, minutes=5
)


def _routing(http: HttpServer, smtp_port: int) -> RoutingConfig:
    return RoutingConfig.model_validate(
        {
            "receivers": {
                "eco-bureau": {
                    "name": "生态环境分局",
                    "channels": [
                        {
                            "type": "email",
                            "host": "127.0.0.1",
                            "port": smtp_port,
                            "sender": "柳东环境监测 <envmon@example.org>",
                            "to": ["eco@example.org"],
                            "timeout_s": 5,
                        },
                        {"type": "wecom", "url": http.url("/cgi-bin/webhook/send?key=k-1")},
                    ],
                },
                "iov-ops": {
                    "name": "IoV operations",
                    "language": "en",
                    "channels": [{"type": "webhook", "url": http.url("/hook")}],
                },
                "planning-office": {"name": "规划建设环保处"},
            },
            "reports": [
                {
                    "report": "air-daily",
                    "at": "08:00",
                    "formats": ["pdf", "xlsx"],
                    "receivers": ["eco-bureau", "iov-ops", "planning-office"],
                }
            ],
            "group_wait_s": 0,
            "api_base": "https://envmon.example.org",
        }
    )


@pytest.fixture
def conn(database: Database) -> Iterator[Conn]:
    insert(database, "air_reading", _station_day("air-guantang", range(24)))
    insert(database, "air_reading", _station_day("air-hualing", range(12, 24)))
    with connect(database.url, database.schema, autocommit=True) as c:
        yield c


def _dispatch(routing: RoutingConfig, conn: Conn) -> None:
    dispatcher = Dispatcher(routing, retry_base_s=0.01)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            dispatcher.run_once(conn)
            pending = conn.execute(
                "SELECT count(*) FROM notification WHERE state = 'pending'"
            ).fetchone()
            if pending == (0,):
                return
            time.sleep(0.02)
        raise AssertionError("the report rows were not all sent")
    finally:
        dispatcher.close()


@pytest.mark.database
@pytest.mark.both_flavours
def test_the_air_daily_report_is_mailed_posted_and_never_sent_twice(
    conn: Conn, http_server: HttpServer, smtp_server: tuple[MailHandler, int]
) -> None:
    mail, port = smtp_server
    routing = _routing(http_server, port)
    registry = load_registry()
    schedule = check_schedule(routing)

    assert enqueue_due(conn, registry, routing, schedule, DUE) == [f"air-daily/{DAY}"]
    _dispatch(routing, conn)

    report = build_report(conn, registry, "air-daily", parse_period(day=DAY.isoformat()))
    district = report.table("daily").records()[-1]
    assert district["site_id"] == "district"
    [message] = mail.messages
    assert message["Subject"] == f"【报表】空气质量日报 · {DAY}"
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert f"空气质量指数 AQI：{district['aqi']}" in text
    assert "附件：air-daily-2026-11-03.pdf, air-daily-2026-11-03.xlsx" in text
    files = {p.get_filename(): p.get_content() for p in message.iter_attachments()}
    assert set(files) == {f"air-daily-{DAY}.pdf", f"air-daily-{DAY}.xlsx"}
    assert files[f"air-daily-{DAY}.pdf"].startswith(b"%PDF")
    book = load_workbook(io.BytesIO(files[f"air-daily-{DAY}.xlsx"]))
    cells = [c.value for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert "全区 District" in cells

    by_path: dict[str, list[Any]] = {}
    for r in http_server.requests:
        by_path.setdefault(r.path, []).append(r.json())
    [wecom] = by_path["/cgi-bin/webhook/send"]
    content = wecom["markdown"]["content"]
    assert content.startswith(f"### 【报表】空气质量日报 · {DAY}")
    link = f"https://envmon.example.org/api/v1/reports/air-daily?date={DAY}&format=pdf&lang=zh"
    assert f"[下载]({link})" in content
    [hook] = by_path["/hook"]
    assert hook["kind"] == "report"
    assert hook["title"] == f"[REPORT] Daily air-quality report · {DAY}"
    assert f"AQI: {district['aqi']}" in " ".join(hook["headline"])
    en_pdf = conn.execute(
        "SELECT content FROM report_file WHERE language = 'en' AND format = 'pdf'"
    ).fetchone()
    assert en_pdf is not None
    sent = {f["filename"]: base64.b64decode(f["content_base64"]) for f in hook["files"]}
    assert sent[f"air-daily-{DAY}.pdf"] == bytes(en_pdf[0])

    states: dict[str, str] = dict(
        conn.execute(
            "SELECT receiver || '/' || coalesce(channel::text, '-'), state FROM notification"
        ).fetchall()
    )
    assert states == {
        "eco-bureau/0": "sent",
        "eco-bureau/1": "sent",
        "iov-ops/0": "sent",
        "planning-office/-": "no_channel",
    }

    # A restart: a new scheduler and dispatcher, later the same morning.
    again = ReportScheduler(routing, registry, lambda: conn, clock=lambda: DUE + timedelta(hours=2))
    assert again.run_once(conn) == []
    _dispatch(routing, conn)
    assert len(mail.messages) == 1
    assert len(http_server.requests) == 2
    assert conn.execute("SELECT count(*) FROM report_file").fetchone() == (4,)


@pytest.mark.database
def test_the_scheduler_thread_queues_a_report_due_while_it_was_down(
    conn: Conn, database: Database, http_server: HttpServer, smtp_server: tuple[MailHandler, int]
) -> None:
    routing = _routing(http_server, smtp_server[1])
    scheduler = ReportScheduler(
        routing,
        load_registry(),
        lambda: connect(database.url, database.schema, autocommit=True),
        clock=lambda: DUE + timedelta(hours=5),
        interval_s=0.05,
    )
    scheduler.start()
    try:
        deadline = time.monotonic() + 30
        while conn.execute("SELECT count(*) FROM notification").fetchone() != (4,):
            assert time.monotonic() < deadline, "the scheduler queued nothing"
            time.sleep(0.05)
    finally:
        scheduler.stop()
    periods = conn.execute("SELECT DISTINCT period FROM report_file").fetchall()
    assert periods == [(DAY.isoformat(),)]


def test_the_example_routing_file_schedules_every_report() -> None:
    example = Path(__file__).resolve().parents[2] / "deploy" / "notify.example.yaml"
    schedule = check_schedule(load_routing(example))
    assert {s.entry.report for s in schedule} == set(PERIODS)
