"""Live updates as Server-Sent Events: alert transitions, and the latest readings of a feed.

Both poll the database once a second (alerts by ``alert_event`` id, readings by
``device_latest``), so every API process serves them without a broker connection. A
client that reconnects with ``Last-Event-ID`` resumes after the last alert event it saw.
A stream holds a database connection only while it polls, and the streams open at once
are limited per key and in all (``ENVMON_API__STREAMS_PER_KEY``/``__STREAMS_TOTAL``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from psycopg_pool import ConnectionPool

from ingest.feeds import FEEDS, FeedName
from services.api.auth import Principal, audit, client_address, require_briefly
from services.api.deps import pooled
from services.api.limits import StreamSlots
from services.api.problems import RESPONSES, ApiError
from services.api.readings import reading

router = APIRouter(prefix="/api/v1/stream", tags=["live"], responses=RESPONSES)
Viewer = Annotated[Principal, Depends(require_briefly("viewer"))]
POLL_S = 1.0
KEEPALIVE_S = 15.0
SSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "an event stream"}
}


def _event(kind: str, data: dict[str, Any], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


def _slot(request: Request, who: Principal) -> str:
    """Take one of the stream slots for the caller's key (or address), or refuse (429)."""
    holder = f"key:{who.name}" if who.name is not None else f"address:{client_address(request)}"
    slots: StreamSlots = request.app.state.stream_slots
    refused = slots.acquire(holder)
    if refused is not None:
        with pooled(request) as conn:
            audit(conn, who, request, 429, after={"reason": refused})
        raise ApiError(429, f"{refused}; close one or try later", {"Retry-After": "10"})
    return holder


async def _poll(
    request: Request, holder: str, step: Any, max_events: int | None, seconds: float
) -> AsyncIterator[str]:
    """Poll with ``step`` once a second until the time or the events run out. Async, so
    that a client going away cancels it at once and its slot is given back."""
    pool: ConnectionPool = request.app.state.pool
    slots: StreamSlots = request.app.state.stream_slots
    timeout = request.app.state.settings.api.pool_timeout_s

    def once() -> list[str]:
        with pool.connection(timeout=timeout) as conn:  # held only while polling
            events: list[str] = step(conn)
            return events

    sent, deadline, quiet_since = 0, time.monotonic() + seconds, time.monotonic()
    try:
        while time.monotonic() < deadline:
            for text in await run_in_threadpool(once):
                yield text
                sent += 1
                quiet_since = time.monotonic()
                if max_events is not None and sent >= max_events:
                    return
            if time.monotonic() - quiet_since >= KEEPALIVE_S:
                yield ": keep-alive\n\n"
                quiet_since = time.monotonic()
            await asyncio.sleep(POLL_S)
    finally:
        slots.release(holder)


Seconds = Annotated[float, Query(gt=0, le=86_400, description="end the stream after this")]
MaxEvents = Annotated[int | None, Query(ge=1, le=100_000, description="end after this many")]


@router.get("/alerts", response_class=StreamingResponse, responses=SSE)
def stream_alerts(
    request: Request,
    who: Viewer,
    last_event_id: Annotated[int | None, Header(ge=0)] = None,
    max_events: MaxEvents = None,
    seconds: Seconds = 3600,
) -> StreamingResponse:
    """Every alert transition (pending, firing, acknowledged, resolved, discarded) as it is
    recorded; ``id`` is the transition's id."""
    with pooled(request) as conn:
        row = conn.execute("SELECT coalesce(max(id), 0) FROM alert_event").fetchone()
    cursor = [last_event_id if last_event_id is not None else int(row[0]) if row else 0]

    def step(conn: Any) -> list[str]:
        rows = conn.execute(
            "SELECT e.id, e.alert_id, a.rule_id, a.subject, a.severity, e.transition, e.at,"
            " e.actor FROM alert_event e JOIN alert a ON a.id = e.alert_id"
            " WHERE e.id > %s ORDER BY e.id LIMIT 500",
            (cursor[0],),
        ).fetchall()
        keys = ("alert_id", "rule_id", "subject", "severity", "transition", "at", "actor")
        out = [_event("alert", dict(zip(keys, r[1:], strict=True)), r[0]) for r in rows]
        if rows:
            cursor[0] = rows[-1][0]
        return out

    return StreamingResponse(
        _poll(request, _slot(request, who), step, max_events, seconds),
        media_type="text/event-stream", headers={"Cache-Control": "no-cache"},
    )  # fmt: skip


@router.get("/readings", response_class=StreamingResponse, responses=SSE)
def stream_readings(
    request: Request,
    who: Viewer,
    feed: FeedName,
    max_events: MaxEvents = None,
    seconds: Seconds = 3600,
) -> StreamingResponse:
    """The newest reading of each device of ``feed`` whenever it changes."""
    tables = {k.table: k for k in FEEDS[feed].kinds}

    def latest(conn: Any) -> list[tuple[str, str, datetime]]:
        rows: list[tuple[str, str, datetime]] = conn.execute(
            "SELECT table_name, device_id, ts FROM device_latest WHERE table_name = ANY(%s)",
            (list(tables),),
        ).fetchall()
        return rows

    with pooled(request) as conn:  # the stream carries what changes after it opens
        seen = {(t, d): ts for t, d, ts in latest(conn)}

    def step(conn: Any) -> list[str]:
        out = []
        for table, device, ts in latest(conn):
            if seen.get((table, device)) == ts:
                continue
            seen[(table, device)] = ts
            kind = tables[table]
            found = reading(conn, kind, device, ts)
            if found is not None:
                data = {
                    "device_id": device, "kind": kind.name, "ts": ts,
                    "values": found.values, "flags": found.flags,
                }  # fmt: skip
                out.append(_event("reading", data))
        return out

    return StreamingResponse(
        _poll(request, _slot(request, who), step, max_events, seconds),
        media_type="text/event-stream", headers={"Cache-Control": "no-cache"},
    )  # fmt: skip
