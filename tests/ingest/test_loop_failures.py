"""The collector's loops under failure, live: transient ones retried, permanent ones fatal.

Through a real Mosquitto and PostgreSQL: a database outage (the TCP proxy cut) is logged,
counted in ``loop_health`` and recovered from; a table gone from under the writer or the
rollup maintainer stops that loop, records it and sets the collector's watch (the entry
point then exits non-zero), and the batch that failed is not acknowledged: the next
session of the collector gets it again from the broker.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from envmon.runtime.embedded import MosquittoBroker
from ingest.collector.service import Collector
from ingest.loops import LoopFailedError
from ingest.mqtt import MqttPublisher
from ingest.storage.errors import ErrorKind
from ingest.storage.health import LoopHealth
from tests.fixtures.collectors import CollectorFactory, wait_until
from tests.fixtures.proxy import TcpProxy, via_proxy
from tests.fixtures.servers import Database, make_settings
from tests.ingest.test_delivery import publish_range

pytestmark = [pytest.mark.broker, pytest.mark.database]
SERVICE_LOG = "ingest.collector.service"


def health(database: Database, loop: str) -> tuple[object, ...] | None:
    with database.connect() as conn:
        return conn.execute(
            "SELECT transient_failures, permanent_failures, last_error, last_error_kind,"
            " last_success_at FROM loop_health WHERE loop = %s",
            (loop,),
        ).fetchone()


def loop_records(caplog: pytest.LogCaptureFixture, loop: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "loop", None) == loop]


def test_a_database_outage_is_logged_counted_retried_and_recovered_from(  # noqa: PLR0917 - fixtures
    mosquitto: MosquittoBroker,
    database: Database,
    topic_root: str,
    pg_proxy: TcpProxy,
    publisher: MqttPublisher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(mosquitto.url, database.schema, topic_root)
    collector = Collector(settings, via_proxy(database.url, pg_proxy))
    caplog.set_level(logging.INFO, logger=SERVICE_LOG)
    collector.start()
    assert collector.wait_connected(10)
    try:
        publish_range(publisher, topic_root, 0, 200)
        assert wait_until(lambda: collector.snapshot().total("stored") == 200)
        pg_proxy.cut()
        publish_range(publisher, topic_root, 200, 400)
        assert wait_until(lambda: collector.snapshot().db_retries >= 2, timeout=20)
        restored = datetime.now(UTC)
        pg_proxy.restore()
        assert wait_until(lambda: collector.snapshot().total("stored") == 400, timeout=60)
        assert wait_until(lambda: (health(database, "collector-writer") or (0,))[0] != 0)
    finally:
        collector.stop()
    assert not collector.watch.failed.is_set()
    row = health(database, "collector-writer")
    assert row is not None
    transient, permanent, last_error, kind, last_success = row
    assert transient >= 2  # type: ignore[operator]
    assert (permanent, kind) == (0, "transient")
    assert isinstance(last_error, str)
    assert last_error.startswith(("OperationalError", "AdminShutdown"))
    assert isinstance(last_success, datetime)
    assert last_success >= restored - timedelta(seconds=1)

    records = loop_records(caplog, "collector-writer")
    retries = [r for r in records if r.levelno == logging.WARNING]
    assert len(retries) >= 2
    assert all("retrying in" in r.getMessage() for r in retries)
    assert retries[0].exc_info is not None  # the first of the streak with its traceback
    assert any("recovered after" in r.getMessage() for r in records)
    assert database.scalar("SELECT count(*) FROM air_reading") == 400


def test_a_table_gone_stops_the_writer_and_its_batch_comes_back_after_the_restart(  # noqa: PLR0917
    mosquitto: MosquittoBroker,
    database: Database,
    topic_root: str,
    start_collector: CollectorFactory,
    publisher: MqttPublisher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(mosquitto.url, database.schema, topic_root)
    caplog.set_level(logging.INFO, logger=SERVICE_LOG)
    first = start_collector(settings)
    publish_range(publisher, topic_root, 0, 50)
    assert wait_until(lambda: first.snapshot().total("stored") == 50)
    with database.connect() as conn:  # a bad migration, say
        conn.execute("ALTER TABLE air_reading RENAME TO air_reading_away")
    publish_range(publisher, topic_root, 50, 80)

    assert first.watch.failed.wait(20), "the writer did not report its failure"
    error = first.watch.error
    assert error is not None
    assert (error.loop, error.instance) == ("collector-writer", settings.mqtt.client_id)
    with pytest.raises(LoopFailedError, match="UndefinedTable"):
        first.watch.check()
    assert not first.writing()
    [fatal] = [r for r in loop_records(caplog, "collector-writer") if r.levelno >= logging.ERROR]
    assert fatal.exc_info is not None
    assert "permanent failure" in fatal.getMessage()
    assert health(database, "collector-writer")[:4] == (  # type: ignore[index]
        0,
        1,
        "UndefinedTable (42P01)",
        "permanent",
    )
    snap = first.stop()  # does not wait out the flush timeout for a writer that is gone
    assert snap.total("stored") == 50
    assert snap.pending == 30  # nothing of it acknowledged

    with database.connect() as conn:  # fixed; the supervisor restarts the collector
        conn.execute("ALTER TABLE air_reading_away RENAME TO air_reading")
    again = start_collector(settings)
    assert wait_until(lambda: database.scalar("SELECT count(*) FROM air_reading") == 80, 60)
    assert again.snapshot().total("stored") == 30
    assert not again.watch.failed.is_set()


def test_a_table_gone_stops_the_rollup_maintainer(
    mosquitto: MosquittoBroker,
    database: Database,
    topic_root: str,
    start_collector: CollectorFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(mosquitto.url, database.schema, topic_root, rollup_interval_s=0.2)
    caplog.set_level(logging.INFO, logger=SERVICE_LOG)
    collector = start_collector(settings)
    assert wait_until(lambda: (health(database, "collector-maintainer") or (0,) * 5)[4] is not None)
    with database.connect() as conn:
        conn.execute("ALTER TABLE rollup_pending RENAME TO rollup_pending_away")
    assert collector.watch.failed.wait(20)
    assert collector.watch.error is not None
    assert collector.watch.error.loop == "collector-maintainer"
    assert collector.writing()  # the writer is not the one that failed
    row = health(database, "collector-maintainer")
    assert row is not None
    assert row[1:4] == (1, "UndefinedTable (42P01)", "permanent")
    [fatal] = [
        r for r in loop_records(caplog, "collector-maintainer") if r.levelno >= logging.ERROR
    ]
    assert fatal.exc_info is not None


def test_health_counted_while_the_database_is_away_is_written_when_it_is_back(
    database: Database, pg_proxy: TcpProxy
) -> None:
    away = LoopHealth(via_proxy(database.url, pg_proxy), database.schema, connect_timeout_s=1)
    pg_proxy.cut()
    away.failure("probe", "a", ErrorKind.TRANSIENT, "OperationalError")
    away.failure("probe", "a", ErrorKind.TRANSIENT, "AdminShutdown (57P01)")
    assert not away.write()
    assert health(database, "probe") is None
    pg_proxy.restore()
    away.success("probe", "a")  # failures are pending: written at once
    away.close()
    assert health(database, "probe")[:4] == (  # type: ignore[index]
        2,
        0,
        "AdminShutdown (57P01)",
        "transient",
    )
    restarted = LoopHealth(database.url, database.schema)  # counts add up across processes
    restarted.failure("probe", "a", ErrorKind.PERMANENT, "UndefinedTable (42P01)")
    restarted.close()
    row = health(database, "probe")
    assert row is not None
    assert row[:4] == (2, 1, "UndefinedTable (42P01)", "permanent")
    assert row[4] is not None  # the success is kept
