"""``envmon demo``: the bounded run on embedded servers, as a user starts it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def run_demo(*args: str, env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "envmon", "demo", *args],
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
    result = run_demo(
        "--duration", "8", "--scenario", "pipe-burst", "--speed", "30", "--malformed-rate",
        "0.05", env=env,
    )  # fmt: skip
    assert result["published"] == result["stored"]
    assert int(result["published"]) > 1000  # type: ignore[call-overload]
    assert result["duplicates"] == 0
    assert result["dead_lettered"] == result["malformed_injected"]
    assert result["dead_letter_reasons"] == result["injected_reasons"]
    by_feed = result["by_feed"]
    assert isinstance(by_feed, dict)
    assert {"wastewater", "air", "water", "v2x"} <= set(by_feed)
    # some plants and stations report through HJ 212 loggers and the gateway
    hj212 = result["hj212"]
    assert isinstance(hj212, dict)
    assert hj212["loggers"] == 6
    assert hj212["readings_confirmed"] > 0
    assert hj212["published"] >= hj212["readings_confirmed"]
    assert hj212["replies"]["9014"] >= hj212["readings_confirmed"]
    assert hj212["unacked"] == 0
    assert hj212["dead_lettered"] == hj212["injected"]


def test_demo_alerts_come_from_the_rules_the_scenario_touches() -> None:
    env = {**clean_env(), "ENVMON_MQTT__EMBEDDED": "mosquitto"}
    result = run_demo(
        "--duration", "20", "--speed", "60", "--scenario", "rsu-outage", "--malformed-rate",
        "0", env=env,
    )  # fmt: skip
    alerts = result["alerts"]
    assert isinstance(alerts, dict)
    assert alerts.get("v2x-intersection-dark") == 1
    assert alerts.get("v2x-rsu-offline", 0) >= 1
    assert set(alerts) <= {"v2x-intersection-dark", "v2x-rsu-offline"}


def test_demo_rejects_an_unknown_scenario() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "envmon", "demo", "--duration", "1", "--scenario", "flood"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown scenario 'flood'" in done.stderr
    assert "pipe-burst" in done.stderr


def test_up_runs_until_interrupted_and_reports(tmp_path: Path) -> None:
    env = {**clean_env(), "ENVMON_MQTT__EMBEDDED": "mosquitto"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "envmon", "up", "--data-dir", str(tmp_path), "--speed", "60"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    try:
        for line in proc.stdout:  # progress lines: "... | stored wastewater N air N ..."
            lines.append(line)
            if "| stored" in line and " v2x 0 " not in line:
                break
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, "".join(lines)
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["stored"] > 0
    assert summary["duplicates"] == 0
