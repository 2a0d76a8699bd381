"""The rule service's loops under failure, live against the real PostgreSQL.

A database outage (the TCP proxy cut) is logged, counted in ``loop_health`` and
retried by the rule engine and the notification dispatcher alike, and an alert raised
after it still goes out. A table gone from under either loop stops that loop, records
the permanent failure and sets the service's watch, so the entry point exits non-zero.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from psycopg import sql

from ingest.collector.decode import Decoder
from ingest.collector.inbound import Inbound
from ingest.collector.writer import BatchWriter
from ingest.loops import LoopFailedError
from ingest.registry import device_types, load_registry
from ingest.settings import Settings
from services.notify.routing import RoutingConfig
from services.rules import RuleService, load_rules
from tests.fixtures.collectors import wait_until
from tests.fixtures.proxy import TcpProxy, via_proxy
from tests.fixtures.receivers import HttpServer
from tests.fixtures.rule_files import PM25_INSTANT
from tests.fixtures.servers import Database

pytestmark = [pytest.mark.database]
SERVICE_LOG = "services.rules.service"
LOOPS = ("rules-engine", "notify-dispatcher")
RULES = PM25_INSTANT


def _service(database: Database, url: str, hook: str, tmp_path: Path) -> RuleService:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, "utf-8")
    routing = RoutingConfig.model_validate(
        {
            "receivers": {
                "duty": {"name": "值班室", "channels": [{"type": "webhook", "url": hook}]}
            },
            "routes": [{"match": {"feed": "air"}, "receivers": ["duty"]}],
            "group_wait_s": 0,
        }
    )
    settings = Settings(database={"schema_name": database.schema}, rules={"interval_s": 0.2})
    rules = load_rules([path], load_registry())
    return RuleService(
        settings, url, load_registry(), rules=rules, routing=routing, instance="probe"
    )


def _store(database: Database, values: Sequence[float]) -> None:
    """Readings of air-guantang, a minute apart and ending now, as the collector stores them."""
    now = datetime.now(UTC).replace(microsecond=0)
    writer = BatchWriter(database.url, database.schema)
    writer.connect()
    with database.connect() as conn:
        decoder = Decoder(device_types(conn))
    batch = []
    for i, value in enumerate(values):
        ts = now - timedelta(minutes=len(values) - i)
        topic = b"liudong/air/air-guantang/reading"
        payload = json.dumps({"v": 1, "ts": ts.isoformat(), "seq": i, "pm25_ugm3": value})
        batch.append(
            Inbound(
                topic, payload.encode(), i, 1, now, decoder.decode(topic, payload.encode(), now)
            )
        )
    try:
        assert writer.write(batch).stored["air"] == len(values)
    finally:
        writer.close()


def _health(
    database: Database, loop: str
) -> tuple[int, int, str | None, str | None, datetime | None]:
    with database.connect() as conn:
        row = conn.execute(
            "SELECT transient_failures, permanent_failures, last_error, last_error_kind,"
            " last_success_at FROM loop_health WHERE loop = %s AND instance = 'probe'",
            (loop,),
        ).fetchone()
    return row if row is not None else (0, 0, None, None, None)


def _records(caplog: pytest.LogCaptureFixture, loop: str, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "loop", None) == loop and r.levelno == level]


def test_an_outage_is_retried_by_both_loops_and_an_alert_after_it_goes_out(
    database: Database,
    pg_proxy: TcpProxy,
    http_server: HttpServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=SERVICE_LOG)
    service = _service(
        database, via_proxy(database.url, pg_proxy), http_server.url("/duty"), tmp_path
    )
    service.start()
    try:
        assert wait_until(lambda: all(_health(database, loop)[4] for loop in LOOPS))
        pg_proxy.cut()
        assert wait_until(
            lambda: all(len(_records(caplog, loop, logging.WARNING)) >= 2 for loop in LOOPS)
        )
        restored = datetime.now(UTC)
        pg_proxy.restore()
        _store(database, [35.0, 40.0, 620.0])
        assert wait_until(lambda: len(http_server.requests) == 1)
        assert http_server.requests[0].json()["transition"] == "firing"
        assert wait_until(
            lambda: all(
                (h := _health(database, loop))[0] >= 2 and h[4] is not None and h[4] >= restored
                for loop in LOOPS
            )
        )
    finally:
        service.stop()
    assert not service.watch.failed.is_set()
    for loop in LOOPS:
        _, permanent, last_error, kind, _ = _health(database, loop)
        assert (permanent, kind) == (0, "transient")
        assert last_error is not None
        assert last_error.startswith(("OperationalError", "AdminShutdown"))
        retries = _records(caplog, loop, logging.WARNING)
        assert retries[0].exc_info is not None
        assert all("retrying in" in r.getMessage() for r in retries)
        assert any(
            "recovered after" in r.getMessage() for r in _records(caplog, loop, logging.INFO)
        )
    assert database.scalar("SELECT count(*) FROM alert") == 1


@pytest.mark.parametrize(
    ("loop", "table"), [("rules-engine", "rule_engine"), ("notify-dispatcher", "notification")]
)
def test_a_table_gone_stops_the_loop_and_the_service_reports_it(  # noqa: PLR0917 - fixtures
    database: Database,
    http_server: HttpServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    loop: str,
    table: str,
) -> None:
    caplog.set_level(logging.INFO, logger=SERVICE_LOG)
    service = _service(database, database.url, http_server.url("/duty"), tmp_path)
    service.start()
    try:
        assert wait_until(lambda: all(_health(database, name)[4] for name in LOOPS))
        with database.connect() as conn:  # a bad migration, say
            conn.execute(
                sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                    sql.Identifier(table), sql.Identifier(f"{table}_away")
                )
            )
        assert service.watch.failed.wait(20), "the loop did not report its failure"
        error = service.watch.error
        assert error is not None
        assert (error.loop, error.instance) == (loop, "probe")
        with pytest.raises(LoopFailedError, match="UndefinedTable"):
            service.watch.wait(0)
    finally:
        service.stop()
    [fatal] = _records(caplog, loop, logging.ERROR)
    assert fatal.exc_info is not None
    assert "permanent failure" in fatal.getMessage()
    assert _health(database, loop)[1:4] == (1, "UndefinedTable (42P01)", "permanent")
    other = next(name for name in LOOPS if name != loop)
    assert _health(database, other)[1] == 0
