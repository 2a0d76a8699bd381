"""``envmon bench district``: a short run starts every service as its own process, stores
the district's traffic, and prints CPU and memory per process as its last line."""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_bench_hj212 import envmon

pytestmark = [pytest.mark.slow]
SYSTEM = {"collector-1", "collector-2", "rules", "api", "hj212-gateway", "postgresql"}


def test_a_short_district_run_measures_every_process() -> None:
    done = envmon(
        "bench", "district", "--duration", "6", "--warmup", "4", "--api-rate", "0",
        "--storage", "postgresql",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    processes = result["processes"]
    assert set(processes) >= SYSTEM
    assert processes["simulator"]["load"] is True
    for name in SYSTEM:
        assert processes[name]["rss_mb"] > 0, name
        assert processes[name]["cpu_pct"] >= 0, name
    assert result["exited_early"] == []
    assert result["stored_per_s"] > 50  # the district's ~190 messages a second, stored
