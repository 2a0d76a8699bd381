"""``envmon api serve`` as its own process, with one worker and with two."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from envmon.runtime.embedded import free_port
from tests.fixtures.servers import Database

pytestmark = [pytest.mark.database]


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_over_http(database: Database, workers: int) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVMON_")}
    env |= {
        "ENVMON_DATABASE_URL": database.url,
        "ENVMON_DATABASE__SCHEMA_NAME": database.schema,
        "ENVMON_API__PORT": str(port),
        "ENVMON_API__WORKERS": str(workers),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "envmon", "api", "serve"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        health = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert health is not None, "the server did not answer"
        assert health.status_code == 200
        assert health.json()["database"] is True
        denied = httpx.get(f"http://127.0.0.1:{port}/api/v1/devices", timeout=5)
        assert denied.status_code == 401
    finally:
        server.terminate()
        server.wait(15)
