"""The HTTP API application, made from the settings by ``create_app``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from psycopg_pool import ConnectionPool

from ingest.registry.model import Registry
from ingest.settings import Settings
from services.api import console, problems
from services.api.limits import AuthThrottle, StreamSlots
from services.api.routes import (
    alerts,
    dead_letters,
    health,
    kpi,
    metrics,
    registry,
    reports,
    rules,
    series,
    silences,
    stream,
)
from services.rules import RuleBase

log = logging.getLogger(__name__)


def create_app(
    settings: Settings, db_url: str, registry_: Registry, rules_: Sequence[RuleBase]
) -> FastAPI:
    """The application; the connection pool opens with it and closes with it."""
    schema = settings.database.schema_name

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool: ConnectionPool = ConnectionPool(
            db_url,
            min_size=1,
            max_size=settings.api.pool_size,
            kwargs={"autocommit": True, "options": f"-c search_path={schema} -c TimeZone=UTC"},
            open=False,
            name="api",
        )
        pool.open(wait=True, timeout=30)
        app.state.pool = pool
        log.info("API ready: schema %s, pool of %d", schema, settings.api.pool_size)
        try:
            yield
        finally:
            pool.close()

    app = FastAPIOffline(  # Swagger UI and ReDoc from the package, not from a CDN
        title="Liudong environmental monitoring API",
        version="1",
        description=(
            "Registry, time series, alerts and rules of the Liudong New District"
            " smart-environment network. Times are ISO 8601 with their offset; errors are"
            " RFC 9457 problem details."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    api = settings.api
    app.state.auth_throttle = AuthThrottle(api.auth_failures, api.auth_window_s, api.auth_lockout_s)
    app.state.stream_slots = StreamSlots(api.streams_per_key, api.streams_total)
    app.state.db_url = db_url
    app.state.registry = registry_
    app.state.rules = list(rules_)
    problems.install(app)
    routers = (
        health, registry, series, kpi, reports, alerts, silences, stream, rules, dead_letters,
        metrics,
    )  # fmt: skip
    for module in routers:
        app.include_router(module.router)
    console.install(app)
    return app
