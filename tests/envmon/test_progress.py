"""The terminal of ``envmon up``: log lines and alerts above the status line, never glued
to it; an outage shown on the line while the simulators are held up."""

from __future__ import annotations

import io
import logging
import time
from typing import Any

from envmon.runtime.progress import ProgressLine
from ingest.collector.stats import StatsSnapshot
from simulators.publish import DriveStats


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True

    def screen(self) -> list[str]:
        """The lines as a terminal shows them (\\r\\033[K erases the line being drawn)."""
        lines = [chunk.split("\r\033[K")[-1] for chunk in self.getvalue().split("\n")]
        while lines and not lines[-1]:
            lines.pop()
        return lines


class Collector:
    def __init__(self) -> None:
        self.connected = True
        self.retries = 0

    def wait_connected(self, _timeout: float) -> bool:
        return self.connected

    def snapshot(self) -> StatsSnapshot:
        return StatsSnapshot(stored={"air": 5}, db_retries=self.retries)


class Alerts:
    def __init__(self) -> None:
        self.pending: list[str] = []

    def new(self) -> list[str]:
        out, self.pending = self.pending, []
        return out


def drove(n: int) -> DriveStats:
    d = DriveStats()
    d.valid["air"] = n
    return d


def test_log_lines_go_above_the_status_line() -> None:
    term = Terminal()
    progress = ProgressLine(term, interval_s=0)
    progress.update(drove(10), StatsSnapshot(stored={"air": 9}))
    logging.getLogger().addHandler(h := logging.StreamHandler(term))
    try:
        with progress.logging_above():
            logging.getLogger("envmon.test").warning("the broker went away")
    finally:
        logging.getLogger().removeHandler(h)
    progress.update(drove(11), StatsSnapshot(stored={"air": 11}))
    progress.done()
    screen = term.screen()
    assert screen[0] == "the broker went away"  # on a line of its own
    assert screen[1].startswith("[")
    assert "published 11" in screen[1]
    assert len(screen) == 2


def test_an_outage_and_new_alerts_show_while_nothing_is_published() -> None:
    term = Terminal()
    now = [0.0]
    progress = ProgressLine(term, interval_s=0.05, clock=lambda: now[0])
    collector, alerts = Collector(), Alerts()
    progress.update(drove(10), StatsSnapshot())
    progress.watch(collector, alerts)  # type: ignore[arg-type]
    collector.connected = False
    collector.retries = 3
    alerts.pending = ["alert  major    pm25-instant  air-guantang"]
    now[0] = 30.0  # the simulators are held up: no update() for 30 s
    deadline = time.monotonic() + 5
    seen: Any = ""
    while time.monotonic() < deadline:
        seen = term.screen()
        if len(seen) >= 2 and "!! nothing published for 30 s" in seen[-1]:
            break
        time.sleep(0.02)
    progress.done()
    assert seen[0] == "alert  major    pm25-instant  air-guantang"
    assert "!! broker unreachable, reconnecting" in seen[-1]
    assert "!! database unreachable, retrying" in seen[-1]
    assert "!! nothing published for 30 s" in seen[-1]
