"""The production stack as plain processes, started from deploy/'s systemd units and their
environment files: Mosquitto with accounts and TLS, PostgreSQL with a password, the
migrations, a collector, the rule service with its dispatcher, the API and the HJ 212
gateway. A registered device publishes a breach over TLS with its own secret and a local
webhook receives the alert; the data loggers' readings arrive through the gateway's own
account; the API serves the alert to a key made by its command."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from psycopg import sql

from envmon.runtime.embedded import free_port, wait_for_port
from envmon.runtime.mosquitto import BrokerSecurity, MosquittoBroker, TlsFiles
from ingest.broker import COLLECTOR_USER, GATEWAY_USER, AccountPlan, write_config
from ingest.mqtt import MqttPublisher
from ingest.registry import load_registry
from ingest.settings import MqttSettings
from tests.fixtures.collectors import wait_until
from tests.fixtures.hj212 import FleetThread
from tests.fixtures.receivers import HttpServer
from tests.fixtures.rule_files import PM25_INSTANT
from tests.fixtures.security import Pki, read_secrets
from tests.fixtures.servers import Database

pytestmark = [pytest.mark.broker, pytest.mark.database, pytest.mark.slow]
UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
HJ212_SITES = ("wwtp-guantang", "wwtp-luorong-south", "wwtp-xiajintian", "air-luorong",
               "air-luobu", "air-jiuziling")  # fmt: skip
RULES = PM25_INSTANT


def unit(name: str) -> tuple[list[str], list[str]]:
    """A unit's command line and environment files, as systemd reads them."""
    text = (UNITS / name).read_text("utf-8")
    (command,) = re.findall(r"(?m)^ExecStart=(.+)$", text)
    return command.split(), re.findall(r"(?m)^EnvironmentFile=(.+)$", text)


def read_env(path: Path) -> dict[str, str]:
    """KEY=value lines, as systemd's EnvironmentFile= reads them (comments skipped)."""
    out = {}
    for line in path.read_text("utf-8").splitlines():
        key, _, value = line.strip().partition("=")
        if key and not key.startswith("#"):
            out[key] = value
    return out


class Stack:
    def __init__(self, etc: Path) -> None:
        self.etc = etc
        self.procs: dict[str, subprocess.Popen[str]] = {}
        self.logs: dict[str, Path] = {}

    def command(self, name: str, instance: str = "") -> tuple[list[str], dict[str, str]]:
        argv, env_files = unit(name)
        assert argv[0] == "/opt/envmon/bin/envmon", argv
        argv = [sys.executable, "-m", "envmon", *(a.replace("%i", instance) for a in argv[1:])]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ENVMON_")}
        for f in env_files:
            env |= read_env(self.etc / Path(f).relative_to("/etc/envmon"))
        return argv, env

    def start(self, name: str, instance: str = "") -> None:
        argv, env = self.command(name, instance)
        log = self.etc / f"{name}{instance}.log"
        with log.open("w") as out:
            self.procs[name + instance] = subprocess.Popen(
                argv, env=env, stdout=out, stderr=subprocess.STDOUT, text=True
            )
        self.logs[name + instance] = log

    def run(self, name: str, *extra: str) -> subprocess.CompletedProcess[str]:
        argv, env = self.command(name)
        return subprocess.run(
            [*argv, *extra], env=env, capture_output=True, text=True, timeout=180, check=False
        )

    def alive(self) -> None:
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        assert not dead, {n: self.logs[n].read_text()[-2000:] for n in dead}

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.fixture
def db_account(database: Database) -> Iterator[str]:
    """A database role with a real password, owning nothing but allowed the test's schema."""
    role, password = f"stack_{uuid.uuid4().hex[:8]}", secrets.token_urlsafe(16)
    schema = sql.Identifier(database.schema)
    with database.connect() as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
        conn.execute(
            sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
                sql.Identifier(conn.info.dbname), sql.Identifier(role)
            )
        )
        for grant in (
            "GRANT ALL ON SCHEMA {s} TO {r}",
            "GRANT ALL ON ALL TABLES IN SCHEMA {s} TO {r}",
            "GRANT ALL ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
        ):
            conn.execute(sql.SQL(grant).format(s=schema, r=sql.Identifier(role)))
    host = database.url.split("@", 1)[1]
    yield f"postgresql://{role}:{password}@{host}"
    with database.connect() as conn:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_the_stack_from_deploy_turns_a_device_breach_into_a_webhook_alert(
    tmp_path: Path,
    pki: Pki,
    database: Database,
    db_account: str,
    http_server: HttpServer,
) -> None:
    written = write_config(tmp_path / "auth", load_registry(), AccountPlan(), now=datetime.now(UTC))
    accounts = read_secrets(written.credentials)
    broker = MosquittoBroker(
        tmp_path / "mosquitto",
        security=BrokerSecurity(written.config, TlsFiles(pki.ca, pki.server_cert, pki.server_key)),
    )
    broker.start()
    try:
        _run_stack(tmp_path, pki, database, db_account, http_server, broker, accounts)
    finally:
        broker.stop()


