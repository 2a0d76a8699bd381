"""``envmon rules run`` with a report schedule: yesterday's air daily report reaches a real
local SMTP server once, a restart sends nothing again, and a bad entry stops the service
at start with the field at fault."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from ingest.feeds import LOCAL_TZ
from tests.e2e.test_cli_tools import clean_env, envmon
from tests.fixtures.receivers import MailHandler
from tests.fixtures.servers import Database

pytestmark = [pytest.mark.database, pytest.mark.slow]
OTHER_RECEIVERS = ("planning-office", "water-utility", "iov-ops", "emergency-office")


def _config(path: Path, smtp_port: int, report: str = "air-daily") -> Path:
    email = {
        "type": "email", "host": "127.0.0.1", "port": smtp_port,
        "sender": "envmon@example.org", "to": ["eco@example.org"], "timeout_s": 5,
    }  # fmt: skip
    config = {
        "receivers": {  # the default rule pack names all five
            "eco-bureau": {"name": "生态环境分局", "channels": [email]},
            **{r: {"name": r} for r in OTHER_RECEIVERS},
        },
        "reports": [
            {"report": report, "at": "00:00", "formats": ["pdf"], "receivers": ["eco-bureau"]}
        ],
        "group_wait_s": 0,
    }
    path.write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    return path


def _schedule_ran_since(database: Database, since: datetime) -> bool:
    got = database.scalar(
        "SELECT max(last_success_at) FROM loop_health WHERE loop = 'report-schedule'"
    )
    return got is not None and got >= since


def _run_until(env: dict[str, str], done: Callable[[], bool]) -> str:
    """``envmon rules run`` until ``done()`` holds; its log."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "envmon", "rules", "run"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while not done():
            assert proc.poll() is None, "envmon rules run ended early"
            assert time.monotonic() < deadline, "envmon rules run did not get there"
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, log = proc.communicate(timeout=60)
    assert proc.returncode == 0, log[-3000:]
    return log


def test_rules_run_mails_the_due_report_once(
    database: Database, tmp_path: Path, smtp_server: tuple[MailHandler, int]
) -> None:
    mail, port = smtp_server
    env = clean_env(
        ENVMON_DATABASE_URL=database.url,
        ENVMON_DATABASE__SCHEMA_NAME=database.schema,
        ENVMON_NOTIFY__CONFIG_PATH=str(_config(tmp_path / "notify.yaml", port)),
    )
    log = _run_until(env, lambda: len(mail.messages) == 1)
    yesterday = (datetime.now(LOCAL_TZ) - timedelta(days=1)).date()
    assert "report schedule: air-daily at 00:00" in log
    [message] = mail.messages
    assert message["Subject"] in {
        f"【报表】空气质量日报 · {yesterday}",
        f"【报表】空气质量日报 · {yesterday + timedelta(days=1)}",  # run across midnight
    }
    [pdf] = list(message.iter_attachments())
    assert pdf.get_content().startswith(b"%PDF")

    restarted = datetime.now(UTC)
    _run_until(env, lambda: _schedule_ran_since(database, restarted))
    time.sleep(1.5)  # a queued row would go out within the dispatcher's 1-s pass
    assert len(mail.messages) == 1


def test_a_bad_schedule_entry_stops_the_service_at_start(
    database: Database, tmp_path: Path
) -> None:
    env = clean_env(
        ENVMON_DATABASE_URL=database.url,
        ENVMON_DATABASE__SCHEMA_NAME=database.schema,
        ENVMON_NOTIFY__CONFIG_PATH=str(_config(tmp_path / "notify.yaml", 25, "air-weekly")),
    )
    done = envmon("rules", "run", env=env)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "ENVMON_NOTIFY__CONFIG_PATH: reports.0.report: no report 'air-weekly'" in done.stderr
    assert "Traceback" not in done.stderr
