"""The outbox: every transition reaches each receiver once, through failures and hangs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from ingest.registry import load_registry
from services.notify.outbox import Dispatcher
from services.notify.routing import RoutingConfig
from services.rules import alerting, default_pack, load_rules
from services.rules.model import RuleBase
from services.rules.types import Observation, Subject, Verdict
from tests.fixtures.receivers import HttpServer, Reply
from tests.fixtures.servers import Database

pytestmark = [pytest.mark.database, pytest.mark.both_flavours]
T0 = datetime(2026, 11, 2, 2, tzinfo=UTC)


def _rule(rule_id: str) -> RuleBase:
    return next(r for r in load_rules(default_pack(), load_registry()) if r.id == rule_id)


def _routing(*urls: str, timeout_s: float = 2.0) -> RoutingConfig:
    receivers = {
        f"r{i}": {
            "name": f"receiver {i}",
            "channels": [{"type": "webhook", "url": url, "timeout_s": timeout_s}],
        }
        for i, url in enumerate(urls)
    }
    return RoutingConfig.model_validate(
        {
            "receivers": receivers,
            "routes": [{"match": {"feed": "v2x"}, "receivers": list(receivers)}],
            "group_wait_s": 0,
        }
    )


def _fire(conn: psycopg.Connection[tuple[object, ...]], routing: RoutingConfig, rsu: str) -> int:
    subject = Subject(rsu, f"{rsu} 路侧单元", f"RSU {rsu}", "hualing", (rsu,))
    obs = Observation(
        rsu,
        Verdict(T0, T0 + timedelta(minutes=1), True, False, 1.5),
        {"value": 1.5, "limit": "> 1 min"},
    )
    ctx = alerting.Context(_rule("v2x-rsu-offline"), subject, routing)
    with conn.transaction():
        return alerting.open_alert(conn, ctx, obs, T0, "firing")


@pytest.fixture
def conn(database: Database) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(
        database.url, autocommit=True, options=f"-c search_path={database.schema}"
    ) as c:
        yield c


def _dispatch_until(
    dispatcher: Dispatcher, conn: psycopg.Connection[tuple[object, ...]], done: str
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        dispatcher.run_once(conn)
        row = conn.execute(done).fetchone()
        if row is not None and row[0]:
            return
        time.sleep(0.02)
    raise AssertionError(f"not reached: {done}")


def test_a_channel_failing_then_recovering_delivers_exactly_once(
    conn: psycopg.Connection[tuple[object, ...]], http_server: HttpServer
) -> None:
    http_server.replies = [Reply(status=503), Reply(status=500), Reply(status=502)]
    routing = _routing(http_server.url("/hook"))
    _fire(conn, routing, "rsu-0010")
    dispatcher = Dispatcher(routing, retry_base_s=0.01)
    try:
        _dispatch_until(dispatcher, conn, "SELECT bool_and(state = 'sent') FROM notification")
        for _ in range(5):  # nothing more goes out afterwards
            dispatcher.run_once(conn)
    finally:
        dispatcher.close()
    assert len(http_server.requests) == 4
    keys = {r.headers["idempotency-key"] for r in http_server.requests}
    assert len(keys) == 1
    attempts, state = conn.execute("SELECT attempts, state FROM notification").fetchone() or ()
    assert (attempts, state) == (4, "sent")


def test_alerts_of_one_rule_and_area_go_out_as_one_message(
    conn: psycopg.Connection[tuple[object, ...]], http_server: HttpServer
) -> None:
    routing = _routing(http_server.url("/hook"))
    for rsu in ("rsu-0010", "rsu-0011", "rsu-0012"):
        _fire(conn, routing, rsu)
    dispatcher = Dispatcher(routing)
    try:
        _dispatch_until(dispatcher, conn, "SELECT bool_and(state = 'sent') FROM notification")
    finally:
        dispatcher.close()
    [request] = http_server.requests
    body = request.json()
    assert [s["subject"] for s in body["subjects"]] == ["rsu-0010", "rsu-0011", "rsu-0012"]
    assert "3" in body["title"]


def test_a_hanging_receiver_does_not_hold_up_the_others(
    conn: psycopg.Connection[tuple[object, ...]], http_server: HttpServer
) -> None:
    http_server.replies = [Reply(hang=True)]  # the first request (to /slow) hangs
    routing = _routing(http_server.url("/slow"), http_server.url("/fast"), timeout_s=0.5)
    _fire(conn, routing, "rsu-0010")
    dispatcher = Dispatcher(routing, retry_base_s=0.01, workers=2)
    try:
        stats = dispatcher.run_once(conn)
        assert stats.sent == 1
        assert stats.retrying == 1
        _dispatch_until(dispatcher, conn, "SELECT bool_and(state = 'sent') FROM notification")
    finally:
        dispatcher.close()
    paths = [r.path for r in http_server.requests]
    assert sorted(set(paths)) == ["/fast", "/slow"]


def test_a_permanent_refusal_is_marked_failed_with_its_reason(
    conn: psycopg.Connection[tuple[object, ...]], http_server: HttpServer
) -> None:
    http_server.replies = [Reply(status=400, body=b"bad request")]
    routing = _routing(http_server.url("/hook"))
    _fire(conn, routing, "rsu-0010")
    dispatcher = Dispatcher(routing)
    try:
        _dispatch_until(dispatcher, conn, "SELECT bool_and(state = 'failed') FROM notification")
    finally:
        dispatcher.close()
    error = conn.execute("SELECT last_error FROM notification").fetchone()
    assert error is not None
    assert "400" in str(error[0])


def test_a_receiver_without_a_channel_keeps_the_record_and_sends_nothing(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    routing = RoutingConfig.model_validate(
        {
            "receivers": {"iov-ops": {"name": "车联网平台运营"}},
            "routes": [{"match": {"feed": "v2x"}, "receivers": ["iov-ops"]}],
        }
    )
    _fire(conn, routing, "rsu-0010")
    rows = conn.execute("SELECT receiver, state FROM notification").fetchall()
    assert rows == [("iov-ops", "no_channel")]
