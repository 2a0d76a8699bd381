"""The API under abuse, over real HTTP: failed authentications audited and throttled, event
streams limited and holding no database connection, a full pool answered with a 503
problem, and the documentation pages served without the internet."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from envmon.runtime.embedded import free_port
from ingest.registry import load_registry
from ingest.settings import Settings
from services.api import create_app, create_key
from services.api.limits import AuthThrottle, StreamSlots
from services.rules import default_pack, load_rules
from tests.fixtures.collectors import wait_until
from tests.fixtures.servers import Database

pytestmark = [pytest.mark.database]


class Served:
    def __init__(self, app: FastAPI, url: str, keys: dict[str, str]) -> None:
        self.app, self.url, self.keys = app, url, keys

    def get(self, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.get(self.url + path, headers=headers, timeout=10, **kw)


@contextlib.contextmanager
def serve(database: Database, **api: object) -> Iterator[Served]:
    now = datetime.now(UTC)
    with database.connect() as conn:
        keys = {name: create_key(conn, name, "viewer") for name in ("ann", "bob", "cai")}
        keys["old"] = create_key(conn, "old", "viewer", now - timedelta(minutes=1))
        keys["gone"] = create_key(conn, "gone", "viewer")
        conn.execute("UPDATE api_key SET revoked_at = now() WHERE name = 'gone'")
    port = free_port()
    settings = Settings(database={"schema_name": database.schema}, api={"port": port, **api})
    registry = load_registry()
    app = create_app(settings, database.url, registry, load_rules(default_pack(), registry))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_until(lambda: server.started, timeout=30)
    try:
        yield Served(app, f"http://127.0.0.1:{port}", keys)
    finally:
        server.should_exit = True
        thread.join(15)


def audit_rows(database: Database) -> list[tuple[Any, ...]]:
    with database.connect() as conn:
        return conn.execute(
            "SELECT who, status, after->>'reason', after->>'address' FROM api_audit ORDER BY id"
        ).fetchall()


def test_wrong_revoked_and_expired_keys_are_audited_then_the_address_is_throttled(
    database: Database,
) -> None:
    with serve(database, auth_failures=3, auth_lockout_s=30) as api:
        revoked = api.get("/api/v1/devices", api.keys["gone"])
        expired = api.get("/api/v1/devices", api.keys["old"])
        wrong = api.get("/api/v1/devices", "envmon_guess")
        assert [r.status_code for r in (revoked, expired, wrong)] == [401, 401, 401]
        assert "expired at" in expired.json()["detail"]
        assert revoked.json()["detail"] == wrong.json()["detail"] == "unknown or revoked API key"
        locked = api.get("/api/v1/devices", api.keys["ann"])  # a good key, from that address
        assert locked.status_code == 429
        assert locked.headers["content-type"] == "application/problem+json"
        assert 25 <= int(locked.headers["retry-after"]) <= 30
        assert api.get("/api/v1/health").status_code == 200  # keyless paths stay open
    assert audit_rows(database) == [
        ("gone", 401, "revoked key", "127.0.0.1"),
        ("old", 401, "expired key", "127.0.0.1"),
        (None, 401, "unknown key", "127.0.0.1"),
        (None, 429, "throttled", "127.0.0.1"),
    ]


def test_event_streams_are_limited_and_hold_no_pool_connection(database: Database) -> None:
    limits = {"streams_per_key": 2, "streams_total": 3, "pool_size": 2, "pool_timeout_s": 2}
    with serve(database, **limits) as api, httpx.Client(timeout=10) as http:
        path = api.url + "/api/v1/stream/alerts?seconds=60"

        def stream(who: str) -> contextlib.AbstractContextManager[httpx.Response]:
            return http.stream("GET", path, headers={"Authorization": f"Bearer {api.keys[who]}"})

        with contextlib.ExitStack() as open_streams:
            statuses = []
            for who in ("ann", "ann", "bob"):  # three streams over a pool of two connections
                r = open_streams.enter_context(stream(who))
                statuses.append(r.status_code)
            assert statuses == [200, 200, 200]
            third = api.get("/api/v1/stream/alerts?seconds=60", api.keys["ann"])
            assert third.status_code == 429  # ann's two are her most
            assert "this key has 2 event streams open" in third.json()["detail"]
            assert third.headers["retry-after"]
            full = api.get("/api/v1/stream/alerts?seconds=60", api.keys["cai"])
            assert full.status_code == 429
            assert "3 event streams are open" in full.json()["detail"]
            # every other request is still served: the streams hold no connection
            for _ in range(5):
                assert api.get("/api/v1/devices", api.keys["cai"]).status_code == 200
        # closed streams give their slots back
        assert wait_until(
            lambda: (
                api.get("/api/v1/stream/alerts?seconds=0.1", api.keys["ann"]).status_code == 200
            ),
            timeout=15,
        )
    statuses = [s for _, s, _, _ in audit_rows(database)]
    assert statuses.count(429) == 2


def test_a_pool_with_no_free_connection_answers_503_problem(database: Database) -> None:
    with serve(database, pool_size=1, pool_timeout_s=0.5) as api:
        pool = api.app.state.pool
        held = pool.getconn()
        try:
            r = api.get("/api/v1/devices", api.keys["ann"])
        finally:
            pool.putconn(held)
        assert r.status_code == 503
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["retry-after"] == "1"
        assert "no database connection came free" in r.json()["detail"]
        assert api.get("/api/v1/devices", api.keys["ann"]).status_code == 200


def test_the_documentation_pages_load_nothing_from_the_internet(database: Database) -> None:
    with serve(database) as api:
        for page in ("/docs", "/redoc"):
            html = api.get(page).text
            urls = re.findall(r"""(?:src|href)=["']([^"']+)""", html)
            assert urls, page
            assert not [u for u in urls if u.startswith(("http:", "https:", "//"))], urls
            for u in urls:
                assert api.get(u).status_code == 200, u
        assert "fonts.googleapis" not in api.get("/redoc").text


def test_throttle_counts_per_key_within_its_window_and_lets_go_after_the_lockout() -> None:
    now = [0.0]
    throttle = AuthThrottle(limit=3, window_s=60, lockout_s=100, clock=lambda: now[0])
    for addr in ("a", "b"):  # one key guessed from two addresses
        throttle.failed(f"address:{addr}", "key:k")
    assert throttle.retry_after("key:k") is None
    now[0] = 61.0  # the first two failures are out of the window
    throttle.failed("address:c", "key:k")
    assert throttle.retry_after("key:k") is None
    throttle.failed("address:d", "key:k")
    throttle.failed("address:e", "key:k")
    assert throttle.retry_after("address:x", "key:k") == 100
    assert throttle.retry_after("address:c") is None
    now[0] = 161.0
    assert throttle.retry_after("key:k") is None


def test_stream_slots_count_per_holder_and_in_all() -> None:
    slots = StreamSlots(per_key=1, total=2)
    assert slots.acquire("a") is None
    assert slots.acquire("a") is not None
    assert slots.acquire("b") is None
    assert slots.acquire("c") is not None
    slots.release("a")
    assert slots.acquire("c") is None
