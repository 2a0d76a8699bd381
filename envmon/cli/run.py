"""``envmon up``, ``demo``, ``collect`` and ``migrate``: the system, whole or in parts."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from envmon.cli._common import (
    EXIT_LOOP_FAILED,
    Subparsers,
    add_run_options,
    positive,
    run_options,
    stop_on_signals,
)
from ingest.mqtt import BrokerUnavailableError
from ingest.secrets import mask_url
from ingest.settings import ConfigError, Settings

DATA_DIR = Path(".envmon")


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from envmon.runtime.demo import run_demo  # noqa: PLC0415
    from envmon.runtime.progress import ProgressLine  # noqa: PLC0415
    from envmon.runtime.servers import servers  # noqa: PLC0415

    with (
        tempfile.TemporaryDirectory(prefix="envmon-demo-") as tmp,
        servers(settings, Path(tmp)) as runtime,
    ):
        progress = ProgressLine(sys.stderr)
        with progress.logging_above():
            try:
                result = run_demo(runtime, args.duration, run_options(args), progress)
            finally:
                progress.done()
    print(json.dumps(result, ensure_ascii=False))
    return EXIT_LOOP_FAILED if "failed" in result else 0


def cmd_up(settings: Settings, args: argparse.Namespace) -> int:
    from envmon.runtime.api import serve_in_thread  # noqa: PLC0415
    from envmon.runtime.demo import run_forever  # noqa: PLC0415
    from envmon.runtime.progress import ProgressLine  # noqa: PLC0415
    from envmon.runtime.servers import servers  # noqa: PLC0415

    stop = stop_on_signals()
    with servers(settings, args.data_dir) as runtime:
        kind = "embedded" if settings.database.url is None else "configured"
        print(f"database ({kind}, {runtime.flavour}): {mask_url(runtime.db_url)}")
        print(f"  tables in schema {settings.database.schema_name!r}, e.g.")
        print(
            f"  psql '{mask_url(runtime.db_url)}' -c 'SET search_path TO"
            f" {settings.database.schema_name}' -c 'SELECT * FROM air_reading_hourly LIMIT 5'"
        )
        broker = mask_url(runtime.settings.mqtt.url or "")
        print(f"broker: {broker}  (topics liudong/<feed>/<device>/<kind>)")
        _, address = serve_in_thread(runtime.settings, runtime.db_url, runtime.registry)
        print(f"console: {address}/  {console_sign_in(runtime.settings, runtime.db_url)}")
        print(f"HTTP API: {address}/docs  (keys: envmon api key --name NAME --role viewer)")
        print(
            "rules: the default pack, evaluated every second; open alerts:"
            f" ENVMON_DATABASE_URL='{mask_url(runtime.db_url)}' envmon alerts list"
        )
        print("simulating the whole district; Ctrl-C to stop")
        progress = ProgressLine(sys.stdout)
        with progress.logging_above():
            try:
                result = run_forever(runtime, run_options(args), stop, progress)
            finally:
                progress.done()
    print(json.dumps(result, ensure_ascii=False))
    return EXIT_LOOP_FAILED if "failed" in result else 0


def console_sign_in(settings: Settings, db_url: str) -> str:
    """How to sign in to the console: on the embedded database, with an operator key made
    for this run (valid a day); elsewhere, with the accounts the operators keep."""
    if settings.database.url is not None:
        return "(sign in with a key from envmon api key, or a password from envmon api user)"
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    from ingest.storage.migrate import connect  # noqa: PLC0415
    from services.api import create_key  # noqa: PLC0415

    with connect(db_url, settings.database.schema_name) as conn:
        key = create_key(conn, "envmon-up", "operator", datetime.now(UTC) + timedelta(days=1))
    return f"(sign in with this run's operator key, valid 24 h: {key})"


def cmd_collect(settings: Settings, args: argparse.Namespace) -> int:
    from envmon.runtime.servers import prepare_database  # noqa: PLC0415
    from ingest.collector.service import Collector, DatabaseUnavailableError  # noqa: PLC0415

    if settings.database.url is None or settings.mqtt.url is None:
        raise ConfigError(
            "envmon collect runs against configured servers: set ENVMON_DATABASE_URL and"
            " ENVMON_MQTT_URL (or use `envmon up` for the embedded default)"
        )
    db_url = settings.database.url.get_secret_value()
    client_id = settings.mqtt.client_id + (f"-{args.instance}" if args.instance else "")
    collector = Collector(settings, db_url, client_id=client_id)
    stop = stop_on_signals(also=collector.abort_start)
    collector.watch.wake(stop)  # a loop that fails for good ends the wait too
    prepare_database(settings, db_url, wait=stop)
    try:
        collector.start()
    except (BrokerUnavailableError, DatabaseUnavailableError):
        if stop.is_set():  # asked to stop while waiting for a server
            return 0
        raise
    stop.wait()
    snap = collector.stop()
    print(json.dumps(snap.as_dict(), ensure_ascii=False))
    collector.watch.check()
    return 0


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from envmon.runtime.servers import prepare_database  # noqa: PLC0415

    if settings.database.url is None:
        raise ConfigError("set ENVMON_DATABASE_URL to the database to migrate")
    _, flavour = prepare_database(settings, settings.database.url.get_secret_value())
    print(json.dumps({"schema": settings.database.schema_name, "flavour": flavour}))
    return 0


def add_parsers(sub: Subparsers) -> None:
    p = sub.add_parser("up", help="run everything on embedded defaults until Ctrl-C")
    add_run_options(p, malformed=0.001)
    p.add_argument("--data-dir", type=Path, default=DATA_DIR)
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("demo", help="a bounded run; prints a JSON summary as its last line")
    p.add_argument("--duration", type=positive, required=True, metavar="SECONDS")
    add_run_options(p, malformed=0.01)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("collect", help="run one collector against the configured servers")
    p.add_argument("--instance", default="", help="suffix of the MQTT client id (one per process)")
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser("migrate", help="apply the schema migrations and load the registry")
    p.set_defaults(func=cmd_migrate)
