"""``envmon demo``: the bounded run on embedded servers, as a user starts it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def run_demo(*args: str, env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "envmon.cli", "demo", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ENVMON_")}


@pytest.mark.parametrize("broker", ["mosquitto", "amqtt"])
def test_demo_on_embedded_servers_stores_what_it_published(broker: str) -> None:
    env = {**clean_env(), "ENVMON_MQTT__EMBEDDED": broker}
    result = run_demo("--duration", "8", "--scenario", "pipe-burst", "--speed", "30", env=env)
    assert result["published"] == result["stored"]
    assert int(result["published"]) > 1000  # type: ignore[call-overload]
    assert result["duplicates"] == 0
    assert result["dead_lettered"] == result["malformed_injected"]
    assert result["dead_letter_reasons"] == result["injected_reasons"]
    by_feed = result["by_feed"]
    assert isinstance(by_feed, dict)
    assert {"wastewater", "air", "water", "v2x"} <= set(by_feed)


def test_demo_rejects_an_unknown_scenario() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "envmon.cli", "demo", "--duration", "1", "--scenario", "flood"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown scenario 'flood'" in done.stderr
    assert "pipe-burst" in done.stderr