def _run_stack(  # noqa: PLR0915, PLR0917 - the parts of one stack
    tmp_path: Path,
    pki: Pki,
    database: Database,
    db_account: str,
    http_server: HttpServer,
    broker: MosquittoBroker,
    accounts: dict[str, str],
) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "rules.yaml").write_text(RULES, "utf-8")
    api_port, hj212_port = free_port(), free_port()
    (etc / "notify.yaml").write_text(
        "receivers:\n  duty:\n    name: 值班室\n    channels:\n"
        f"      - {{type: webhook, url: '{http_server.url('/duty')}'}}\n"
        "routes:\n  - {match: {feed: air}, receivers: [duty]}\ngroup_wait_s: 0\n"
        f"api_base: http://127.0.0.1:{api_port}\n",
        "utf-8",
    )
    tls = f"localhost:{broker.tls_port}"
    example = read_env(UNITS / "envmon.env.example")
    env = example | {
        "ENVMON_DATABASE_URL": db_account,
        "ENVMON_DATABASE__SCHEMA_NAME": database.schema,
        "ENVMON_DATABASE__TIMESCALEDB": "off",
        "ENVMON_MQTT_URL": f"mqtts://{COLLECTOR_USER}:{accounts[COLLECTOR_USER]}@{tls}",
        "ENVMON_MQTT__CA_FILE": str(pki.ca),
        "ENVMON_NOTIFY__CONFIG_PATH": str(etc / "notify.yaml"),
        "ENVMON_RULES__PATH": str(etc / "rules.yaml"),
        "ENVMON_RULES__INTERVAL_S": "0.2",
        "ENVMON_API__HOST": "127.0.0.1",
        "ENVMON_API__PORT": str(api_port),
        "ENVMON_HJ212__HOST": "127.0.0.1",
        "ENVMON_HJ212__PORT": str(hj212_port),
        "ENVMON_CONSOLE__LINK_SECRET": secrets.token_hex(32),
    }
    assert env["ENVMON_ENVIRONMENT"] == "production"
    (etc / "envmon.env").write_text("".join(f"{k}={v}\n" for k, v in env.items()), "utf-8")
    gateway_url = f"mqtts://{GATEWAY_USER}:{accounts[GATEWAY_USER]}@{tls}"
    assert set(read_env(UNITS / "hj212.env.example")) == {"ENVMON_MQTT_URL"}
    (etc / "hj212.env").write_text(f"ENVMON_MQTT_URL={gateway_url}\n", "utf-8")
    stack = Stack(etc)
    try:
        migrated = stack.run("envmon-migrate.service")
        assert migrated.returncode == 0, migrated.stderr[-2000:]
        stack.start("envmon-collector@.service", "1")
        for name in ("envmon-rules.service", "envmon-api.service", "envmon-hj212.service"):
            stack.start(name)
        wait_for_port("127.0.0.1", api_port, 60)
        wait_for_port("127.0.0.1", hj212_port, 60)
        stack.alive()

        device = MqttSettings(
            url=f"mqtts://air-guantang:{accounts['air-guantang']}@{tls}", ca_file=pki.ca
        )
        pub = MqttPublisher(device, "air-guantang")
        pub.start(attempts=5)
        t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
        for i, pm25 in enumerate([35.0, 40.0, 620.0]):
            body = f'{{"v":1,"ts":"{(t0 + timedelta(minutes=i)).isoformat()}","seq":{i},'
            pub.publish("liudong/air/air-guantang/reading", f'{body}"pm25_ugm3":{pm25}}}'.encode())
        assert pub.wait_confirmed(30)
        pub.stop()
        assert pub.refused == 0
        assert wait_until(lambda: len(http_server.requests) >= 1, timeout=90), {
            n: p.read_text()[-1500:] for n, p in stack.logs.items()
        }
        alert = http_server.requests[0].json()
        assert alert["kind"] == "alert"
        assert "pm25-instant" in http_server.requests[0].body.decode()
        # the rules service signed the link, the API (another process) honours it
        link = alert["subjects"][0]["ack_link"]
        assert link.startswith(f"http://127.0.0.1:{api_port}/console/ack/")
        acked = httpx.post(link, data={"comment": "on my way"}, timeout=10)
        assert acked.status_code == 200, acked.text

        fleet = FleetThread(("127.0.0.1", hj212_port), window=timedelta(minutes=20), speed=600)
        fleet.start()
        stats = fleet.join(60)
        assert stats.unacked == 0
        sites = ", ".join(f"'{s}'" for s in HJ212_SITES)
        rows = (
            f"SELECT (SELECT count(*) FROM air_reading WHERE device_id IN ({sites}))"
            f" + (SELECT count(*) FROM wastewater_reading WHERE device_id IN ({sites}))"
        )
        assert wait_until(lambda: database.scalar(rows) == len(fleet.readings()), timeout=60)

        argv, key_env = stack.command("envmon-api.service")  # its environment, for a key
        key_cmd = subprocess.run(
            [*argv[:3], "api", "key", "--name", "duty-officer", "--role", "viewer"],
            env=key_env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert key_cmd.returncode == 0, key_cmd.stderr
        key = key_cmd.stdout.strip().splitlines()[-1]
        listed = httpx.get(
            f"http://127.0.0.1:{api_port}/api/v1/alerts",
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        assert listed.status_code == 200
        assert [
            (a["rule_id"], a["state"], a["acknowledged_by"]) for a in listed.json()["items"]
        ] == [("pm25-instant", "acknowledged", "duty (message link)")]
        stack.alive()
    finally:
        stack.stop()


def test_the_stack_refuses_the_example_secrets(tmp_path: Path, pki: Pki) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    example = read_env(UNITS / "envmon.env.example") | {"ENVMON_MQTT__CA_FILE": str(pki.ca)}
    (etc / "envmon.env").write_text("".join(f"{k}={v}\n" for k, v in example.items()))
    run = Stack(etc).run("envmon-migrate.service")
    assert run.returncode == 2
    assert "refused in production" in run.stderr
    assert "ENVMON_DATABASE_URL: give the database user a real password" in run.stderr
    assert "ENVMON_MQTT_URL: a placeholder secret" in run.stderr
    assert "ENVMON_CONSOLE__LINK_SECRET: a placeholder" in run.stderr
