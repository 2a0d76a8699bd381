"""Schemathesis over the OpenAPI document: no 5xx, no response outside the schema."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis.strategies import SearchStrategy
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ingest.registry import load_registry
from ingest.settings import Settings
from services.api import create_app, create_key
from services.rules import default_pack, load_rules
from tests.fixtures.servers import Database

pytestmark = [pytest.mark.database, pytest.mark.slow]
# What the issue asks: no 5xx, every status and body as documented. (Schemathesis's
# "positive data rejected" check is left out: a request can satisfy the schema and still
# be refused with a documented 422, e.g. ``to`` before ``from``.)
# Reproducible in CI (a fixed seed per operation); set ENVMON_FUZZ_EXAMPLES higher and
# ENVMON_FUZZ_RANDOM=1 to search further.
EXAMPLES = int(os.environ.get("ENVMON_FUZZ_EXAMPLES", "40"))
DERANDOMIZE = os.environ.get("ENVMON_FUZZ_RANDOM") != "1"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def app_and_key(database: Database) -> Iterator[tuple[FastAPI, str]]:
    registry = load_registry()
    settings = Settings(database={"schema_name": database.schema})
    app = create_app(settings, database.url, registry, load_rules(default_pack(), registry))
    with database.connect() as conn:
        key = create_key(conn, "fuzzer", "admin")
    with TestClient(app):  # runs the lifespan: the pool is open while the checks run
        yield app, key


def test_no_server_error_and_every_response_fits_the_schema(
    app_and_key: tuple[FastAPI, str],
) -> None:
    app, key = app_and_key
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures, calls = [], 0
    for operation in schema.get_all_operations():
        if isinstance(operation, Err):
            raise operation.err()
        op = operation.ok()
        if op.path.startswith("/api/v1/stream/"):
            continue  # endless by design; tests/services/test_api.py reads them
        strategy = op.as_strategy()
        for case in _examples(strategy, EXAMPLES):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {key}"}
            calls += 1
            try:
                case.call_and_validate(checks=CHECKS)
            except FailureGroup as exc:
                failures.append(f"{op.method.upper()} {op.path}: {str(exc)[:400]}")
    assert calls >= 100  # every operation was exercised
    assert failures == []


def _examples(strategy: SearchStrategy[Any], n: int) -> list[Any]:
    from hypothesis import HealthCheck, given, settings  # noqa: PLC0415

    found: list[Any] = []

    @settings(
        max_examples=n, deadline=None, derandomize=DERANDOMIZE,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    @given(strategy)
    def collect(case: Any) -> None:
        found.append(case)

    collect()
    return found
