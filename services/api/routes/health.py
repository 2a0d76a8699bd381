"""Health: database and broker reachability, how far behind the collectors are."""

from __future__ import annotations

import socket
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from pydantic import BaseModel

router = APIRouter(prefix="/api/v1", tags=["health"])


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: bool
    broker: bool | None  # None: no broker configured
    last_stored: datetime | None
    collector_lag_s: float | None


def _broker_up(url: str | None) -> bool | None:
    if not url:
        return None
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "localhost", parts.port or 1883), 1.0):
            return True
    except OSError:
        return False


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(request: Request) -> Health | JSONResponse:
    """No key needed. 503 when the database or the broker cannot be reached."""
    database, last, lag = True, None, None
    try:
        with request.app.state.pool.connection(timeout=2.0) as conn:
            row = conn.execute(
                "SELECT max(received_at), extract(epoch FROM now() - max(received_at))"
                " FROM device_latest"
            ).fetchone()
            if row is not None:
                last, lag = row[0], None if row[1] is None else float(row[1])
    except (psycopg.Error, PoolTimeout):
        database = False
    broker = _broker_up(request.app.state.settings.mqtt.url)
    ok = database and broker is not False
    body = Health(
        status="ok" if ok else "degraded", database=database, broker=broker,
        last_stored=last, collector_lag_s=lag,
    )  # fmt: skip
    if ok:
        return body
    return JSONResponse(body.model_dump(mode="json"), status_code=503)
